"""Cases for views, slices, joins, splits and indexing (ops_shape.py)."""

from __future__ import annotations

import torch

from tests.backends.cases import SEQ, case
from tests.backends.util import GraphMaker, ints

INT64_MAX = 2**63 - 1


@case(SEQ)
def view_with_symbolic_sizes(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 4))
    s1 = b.op("aten.sym_size.int", x, 1)
    flat = b.op("aten.view", x, [-1, s1, 2, 2])
    b.output(flat, b.op("aten.reshape", flat, [-1, 4]), b.op("aten._unsafe_view", x, [-1]))


@case(SEQ)
def expand_with_minus_one(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 1, 3))
    s0 = b.op("aten.sym_size.int", x, 0)
    y = b.input("y", "f32", ("batch", "seq", 3))
    b.output(b.op("aten.expand", x, [2, s0, 4, -1]), b.op("aten.expand_as", x, y))


@case(SEQ)
def flatten(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 2, 3))
    b.output(b.op("aten.flatten.using_ints", x, 1, 2), b.op("aten.flatten.using_ints", x))


@case(SEQ)
def slice_(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 4))
    s1 = b.op("aten.sym_size.int", x, 1)
    b.output(
        b.op("aten.slice.Tensor", x, 0, 0, INT64_MAX),
        b.op("aten.slice.Tensor", x, 2, 1, -1),
        b.op("aten.slice.Tensor", x, 1, None, b.op("sym.sub", s1, 1)),
        b.op("aten.slice.Tensor", x, 2, 0, INT64_MAX, 2),
        b.op("aten.slice.Tensor", x, -1, -2),
    )


@case(SEQ)
def select(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 4))
    last = b.op("sym.sub", b.op("aten.sym_size.int", x, 1), 1)
    b.output(
        b.op("aten.select.int", x, 1, 0),
        b.op("aten.select.int", x, -1, -1),
        b.op("aten.select.int", x, 1, last),
    )


@case(({"batch": 2, "seq": 3}, {"batch": 3, "seq": 5}))  # at batch 1 torch squeezes the batch axis too
def squeeze(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 1, "seq", 1))
    b.output(
        b.op("aten.squeeze.dim", x, 1),
        b.op("aten.squeeze.dim", x, 2),
        b.op("aten.squeeze.dims", x, [1, -1]),
        b.op("aten.squeeze", x),
    )


@case(SEQ)
def unsqueeze_transpose_permute(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 4))
    m = b.input("m", "f32", (3, "seq"))
    b.output(
        b.op("aten.unsqueeze", x, -1),
        b.op("aten.unsqueeze", x, 0),
        b.op("aten.transpose.int", x, 1, 2),
        b.op("aten.permute", x, [2, 0, 1]),
        b.op("aten.t", m),
    )


@case(SEQ)
def cat_promotes(b: GraphMaker) -> None:
    x = b.input("x", "i32", ("batch", 2))
    y = b.input("y", "i64", ("batch", "seq"))
    b.output(b.op("aten.cat", [x, y], -1), b.op("aten.cat", [y, y]))


@case(SEQ)
def cat_skips_legacy_empty(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 2, "seq", 4))
    empty = b.param("empty", torch.zeros(0))
    b.output(b.op("aten.cat", [empty, x], -2), b.op("aten.cat", [empty, b.op("aten.view", x, [-1])]))


@case(SEQ)
def stack(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq"))
    b.output(b.op("aten.stack", [x, x, x], -1), b.op("aten.stack", [x, x]))


@case(SEQ)
def split_static(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 10))
    b.output(*b.op("aten.split.Tensor", x, 4, -1, outputs=3))


@case(({"batch": 2, "seq": 10}, {"batch": 1, "seq": 12}))
def split_symbolic(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq"))
    b.output(*b.op("aten.split.Tensor", x, 4, 1, outputs=3))


@case(SEQ)
def split_with_sizes_and_unbind(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 6))
    b.output(
        *b.op("aten.split_with_sizes", x, [2, 4], -1, outputs=2), *b.op("aten.unbind.int", x, 2, outputs=6)
    )


@case(SEQ)
def split_into_one_piece(b: GraphMaker) -> None:
    # Qwen2-VL's vision attention splits by its grid sizes; with one image, into one piece.
    x = b.input("x", "f32", ("batch", "seq", 6))
    s1 = b.op("aten.sym_size.int", x, 1)
    b.output(b.op("aten.split_with_sizes", x, [s1], 1, outputs=1))


@case(SEQ)
def gather_smaller_index(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 8))
    i = b.input("i", "i64", ("batch", "seq"), make=ints(0, 8))
    b.output(b.op("aten.gather", x, 1, i))


@case(SEQ)
def index_select(b: GraphMaker) -> None:
    x = b.input("x", "f32", (5, "seq"))
    i = b.input("i", "i64", ("batch",), make=ints(0, 5))
    b.output(b.op("aten.index_select", x, 0, i))


@case(SEQ)
def index_broadcast_like_gpt2_mask(b: GraphMaker) -> None:
    mask = b.input("mask", "bool", ("batch", "seq"))
    s0, s1 = b.op("aten.sym_size.int", mask, 0), b.op("aten.sym_size.int", mask, 1)
    rows = b.op("aten.view", b.op("aten.arange", s0), [-1, 1, 1, 1])
    cols = b.op("aten.view", b.op("aten.arange", s1), [1, 1, 1, -1])
    b.output(b.op("aten.index.Tensor", mask, [rows, cols]))


