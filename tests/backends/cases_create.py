"""Cases for aliases, casts, factories, sizes and `sym.*` arithmetic (ops_create.py)."""

from __future__ import annotations

import torch

from tests.backends.cases import BATCH, SEQ, add_case, case
from tests.backends.util import GraphMaker

CPU = torch.device("cpu")

for _op in (
    "aten.contiguous",
    "aten.clone",
    "aten.alias",
    "aten.detach",
    "aten.lift_fresh_copy",
    "irc.identity",
):

    def _alias(b: GraphMaker, op: str = _op) -> None:
        x = b.input("x", "f32", ("batch", 3))
        b.output(b.op(op, x))

    add_case(_op, _alias, BATCH)


@case(BATCH)
def to_dtype_int_to_float(b: GraphMaker) -> None:
    x = b.input("x", "i64", ("batch", 3))
    b.output(b.op("aten.to.dtype", x, torch.float32))


@case(BATCH)
def to_device_to_bool(b: GraphMaker) -> None:
    x = b.input("x", "i64", ("batch", 3))
    b.output(b.op("aten.to.device", x, CPU, torch.bool))


@case(BATCH)
def to_dtype_layout_same_dtype(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3))
    b.output(b.op("aten.to.dtype_layout", x, dtype=torch.float32, layout=torch.strided, device=CPU))


@case(BATCH)
def to_other(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3))
    y = b.input("y", "i32", (2,))
    b.output(b.op("aten.to.other", x, y))


@case(BATCH)
def to_copy_truncates_toward_zero(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3), make=lambda s, g: torch.randn(s, generator=g) * 10)
    b.output(b.op("aten._to_copy", x, dtype=torch.int32))


@case(BATCH)
def type_as(b: GraphMaker) -> None:
    x = b.input("x", "i64", ("batch", 3))
    y = b.input("y", "f32", (2,))
    b.output(b.op("aten.type_as", x, y))


@case(BATCH)
def dropout_eval(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3))
    b.output(b.op("aten.dropout", x, 0.1, False))


@case(SEQ)
def sym_size_int(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq"))
    b.output(b.op("aten.sym_size.int", x, 1), b.op("aten.sym_size.int", x, -2))


@case(SEQ)
def sym_numel(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 2))
    b.output(b.op("aten.sym_numel", x))


def _sizes(b: GraphMaker) -> tuple:
    x = b.input("x", "f32", ("batch", "seq"))
    return b.op("aten.sym_size.int", x, 0), b.op("aten.sym_size.int", x, 1)


for _op in ("add", "sub", "mul", "pow", "truediv", "eq", "ne", "lt", "le", "gt", "ge", "min", "max"):

    def _sym(b: GraphMaker, op: str = _op) -> None:
        s0, s1 = _sizes(b)
        b.output(b.op(f"sym.{op}", s0, s1), b.op(f"sym.{op}", s1, 2))

    add_case(f"sym.{_op}", _sym, SEQ)


@case(SEQ)
def sym_floordiv_rounds_down_for_negatives(b: GraphMaker) -> None:
    s0, s1 = _sizes(b)
    negative = b.op("sym.sub", s0, 10)
    b.output(b.op("sym.floordiv", negative, 3), b.op("sym.floordiv", s1, 2))


@case(SEQ)
def sym_mod_takes_the_divisor_sign(b: GraphMaker) -> None:
    s0, s1 = _sizes(b)
    negative = b.op("sym.sub", s0, 10)
    b.output(b.op("sym.mod", negative, 3), b.op("sym.mod", s1, 4))


@case(SEQ)
def sym_min_max_pick_either_side(b: GraphMaker) -> None:
    # seq is 3 then 6: min(seq, 4) takes the size once and the constant once, max the reverse.
    _, s1 = _sizes(b)
    b.output(b.op("sym.min", s1, 4), b.op("sym.max", 4, s1), b.op("sym.min", b.op("sym.mul", s1, 2), 9))


@case(SEQ)
def sym_not(b: GraphMaker) -> None:
    s0, s1 = _sizes(b)
    b.output(b.op("sym.not", b.op("sym.eq", s1, 3)), b.op("sym.not", b.op("sym.lt", s0, s1)))


