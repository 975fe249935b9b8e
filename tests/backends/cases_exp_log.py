"""Cases for aten.expm1, aten.log1p, aten.logsumexp (ops_exp_log.py), aten.scatter_reduce.two
(ops_scatter_reduce.py) and aten.concat (ops_alias.py)."""

from __future__ import annotations

import torch

from tests.backends.cases import BATCH, SEQ, add_case, case
from tests.backends.util import GraphMaker


def _above_minus_one(shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    # log1p's domain; values near 0 and near -1 are where a naive Log(1 + x) could go wrong
    return torch.rand(shape, generator=gen) * 3.0 - 0.99


@case(BATCH)
def expm1(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3))
    b.output(b.op("aten.expm1", x), b.op("aten.expm1", b.op("aten.mul.Tensor", x, 1e-3)))


@case(BATCH)
def expm1_of_int_is_float(b: GraphMaker) -> None:
    x = b.input("x", "i64", ("batch", 3))
    b.output(b.op("aten.expm1", x), b.op("aten.log1p", x))


@case(BATCH)
def log1p(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3), make=_above_minus_one)
    b.output(b.op("aten.log1p", x))


@case(SEQ)
def logsumexp(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 4))
    b.output(
        b.op("aten.logsumexp", x, [-1]),
        b.op("aten.logsumexp", x, [1, 2], True),
        b.op("aten.logsumexp", b.op("aten.mul.Tensor", x, 100.0), [-1]),
    )


@case(SEQ)
def logsumexp_of_masked_rows(b: GraphMaker) -> None:
    # attention scores with whole rows masked: torch gives -inf there, not NaN
    x = b.input("x", "f32", ("batch", "seq", 4))
    masked = b.op("aten.masked_fill.Scalar", x, b.op("aten.lt.Scalar", x, 0.0), float("-inf"))
    b.output(
        b.op("aten.logsumexp", masked, [-1]),
        b.op("aten.logsumexp", b.op("aten.full_like", x, float("-inf")), [0]),
    )


@case(SEQ)
def concat(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq"))
    y = b.input("y", "i64", ("batch", 2))
    b.output(
        b.op("aten.concat", [x, y], -1), b.op("aten.concat", [x, x]), b.op("aten.concatenate", [y, x], 1)
    )


@case(SEQ, opset=15)
def logsumexp_opset15(b: GraphMaker) -> None:
    # ReduceMax takes its axes as an attribute before opset 18
    x = b.input("x", "f32", ("batch", "seq", 4))
    b.output(b.op("aten.logsumexp", x, [1, -1]))


_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def _segments(shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    # repeated targets (several values meet), and target 3 never written
    return torch.randint(0, 3, shape, generator=gen)


for _reduce in _REDUCES:

    def _scatter_reduce(b: GraphMaker, reduce: str = _reduce) -> None:
        x = b.input("x", "f32", (4, "seq"))
        index = b.input("index", "i64", ("batch", "seq"), make=_segments)
        src = b.input("src", "f32", ("batch", "seq"))
        b.output(
            b.op("aten.scatter_reduce.two", x, 0, index, src, reduce),
            b.op("aten.scatter_reduce.two", x, 0, index, src, reduce, include_self=False),
        )

    add_case(f"scatter_reduce_{_reduce}", _scatter_reduce, SEQ)


@case(SEQ)
def scatter_reduce_int_amax(b: GraphMaker) -> None:
    x = b.input("x", "i64", (4, "seq"))
    index = b.input("index", "i64", ("batch", "seq"), make=_segments)
    src = b.input("src", "i64", ("batch", "seq"))
    b.output(b.op("aten.scatter_reduce.two", x, 0, index, src, "amax", include_self=False))
