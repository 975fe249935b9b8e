"""`aten.bucketize`: the bucket index of each value among sorted boundaries.

Written as a count (ONNX has no search op): with `right=False` the index of `x` is the number of
boundaries below it, with `right=True` the number at or below it. Idefics3 / SmolVLM's vision
embeddings place patch positions this way.
"""

from __future__ import annotations

from typing import Any

from irc.backends.onnx.builder import Builder, dtype_of, rank_of
from irc.backends.onnx.registry import lowering
from irc.ir.core import Node, Value
from irc.ir.dtypes import DType


@lowering("aten.bucketize.Tensor")
def bucketize(
    g: Builder,
    node: Node,
    self: Value,
    boundaries: Value,
    *,
    out_int32: bool = False,
    right: bool = False,
    **_: Any,
) -> str:
    """bucketize.Tensor(Tensor self, Tensor boundaries, *, bool out_int32=False, bool right=False) -> Tensor"""
    dtype = dtype_of(self)
    x = g.op("Unsqueeze", g.tensor(self), g.const([rank_of(self)], DType.I64))
    bounds = g.tensor(boundaries, dtype)
    below = g.op("LessOrEqual" if right else "Less", bounds, x)
    count = g.reduce("ReduceSum", g.cast(below, DType.BOOL, DType.I64), [rank_of(self)], False)
    return g.cast(count, DType.I64, DType.I32) if out_int32 else count