@case(SEQ)
def item_of_a_size_and_a_sum(b: GraphMaker) -> None:
    # DeBERTa slices its relative embeddings at `item()` of a tensor made from min(sequence, k).
    x = b.input("y", "f32", ("batch", "seq"))
    _, s1 = _sizes(b)
    size = b.op("aten.item", b.op("aten.scalar_tensor", b.op("sym.min", s1, 4), dtype=torch.int64))
    total = b.op("aten.item", b.op("aten.sum", x))
    b.output(b.op("aten.slice.Tensor", x, 1, 0, size), b.op("aten.mul.Scalar", x, total))


@case(SEQ)
def sym_neg(b: GraphMaker) -> None:
    s0, _ = _sizes(b)
    b.output(b.op("sym.neg", s0))


@case(SEQ)
def arange_symbolic(b: GraphMaker) -> None:
    _, s1 = _sizes(b)
    b.output(b.op("aten.arange", s1, device=CPU, pin_memory=False))


@case()
def arange_static_int32(b: GraphMaker) -> None:
    b.output(b.op("aten.arange", 5, dtype=torch.int32))


@case(SEQ)
def arange_start(b: GraphMaker) -> None:
    _, s1 = _sizes(b)
    b.output(b.op("aten.arange.start", 1, s1))


@case(SEQ)
def arange_start_step(b: GraphMaker) -> None:
    _, s1 = _sizes(b)
    b.output(b.op("aten.arange.start_step", 0, s1, 2), b.op("aten.arange.start_step", 0, 1.0, 0.25))


@case(SEQ)
def full(b: GraphMaker) -> None:
    s0, _ = _sizes(b)
    b.output(b.op("aten.full", [s0, 2], 2.5), b.op("aten.full", [2], s0))


@case(SEQ)
def zeros_ones(b: GraphMaker) -> None:
    s0, s1 = _sizes(b)
    b.output(b.op("aten.zeros", [s0, 2], dtype=torch.float32), b.op("aten.ones", [s1], dtype=torch.int64))


@case(SEQ)
def empty_has_the_right_size(b: GraphMaker) -> None:
    s0, _ = _sizes(b)
    b.output(b.op("aten.sym_numel", b.op("aten.empty.memory_format", [s0, 3])))


@case(SEQ)
def new_factories(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq"))
    s0 = b.op("aten.sym_size.int", x, 0)
    b.output(
        b.op("aten.new_ones", x, [], dtype=torch.bool),
        b.op("aten.new_ones", x, [s0, 2]),
        b.op("aten.new_zeros", x, [3], dtype=torch.int64),
        b.op("aten.new_full", x, [s0], 1.5),
        b.op("aten.sym_numel", b.op("aten.new_empty", x, [s0, 2])),
    )


@case(SEQ)
def like_factories(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq"))
    b.output(
        b.op("aten.zeros_like", x),
        b.op("aten.ones_like", x, dtype=torch.int64),
        b.op("aten.full_like", x, 3.0),
        b.op("aten.sym_numel", b.op("aten.empty_like", x)),
    )


@case()
def scalar_tensor(b: GraphMaker) -> None:
    b.output(b.op("aten.scalar_tensor", 2.5, dtype=torch.float32))


@case(BATCH)
def feature_dropout_eval(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3, 4, 4))
    b.output(b.op("aten.feature_dropout", x, 0.1, False))


@case(BATCH)
def copy_broadcasts_and_casts(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3))
    src = b.input("src", "i64", (3,))
    same = b.input("same", "f32", ("batch", 3))
    b.output(b.op("aten.copy", x, src), b.op("aten.copy", x, same))


@case(BATCH)
def fill(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3))
    i = b.input("i", "i64", ("batch", 2))
    v = b.input("v", "f32", ())
    b.output(
        b.op("aten.fill.Scalar", x, 2.5),
        b.op("aten.fill.Scalar", i, 3),
        b.op("aten.fill.Tensor", x, v),
        b.op("aten.fill.Tensor", i, v),
    )
