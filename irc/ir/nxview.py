"""A networkx view of a graph, for analyses and drawing that networkx already provides."""

from __future__ import annotations

from typing import Any

from irc.ir.core import Graph, Param, Value


def _key(value: Value, node_keys: dict[int, str]) -> str:
    if value.producer is not None:
        return node_keys[id(value.producer)]
    return f"param:{value.name}" if isinstance(value, Param) else f"input:{value.name}"


def to_networkx(graph: Graph) -> Any:
    """A `networkx.MultiDiGraph` with one node per graph input (`input:<name>`), param
    (`param:<name>`) and IR node (`node:<index>`), and one edge per use, from producer to user,
    with the Value's `name` and `type` (text). Node attributes: `kind`, `op` (IR nodes),
    `type` (inputs, params), `provenance`; `G.graph["outputs"]` lists the producers of the
    graph's outputs with the output names.
    """
    import networkx as nx

    view = nx.MultiDiGraph(name=graph.name)
    for value in graph.inputs:
        view.add_node(f"input:{value.name}", kind="input", type=str(value.type), label=f"%{value.name}")
    for param in graph.params.values():
        view.add_node(f"param:{param.name}", kind=param.kind, type=str(param.type), label=f"%{param.name}")
    node_keys: dict[int, str] = {}
    for index, node in enumerate(graph.nodes):
        key = f"node:{index}"
        node_keys[id(node)] = key
        view.add_node(key, kind="node", op=node.op, label=node.op, provenance=node.provenance)
        for position, value in enumerate(node.inputs):
            view.add_edge(_key(value, node_keys), key, key=position, name=value.name, type=str(value.type))
    view.graph["outputs"] = [(v.name, _key(v, node_keys)) for v in graph.outputs]
    return view
