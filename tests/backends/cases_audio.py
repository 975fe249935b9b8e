"""Cases for the ops speech encoders bring (ops_audio.py): flip, weight norm and glu."""

from __future__ import annotations

import torch

from tests.backends.cases import SEQ, case
from tests.backends.util import GraphMaker


@case(SEQ)
def flip(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 4))
    mask = b.input("mask", "i64", ("batch", "seq"))
    b.output(
        b.op("aten.flip", x, [1]),
        b.op("aten.flip", x, [0, -1]),
        b.op("aten.cumsum", b.op("aten.flip", mask, [-1]), -1),
    )


@case(SEQ)
def weight_norm(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 6))
    gen = torch.Generator().manual_seed(3)
    v = b.param("v", torch.randn((6, 3, 5), generator=gen))
    g_last = b.param("g_last", torch.rand((1, 1, 5), generator=gen) + 0.5)
    g_first = b.param("g_first", torch.rand((6, 1, 1), generator=gen) + 0.5)
    g_all = b.param("g_all", torch.rand((), generator=gen) + 0.5)
    by_last = b.op("aten._weight_norm", v, g_last, 2)  # wav2vec2's positional conv: dim=2
    by_first = b.op("aten._weight_norm", v, g_first)
    whole = b.op("aten._weight_norm", v, g_all, -1)
    weights = b.op("aten.add.Tensor", b.op("aten.add.Tensor", by_last, by_first), whole)
    b.output(b.op("aten.matmul", x, b.op("aten.view", weights, [6, 15])))


@case(SEQ)
def glu(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 6, "seq"))
    b.output(b.op("aten.glu", x, 1), b.op("aten.glu", b.op("aten.cat", [x, x], -1)))


@case(SEQ)
def all_any(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 4))
    mask = b.input("mask", "i64", ("batch", "seq"))
    rows = b.op("aten.gt.Scalar", x, 0.0)
    b.output(
        b.op("aten.all.dim", rows, 2),  # a conformer's fully masked rows
        b.op("aten.any.dim", rows, -1, True),
        b.op("aten.all.dims", x, [1, 2]),
        b.op("aten.any.dims", rows, [0, 2], True),
        b.op("aten.any", mask),
        b.op("aten.all", rows),
    )
