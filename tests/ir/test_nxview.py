"""The networkx view has one node per input, param and IR node, and one edge per use."""

from __future__ import annotations

import networkx as nx

from irc.ir import parse_graph, to_networkx

TEXT = """\
graph @g {
  input %x : f32[batch, 4]
  param %w : f32[4, 4] parameter
  %y = aten.mm(%x, %w) : f32[batch, 4]
  %z = aten.add.Tensor(%y, %y) : f32[batch, 4] loc("layer")
  output %z
}
"""


def test_to_networkx() -> None:
    view = to_networkx(parse_graph(TEXT))
    assert isinstance(view, nx.MultiDiGraph)
    assert set(view.nodes) == {"input:x", "param:w", "node:0", "node:1"}
    assert view.nodes["node:1"]["op"] == "aten.add.Tensor"
    assert view.nodes["node:1"]["provenance"] == "layer"
    assert view.number_of_edges("node:0", "node:1") == 2
    edge = view.get_edge_data("input:x", "node:0")[0]
    assert edge == {"name": "x", "type": "f32[batch, 4]"}
    assert list(nx.topological_sort(view))[-1] == "node:1"
    assert view.graph["outputs"] == [("z", "node:1")]
