"""`irc.dft` as ONNX's DFT op, whose (real, imaginary) trailing dim is irc's complex-pair layout.

DFT came in opset 17 with its axis an attribute; opset 20 made the axis an input. Below 17 there
is no DFT: the builder refuses with the opset it needs.
"""

from __future__ import annotations

from irc.backends.onnx.builder import Builder, out_dtype
from irc.backends.onnx.registry import lowering
from irc.ir.core import Node, Value
from irc.ir.dtypes import DType


@lowering("irc.dft")
def dft(g: Builder, node: Node, x: Value, dim: int) -> str:
    """dft(Tensor x [..., 2], int dim) -> Tensor [..., 2]"""
    pair = g.tensor(x, out_dtype(node))
    if g.opset >= 20:
        return g.op("DFT", pair, None, g.const(dim, DType.I64))
    return g.op("DFT", pair, axis=dim)
