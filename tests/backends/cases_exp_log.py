"""Cases for aten.expm1, aten.log1p (ops_exp_log.py) and aten.concat (ops_alias.py)."""

from __future__ import annotations

import torch

from tests.backends.cases import BATCH, SEQ, case
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
def concat(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq"))
    y = b.input("y", "i64", ("batch", 2))
    b.output(b.op("aten.concat", [x, y], -1), b.op("aten.concat", [x, x]))
