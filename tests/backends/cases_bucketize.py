"""Cases for aten.bucketize (ops_bucketize.py)."""

from __future__ import annotations

import torch

from tests.backends.cases import SEQ, case
from tests.backends.util import GraphMaker


@case(SEQ)
def bucketize(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq"))
    bounds = b.param("bounds", torch.tensor([-1.0, -0.25, 0.0, 0.5, 1.0]))
    b.output(
        b.op("aten.bucketize.Tensor", x, bounds),
        b.op("aten.bucketize.Tensor", x, bounds, right=True),
        b.op("aten.bucketize.Tensor", x, bounds, out_int32=True),
    )
