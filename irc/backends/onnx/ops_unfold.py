"""`Tensor.unfold(dim, size, step)`: the windows of `size` elements every `step` along `dim`.

ONNX has no such op: the windows are one Gather with a [windows, size] index grid
(`window * step + offset`), which puts them where `dim` was, then a Transpose moves the offset
axis last, where torch puts it. The window count, `(length - size) // step + 1`, is computed
from the runtime length, so a dynamic `dim` stays dynamic.
"""

from __future__ import annotations

from irc.backends.onnx.builder import Builder, rank_of
from irc.backends.onnx.registry import lowering
from irc.ir.core import Node, Value
from irc.ir.dtypes import DType


@lowering("aten.unfold")
def unfold(g: Builder, node: Node, self: Value, dimension: int, size: int, step: int) -> str:
    """unfold(Tensor(a) self, int dimension, int size, int step) -> Tensor(a)"""
    rank = max(rank_of(self), 1)
    axis = dimension % rank
    one, width = g.const(1, DType.I64), g.const(size, DType.I64)
    span = g.op("Sub", g.dim(self, axis), width)
    windows = g.op("Add", g.op("Div", span, g.const(step, DType.I64)), one)
    starts = g.op("Mul", g.op("Range", g.const(0, DType.I64), windows, one), g.const(step, DType.I64))
    offsets = g.const(list(range(size)), DType.I64)
    grid = g.op("Add", g.op("Unsqueeze", starts, g.const([1], DType.I64)), offsets)
    gathered = g.op("Gather", g.tensor(self), grid, axis=axis)
    # Gathered: self's dims with `axis` replaced by (windows, size); torch wants size last.
    perm = [*range(axis + 1), *range(axis + 2, rank + 1), axis + 1]
    return g.op("Transpose", gathered, perm=perm)
