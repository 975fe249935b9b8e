"""col2im (`F.fold`), the inverse of im2col: MobileViT folds its unfolded patches back."""

from __future__ import annotations

from typing import Any

from irc.backends.onnx.builder import Builder, rank_of
from irc.backends.onnx.ops_conv import expand_param
from irc.backends.onnx.registry import lowering
from irc.errors import LoweringError
from irc.ir.core import Node, Value
from irc.ir.dtypes import DType


@lowering("aten.col2im")
def col2im(
    g: Builder,
    node: Node,
    self: Value,
    output_size: Any,
    kernel_size: Any,
    dilation: Any,
    padding: Any,
    stride: Any,
) -> str:
    """col2im(Tensor self, SymInt[2] output_size, int[2] kernel_size, int[2] dilation, int[2]
    padding, int[2] stride) -> Tensor

    ONNX's Col2Im (opset 18) is the same operation: [N, C*kh*kw, L] -> [N, C, H, W], overlapping
    patches summed. An unbatched [C*kh*kw, L] input gets a batch axis for it and loses it after."""
    if g.opset < 18:
        raise LoweringError("aten.col2im needs ONNX opset 18 or later (Col2Im); export with --opset 18.")
    kernel = expand_param(kernel_size, 2, "kernel_size")
    pads = expand_param(padding, 2, "padding")
    x = g.tensor(self)
    unbatched = rank_of(self) == 2
    if unbatched:
        x = g.op("Unsqueeze", x, g.const([0], DType.I64))
    out = g.op(
        "Col2Im",
        x,
        g.ints(list(output_size)),
        g.const(kernel, DType.I64),
        dilations=expand_param(dilation, 2, "dilation"),
        pads=pads + pads,
        strides=expand_param(stride, 2, "stride"),
    )
    return g.op("Squeeze", out, g.const([0], DType.I64)) if unbatched else out
