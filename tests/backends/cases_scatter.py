"""Cases for index_put and the scatter family (ops_scatter.py). Indices written without
accumulation are kept distinct: which of two writes to one place wins is not defined."""

from __future__ import annotations

import torch

from tests.backends.cases import BATCH, SEQ, case
from tests.backends.util import GraphMaker, ints


@case(SEQ)
def index_put_inverse_permutation(b: GraphMaker) -> None:
    # transformers' experts undo their sort by expert this way: inv[perm] = arange.
    x = b.input("x", "f32", ("batch * seq",))
    _, perm = b.op("aten.sort", x, outputs=2)
    count = b.op("aten.sym_size.int", perm, 0)
    positions = b.op("aten.arange", count, dtype=torch.int64)
    b.output(b.op("aten.index_put", b.op("aten.zeros_like", perm), [perm], positions))


@case(BATCH)
def index_put_accumulates_repeated_negative_indices(b: GraphMaker) -> None:
    x = b.input("x", "f32", (5, "batch"))
    i = b.input("i", "i64", (6,), make=ints(-5, 5))
    v = b.input("v", "f32", (6, "batch"))
    b.output(b.op("aten.index_put", x, [i], v, True))


@case(SEQ)
def index_put_adjacent_in_the_middle(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 4, 5, "seq"))
    v = b.input("v", "f32", ("seq",))
    i = b.param("i", torch.tensor([[0], [2]]))
    j = b.param("j", torch.tensor([-1, 1, 3]))
    b.output(b.op("aten.index_put", x, [None, i, j], v))


@case(BATCH)
def index_put_apart_puts_positions_first(b: GraphMaker) -> None:
    x = b.input("x", "f32", (4, "batch", 5))
    v = b.input("v", "f32", (3, "batch"))
    i = b.param("i", torch.tensor([[1], [3]]))
    j = b.param("j", torch.tensor([0, 2, 4]))
    b.output(b.op("aten.index_put", x, [i, None, j], v))


@case(SEQ)
def index_put_bool_mask(b: GraphMaker) -> None:
    x = b.input("x", "f32", (3, "seq", 2))
    m = b.input("m", "bool", (3, "seq"))
    v = b.param("v", torch.tensor(7.0))
    b.output(b.op("aten.index_put", x, [m], v), b.op("aten._unsafe_index_put", x, [m], v, True))


def _distinct_columns(b: GraphMaker, name: str, keep: int) -> object:
    """Per row, `keep` distinct column indices (top-k positions of random scores)."""
    scores = b.input(name, "f32", ("batch", 6))
    return b.op("aten.topk", scores, keep, outputs=2)[1]


@case(BATCH)
def scatter_src_and_value(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 6))
    src = b.input("src", "f32", ("batch", 6))
    index = _distinct_columns(b, "scores", 4)
    b.output(b.op("aten.scatter.src", x, 1, index, src), b.op("aten.scatter.value", x, -1, index, 2.5))


@case(BATCH)
def scatter_add_and_reduce_repeat_indices(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 6))
    src = b.input("src", "f32", ("batch", 5))
    index = b.input("index", "i64", ("batch", 3), make=ints(0, 6))
    b.output(
        b.op("aten.scatter_add", x, 1, index, src),
        b.op("aten.scatter.reduce", x, 1, index, src, reduce="multiply"),
        b.op("aten.scatter.value_reduce", x, 1, index, 3.0, reduce="add"),
    )
