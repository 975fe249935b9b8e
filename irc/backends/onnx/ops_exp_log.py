"""`aten.expm1`, `aten.log1p` and `aten.logsumexp`, which ONNX lacks or computes unsafely.

`expm1` and `log1p` are written as `Exp(x) - 1` and `Log(1 + x)`.

Near zero these lose the relative precision that torch's fused kernels keep, but not absolute
precision (the error stays within a float32 ulp of 1, about 1.2e-7), which is what validation
measures. Apertus' xIELU activation uses `expm1`; Llama 4's attention temperature `log1p`.
`logsumexp` subtracts the row's max first, as torch does (attention-sink scaling in Granite's
sliding-window models reads it off masked scores, so `-inf` rows must give `-inf`, not NaN).
"""

from __future__ import annotations

from irc.backends.onnx.builder import Builder, out_dtype, rank_of
from irc.backends.onnx.registry import lowering
from irc.ir.core import Node, Value
from irc.ir.dtypes import DType


@lowering("aten.expm1")
def expm1(g: Builder, node: Node, self: Value) -> str:
    """expm1(Tensor self) -> Tensor"""
    dtype = out_dtype(node)
    return g.op("Sub", g.op("Exp", g.tensor(self, dtype)), g.const(1, dtype))


@lowering("aten.log1p")
def log1p(g: Builder, node: Node, self: Value) -> str:
    """log1p(Tensor self) -> Tensor"""
    dtype = out_dtype(node)
    return g.op("Log", g.op("Add", g.tensor(self, dtype), g.const(1, dtype)))


@lowering("aten.logsumexp")
def logsumexp(g: Builder, node: Node, self: Value, dim: list[int], keepdim: bool = False) -> str:
    """logsumexp(Tensor self, int[1] dim, bool keepdim=False) -> Tensor"""
    dtype = out_dtype(node)
    rank = max(rank_of(self), 1)
    axes = sorted({d % rank for d in dim}) if dim else list(range(rank))
    x = g.tensor(self, dtype)
    top = g.reduce("ReduceMax", x, axes, True)
    # An all -inf (or +inf) row has an infinite max: shift by 0 there, so Exp gives 0 (or inf)
    # and the Log the infinity torch returns, not inf - inf = NaN.
    shift = g.op("Where", g.op("IsInf", top), g.const(0, dtype), top)
    total = g.reduce("ReduceSum", g.op("Exp", g.op("Sub", x, shift)), axes, True)
    out = g.op("Add", g.op("Log", total), shift)
    return out if keepdim else g.op("Squeeze", out, g.const(axes, DType.I64))
