"""Cases for var/std, group norm, PReLU and average pooling (ops_stats.py)."""

from __future__ import annotations

import torch

from tests.backends.cases import BATCH, SEQ, case
from tests.backends.util import GraphMaker


def _w(*shape: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(sum(shape)))


@case(SEQ)
def var_std_dim(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 5))
    b.output(
        b.op("aten.var.dim", x, [1]),
        b.op("aten.std.dim", x, [-1], False, True),
        b.op("aten.var", x),
        b.op("aten.std", x, False),
    )


@case(SEQ)
def var_std_correction(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 5))
    b.output(
        b.op("aten.var.correction", x, [1, 2], correction=0, keepdim=True),
        b.op("aten.std.correction", x, [1]),
        b.op("aten.std.correction", x, None, correction=2),
    )


@case(SEQ)
def var_std_mean(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 5))
    b.output(
        *b.op("aten.var_mean", x, outputs=2),
        *b.op("aten.std_mean.dim", x, [1], True, True, outputs=2),
        *b.op("aten.var_mean.dim", x, [0], False, outputs=2),
        *b.op("aten.std_mean", x, False, outputs=2),
        *b.op("aten.var_mean.correction", x, [2], correction=0, outputs=2),
        *b.op("aten.std_mean.correction", x, [1, 2], keepdim=True, outputs=2),
    )


@case(SEQ)
def group_norm(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 6, "seq", 3))
    w, bias = b.param("w", _w(6)), b.param("bias", _w(6) + 1)
    b.output(b.op("aten.group_norm", x, 3, w, bias, 1e-6), b.op("aten.group_norm", x, 1))


@case(BATCH)
def native_group_norm(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 4, 5))
    n = b.op("aten.sym_size.int", x, 0)
    w, bias = b.param("w", _w(4)), b.param("bias", _w(4))
    b.output(*b.op("aten.native_group_norm", x, w, bias, n, 4, 5, 2, 1e-5, outputs=3))


@case(SEQ)
def prelu(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 4, "seq"))
    flat = b.input("y", "f32", ("seq",))
    b.output(
        b.op("aten.prelu", x, b.param("w", _w(4))),
        b.op("aten.prelu", x, b.param("one", torch.tensor([0.25]))),
        b.op("aten._prelu_kernel", flat, b.param("w1", torch.tensor([0.1]))),
    )


@case(BATCH)
def avg_pool2d(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3, 8, 9))
    b.output(
        b.op("aten.avg_pool2d", x, [3, 3], [1, 1], [1, 1], False, False),
        b.op("aten.avg_pool2d", x, [2, 3], [2, 1], [1, 0]),
        b.op("aten.avg_pool2d", x, [2, 2]),
    )


@case(BATCH)
def avg_pool1d(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3, 9))
    b.output(
        b.op("aten.avg_pool1d", x, [3], [2], [1]), b.op("aten.avg_pool1d", x, [3], [1], [1], False, False)
    )


@case(BATCH)
def square_and_softplus(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 6), make=lambda shape, gen: torch.randn(shape, generator=gen) * 8)
    b.output(b.op("aten.square", x), b.op("aten.softplus", x), b.op("aten.softplus", x, 2, 5))
