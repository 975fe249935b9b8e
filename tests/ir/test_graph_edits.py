"""Graph outputs count as uses: `is_graph_output`, `is_used`, `use_count`, the output edits
(`set_outputs`, `add_output`, `replace_output`) and `replace_all_uses`, which keeps output names."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from irc.errors import IRError
from irc.ir import Graph, Node, parse_graph, print_graph, verify
from irc.ir.interpreter import interpret
from irc.passes import Pass, PassManager

TEXT = """\
graph @g {
  input %x : f32[batch, 3]
  param %w : f32[3] parameter
  %a = aten.neg(%x) : f32[batch, 3]
  %b = aten.relu(%a) : f32[batch, 3]
  %c = aten.mul.Tensor(%b, %w) : f32[batch, 3]
  output %b, %c
}
"""


def _graph() -> Graph:
    return parse_graph(TEXT)


def _values(graph: Graph) -> dict[str, object]:
    return {v.name: v for v in graph.values()}


def test_outputs_count_as_uses() -> None:
    graph = _graph()
    v = _values(graph)
    a, b, c, x = v["a"], v["b"], v["c"], v["x"]
    assert b.is_graph_output() and c.is_graph_output() and not a.is_graph_output()
    assert c.uses() == [] and c.is_used() and c.use_count() == 1
    assert b.use_count() == 2  # read by %c and returned
    assert x.is_used() and not x.is_graph_output()
    with pytest.raises(IRError, match="cannot erase .*%c is still used"):
        graph.erase(c.producer)


def test_outputs_are_a_tuple_edited_through_the_graph() -> None:
    graph = _graph()
    v = _values(graph)
    assert graph.outputs == (v["b"], v["c"])
    with pytest.raises(AttributeError):
        graph.outputs.append(v["a"])  # type: ignore[attr-defined]
    graph.set_outputs([v["c"]])
    assert not v["b"].is_graph_output() and v["b"].use_count() == 1
    graph.outputs = [v["c"], v["c"]]  # the setter is set_outputs
    assert v["c"].use_count() == 2
    graph.set_outputs([v["b"], v["c"]])
    assert print_graph(graph) == TEXT


def test_replace_output_by_value_or_index() -> None:
    graph = _graph()
    v = _values(graph)
    graph.replace_output(v["c"], v["a"])
    assert graph.outputs == (v["b"], v["a"]) and not v["c"].is_graph_output() and v["a"].is_graph_output()
    graph.replace_output(0, v["c"])
    graph.replace_output(-1, v["b"])
    assert graph.outputs == (v["c"], v["b"])
    with pytest.raises(IRError, match="no output 2"):
        graph.replace_output(2, v["a"])
    with pytest.raises(IRError, match="%a is not an output of graph @g"):
        graph.replace_output(v["a"], v["b"])


def test_replace_all_uses_keeps_the_output_name() -> None:
    graph = _graph()
    v = _values(graph)
    # The graph, %c's only reader, now returns %a, which takes the name c.
    assert graph.replace_all_uses(v["c"], v["a"]) is None
    graph.erase(v["c"].producer)
    assert [o.name for o in graph.outputs] == ["b", "c"]
    assert graph.outputs[1] is v["a"]
    verify(graph)


@pytest.mark.parametrize("new", ["x", "w", "b"])
def test_an_input_param_or_output_gets_an_identity_carrying_the_name(new: str) -> None:
    graph = _graph()
    v = _values(graph)
    anchor = v["c"].producer
    identity = graph.replace_all_uses(v["c"], v[new], before=anchor, meta={"module": "m"})
    assert isinstance(identity, Node) and identity.op == "irc.identity" and identity.args == (v[new],)
    assert identity.meta == {"module": "m"}
    assert graph.nodes.index(identity) == graph.nodes.index(anchor) - 1
    graph.erase(anchor)
    assert [o.name for o in graph.outputs] == ["b", "c"]
    assert v[new].name == new  # the input, param or other output keeps its own name
    verify(graph)


def test_add_output_under_a_name() -> None:
    graph = _graph()
    v = _values(graph)
    assert graph.add_output(v["a"], "hidden") is v["a"] and v["a"].name == "hidden"
    carrier = graph.add_output(v["x"], "echo")
    assert carrier.producer.op == "irc.identity" and carrier.name == "echo"
    assert [o.name for o in graph.outputs] == ["b", "c", "hidden", "echo"]
    verify(graph)


@dataclass(frozen=True)
class ReluFirst(Pass):
    """Replace the output `%c = %b * %w` by a new `relu(%b)`."""

    name = "relu-first"

    def run(self, graph: Graph) -> bool:
        c = next(v for v in graph.outputs if v.name == "c")
        relu = graph.new_value("r", c.type)
        graph.insert_before(c.producer, Node("aten.relu", (c.producer.args[0],), {}, [relu]))
        graph.replace_all_uses(c, relu)
        graph.erase(c.producer)
        return True


def test_a_pass_that_replaces_a_graph_output_keeps_its_name() -> None:
    graph = _graph()
    inputs = {"x": torch.randn(2, 3)}
    graph.params["w"].data = torch.ones(3)
    PassManager([ReluFirst()], debug=False).run(graph)
    assert [o.name for o in graph.outputs] == ["b", "c"]
    assert "%c = aten.relu(%b)" in print_graph(graph)
    torch.testing.assert_close(interpret(graph, inputs)["c"], torch.relu(torch.relu(-inputs["x"])))
