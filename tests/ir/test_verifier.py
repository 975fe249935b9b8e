"""The verifier accepts well-formed graphs quickly and names every problem in broken ones."""

from __future__ import annotations

import time

import pytest

from irc.errors import IRError
from irc.ir import DType, Graph, Node, TensorType, Value, parse_graph, verify
from irc.ir.dims import parse_dim

TEXT = """\
graph @g {
  input %x : f32[batch, sequence]
  param %w : f32[4, 4] parameter tie "w"
  param %w2 : f32[4, 4] parameter tie "w"
  %n = aten.sym_size.int(%x, 1) : sym<i64: sequence> loc("embed", "model.py:3")
  %a = aten.neg(%x) : f32[batch, sequence] loc("layer.0", "model.py:10")
  %b = aten.add.Tensor(%a, %x) : f32[batch, sequence] loc("layer.1", "model.py:11")
  %c = aten.mm(%w, %w2) : f32[4, 4] loc("head")
  output %b, %c
}
"""


def _graph() -> Graph:
    graph = parse_graph(TEXT)
    verify(graph)
    return graph


def _node(graph: Graph, name: str) -> Node:
    return next(n for n in graph.nodes if n.outputs and n.outputs[0].name == name)


def _problems(graph: Graph) -> str:
    with pytest.raises(IRError) as info:
        verify(graph)
    return str(info.value)


def test_use_before_definition() -> None:
    graph = _graph()
    b = _node(graph, "b")
    graph._nodes.remove(b)
    graph._nodes.insert(0, b)
    message = _problems(graph)
    assert (
        "aten.add.Tensor -> %b at layer.1 (model.py:11): input %a is not defined before this node" in message
    )


def test_duplicate_names() -> None:
    graph = _graph()
    _node(graph, "c").output.name = "a"
    message = _problems(graph)
    assert "the name %a is also used by aten.neg -> %a at layer.0 (model.py:10)" in message


def test_tie_group_type_mismatch() -> None:
    graph = _graph()
    graph.params["w2"].type = TensorType(DType.F16, (4, 4))
    assert "tie group 'w' mixes types: %w : f32[4, 4], %w2 : f16[4, 4]" in _problems(graph)


def test_several_problems_are_all_listed() -> None:
    graph = _graph()
    _node(graph, "a").op = "aten.not_an_op"
    graph.add_output(Value("ghost", TensorType(DType.F32, ())))
    message = _problems(graph)
    assert "(2 problem(s))" in message
    assert "aten.not_an_op -> %a at layer.0 (model.py:10): unknown op" in message
    assert "output %ghost is not defined in the graph" in message


def test_args_edited_behind_set_args() -> None:
    graph = _graph()
    b = _node(graph, "b")
    b.args = (b.args[1], b.args[1])
    message = _problems(graph)
    assert "aten.add.Tensor -> %b at layer.1 (model.py:11): node.inputs disagree with its args" in message


def test_stale_use_from_a_removed_node() -> None:
    graph = _graph()
    b = _node(graph, "b")
    graph.set_outputs(v for v in graph.outputs if v is not b.output)
    graph._nodes.remove(b)  # bypassing Graph.erase leaves %a and %x used by a node outside the graph
    assert "%a is still used by 1 node(s) not in the graph" in _problems(graph)


def test_node_of_another_graph() -> None:
    graph = _graph()
    _node(graph, "c").graph = Graph("other")
    assert "aten.mm -> %c at head: node.graph is not this graph" in _problems(graph)


def test_unbound_symbol() -> None:
    graph = _graph()
    _node(graph, "a").output.type = TensorType(DType.F32, (parse_dim("batch"), parse_dim("past_sequence")))
    assert "uses dim(s) past_sequence that no graph input has" in _problems(graph)


def test_data_dependent_symbols_are_allowed() -> None:
    graph = _graph()
    _node(graph, "a").output.type = TensorType(DType.F32, (parse_dim("u0"), parse_dim("u12 + batch")))
    verify(graph)


def test_rename_without_graph() -> None:
    graph = _graph()
    _node(graph, "c").output.name = "fresh"
    assert "%fresh is not registered with the graph" in _problems(graph)


def _chain(n: int) -> Graph:
    lines = [
        "graph @chain {",
        "  input %x : f32[batch, sequence]",
        "  %v0 = aten.neg(%x) : f32[batch, sequence]",
    ]
    lines += [
        f'  %v{i} = aten.add.Tensor(%v{i - 1}, %x) : f32[batch, sequence] loc("h.{i}", "m.py:{i}")'
        for i in range(1, n)
    ]
    return parse_graph("\n".join([*lines, f"  output %v{n - 1}", "}"]))


def test_verify_scales_linearly() -> None:
    # Not a speed target (those live in benchmarks/): a verifier that rescans the graph per node
    # would take 16x as long on 4x the nodes; linear work takes ~4x, whatever the machine's load.
    small, large = _chain(500), _chain(2000)
    ratio = min(_timed(lambda: verify(large)) for _ in range(3)) / min(
        _timed(lambda: verify(small)) for _ in range(3)
    )
    assert ratio < 10, f"verify took {ratio:.1f}x as long on 4x the nodes"


def _timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start
