"""`aten.expm1` and `aten.log1p`, which ONNX lacks: written as `Exp(x) - 1` and `Log(1 + x)`.

Near zero these lose the relative precision that torch's fused kernels keep, but not absolute
precision (the error stays within a float32 ulp of 1, about 1.2e-7), which is what validation
measures. Apertus' xIELU activation uses `expm1`; Llama 4's attention temperature `log1p`.
"""

from __future__ import annotations

from irc.backends.onnx.builder import Builder, out_dtype
from irc.backends.onnx.registry import lowering
from irc.ir.core import Node, Value


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