@case(SEQ)
def index_single_and_negative(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 5))
    i = b.input("i", "i64", (2, 3), make=ints(-5, 5))
    b.output(
        b.op("aten.index.Tensor", x, [None, None, i]),
        b.op("aten.index.Tensor", x, [None, b.op("aten.remainder.Scalar", i, 2)]),
    )


@case(SEQ)
def index_adjacent_in_the_middle(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 4, 5, "seq"))
    i = b.input("i", "i64", (2, 1), make=ints(0, 4))
    j = b.input("j", "i64", (3,), make=ints(-5, 5))
    b.output(b.op("aten.index.Tensor", x, [None, i, j]))


@case(SEQ)
def index_apart_goes_first(b: GraphMaker) -> None:
    x = b.input("x", "f32", (4, "batch", 5))
    i = b.input("i", "i64", (2, 1), make=ints(0, 4))
    j = b.input("j", "i64", (3,), make=ints(0, 5))
    b.output(b.op("aten.index.Tensor", x, [i, None, j]))


@case(SEQ)
def index_bool_mask(b: GraphMaker) -> None:
    x = b.input("x", "f32", (3, "seq", 2))
    m = b.input("m", "bool", (3, "seq"))
    b.output(b.op("aten.index.Tensor", x, [m]))


@case(SEQ)
def repeat(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3))
    s1 = b.op("aten.sym_size.int", b.input("y", "f32", ("seq",)), 0)
    b.output(b.op("aten.repeat", x, [2, 1, s1]))


@case(SEQ)
def tril_triu(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", "seq"))
    m = b.input("m", "bool", ("seq", 4))
    b.output(b.op("aten.tril", x), b.op("aten.triu", x, 1), b.op("aten.tril", m, -1))


@case(SEQ)
def chunk_static(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 10))
    b.output(
        *b.op("aten.chunk", x, 2, -1, outputs=2),  # Phi-3's gate/up split
        *b.op("aten.chunk", x, 4, 2, outputs=4),  # 3, 3, 3, 1
        *b.op("aten.chunk", x, 6, 2, outputs=5),  # 2 * 5: fewer pieces than asked for
    )


@case(({"batch": 2, "seq": 10}, {"batch": 1, "seq": 12}))
def chunk_symbolic(b: GraphMaker) -> None:
    """The piece size is ceil(seq / 3) at run time: seq 10 -> 4, 4, 2; 12 -> 4, 4, 4."""
    x = b.input("x", "f32", ("batch", "seq"))
    b.output(*b.op("aten.chunk", x, 3, 1, outputs=3))


@case(SEQ)
def reshape_as_view_as_numpy_t(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 4))
    y = b.input("y", "f32", ("batch", "seq", 2, 2))
    w = b.param("w", torch.randn(3, 4))
    b.output(
        b.op("aten.reshape_as", x, y),
        b.op("aten.view_as", y, x),
        b.op("aten.numpy_T", w),  # Falcon's `self.weight.T`
        b.op("aten.numpy_T", b.op("aten.select.int", w, 0, 1)),
    )


@case(SEQ)
def repeat_interleave(b: GraphMaker) -> None:
    """GPT-J and CodeGen repeat each rotary frequency twice along the last axis."""
    x = b.input("x", "f32", ("batch", "seq", 3))
    s1 = b.op("aten.sym_size.int", x, 1)
    # counts 0, 1 and 2 in some order: the output size (their sum) stays 3
    counts = b.input("counts", "i64", (3,), make=lambda shape, gen: torch.randperm(3, generator=gen))
    b.output(
        b.op("aten.repeat_interleave.self_int", x, 2, 2, out_shape=("batch", "seq", 6)),
        b.op("aten.repeat_interleave.self_int", x, 3, 0, out_shape=("3*batch", "seq", 3)),
        b.op("aten.repeat_interleave.self_int", x, s1, 2, out_shape=("batch", "seq", "3*seq")),
        b.op("aten.repeat_interleave.self_int", x, 2, out_shape=("6*batch*seq",)),
        b.op("aten.repeat_interleave.self_Tensor", x, b.op("aten.scalar_tensor", 2, dtype=torch.int64), 1),
        b.op("aten.repeat_interleave.self_Tensor", x, counts, 2),
        b.op("aten.repeat_interleave.Tensor", counts),
    )


@case(SEQ)
def slice_scatter(b: GraphMaker) -> None:
    x = b.input("x", "i64", ("batch", "seq"))
    z = b.input("z", "i64", ("batch", "seq"))
    col = b.input("col", "i64", ("batch", 1))
    shifted = b.op("aten.slice.Tensor", x, 1, 0, -1, out_shape=("batch", "seq - 1"))
    y = b.input("y", "f32", ("batch", 6, 3))
    src = b.input("src", "f32", ("batch", 2, 3))
    b.output(
        b.op("aten.slice_scatter", z, shifted, 1, 1, INT64_MAX),
        b.op("aten.slice_scatter", z, col, 1, 0, 1),
        b.op("aten.slice_scatter", y, src, -2, -4, INT64_MAX, 2),
        b.op("aten.slice_scatter", y, src, 1, 1, 3),
    )


@case(SEQ)
def select_scatter(b: GraphMaker) -> None:
    z = b.input("z", "f32", ("batch", "seq", 4))
    src = b.input("src", "f32", ("batch", 4))
    last = b.op("sym.sub", b.op("aten.sym_size.int", z, 1), 1)
    b.output(
        b.op("aten.select_scatter", z, src, 1, 0),
        b.op("aten.select_scatter", z, src, 1, -1),
        b.op("aten.select_scatter", z, src, -2, last),
    )
