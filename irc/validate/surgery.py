"""Graph surgery for bisection: copies of a graph cut after a node prefix, with the values that
cross the cut as outputs (Polygraphy's "mark outputs", done on irc's IR)."""

from __future__ import annotations

from irc.ir.copy import copy_graph
from irc.ir.core import Graph, Value
from irc.ir.types import TensorType


def frontier(graph: Graph, count: int) -> list[Value]:
    """The tensors the first `count` nodes compute that later nodes or the graph's outputs read."""
    nodes = graph.nodes
    later = {id(v) for node in nodes[count:] for v in node.inputs}
    return [
        out
        for node in nodes[:count]
        for out in node.outputs
        if (id(out) in later or out.is_graph_output()) and isinstance(out.type, TensorType)
    ]


def prefix(graph: Graph, count: int) -> Graph:
    """A copy of `graph` holding only its first `count` nodes, whose outputs are the frontier
    tensors (named as in `graph`, so results compare by name); weights no kept node reads go."""
    cut = copy_graph(graph)
    cut.set_outputs(frontier(cut, count))
    for node in reversed(cut.nodes[count:]):
        cut.erase(node)
    for param in list(cut.params.values()):
        if not param.is_used():
            cut.remove_param(param)
    return cut
