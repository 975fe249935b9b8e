"""Property tests: any dim and any literal the printer writes, the parser reads back the same."""

from __future__ import annotations

import math
from typing import Any

import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from irc.ir import DType, Graph, Node, TensorType, parse_graph, print_graph
from irc.ir.dims import Dim, format_dim, parse_dim

NAMES = st.sampled_from(["batch", "sequence", "past_sequence", "n", "u0"])


def _dim_texts() -> st.SearchStrategy[str]:
    leaves = st.one_of(st.integers(0, 100).map(str), NAMES)

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        binary = st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        )
        floor = st.tuples(inner, st.integers(1, 9)).map(lambda t: f"({t[0]} // {t[1]})")
        return st.one_of(binary, floor)

    return st.recursive(leaves, extend, max_leaves=6)


def _graph_with_dims(dims: tuple[Dim, ...]) -> Graph:
    graph = Graph("g")
    for name in ("batch", "sequence", "past_sequence", "n"):
        graph.add_input(name, TensorType(DType.F32, (parse_dim(name),)))
    x = graph.add_input("x", TensorType(DType.F32, dims))
    node = graph.append(Node("aten.neg", (x,), {}, [graph.new_value("y", TensorType(DType.BF16, dims))]))
    graph.add_output(node.output)
    return graph


@settings(max_examples=150, deadline=None)
@given(st.lists(_dim_texts(), min_size=0, max_size=3))
def test_dims_round_trip(texts: list[str]) -> None:
    dims = tuple(parse_dim(t) for t in texts)
    # A shape's constant dims are sizes: the graph parser refuses a negative one such as `0 - 1`.
    assume(not any(isinstance(d, int) and d < 0 for d in dims))
    for dim in dims:
        assert parse_dim(format_dim(dim)) == dim
    text = print_graph(_graph_with_dims(dims))
    parsed = parse_graph(text)
    assert parsed.inputs[-1].type.shape == dims
    assert print_graph(parsed) == text


def _literals() -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=8),
        st.sampled_from([torch.float32, torch.int64, torch.bool, torch.bfloat16, torch.float16, torch.uint8]),
        st.sampled_from([torch.strided, torch.sparse_coo, torch.contiguous_format, torch.channels_last]),
        st.sampled_from([torch.device("cpu"), torch.device("cuda:1"), torch.device("meta")]),
    )
    return st.recursive(
        leaves, lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner), max_leaves=8
    )


def _same(a: Any, b: Any) -> bool:
    """Equality up to tuples reading back as lists, with nan equal to nan and -0.0 kept apart."""
    if isinstance(a, (list, tuple)):
        return (
            isinstance(b, list) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, float):
        if not isinstance(b, float):
            return False
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return type(a) is type(b) and a == b


@settings(max_examples=200, deadline=None)
@given(_literals(), st.dictionaries(st.text(max_size=5), _literals(), max_size=3))
def test_literals_round_trip(literal: Any, kwarg: dict[str, Any]) -> None:
    graph = Graph("g")
    graph.metadata.update(kwarg)
    x = graph.add_input("x", TensorType(DType.F32, (2,)))
    node = graph.append(
        Node("irc.identity", (x, literal), {"value": literal}, [graph.new_value("y", x.type)])
    )
    graph.add_output(node.output)
    text = print_graph(graph)
    parsed = parse_graph(text)
    assert print_graph(parsed) == text
    (parsed_node,) = parsed.nodes
    assert _same(literal, parsed_node.args[1])
    assert _same(literal, parsed_node.kwargs["value"])
    assert parsed.metadata.keys() == kwarg.keys()
    assert all(_same(kwarg[k], parsed.metadata[k]) for k in kwarg)


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=10))
def test_value_names_round_trip(name: str) -> None:
    graph = Graph(name)
    x = graph.add_input(name, TensorType(DType.F32, (2,)))
    graph.add_output(x)
    text = print_graph(graph)
    parsed = parse_graph(text)
    assert parsed.name == name and parsed.inputs[0].name == name
    assert print_graph(parsed) == text
