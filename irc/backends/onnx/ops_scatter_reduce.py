"""`aten.scatter_reduce.two`: ScatterElements with a reduction, plus what ONNX lacks.

ONNX reduces with add, mul, max and min; `mean` is a sum divided by a count scattered the same
way. `include_self=False` first overwrites every position that receives a value with the
reduction's identity, so only the scattered values meet there (TAPAS' segment means scatter into
zeros this way). Positions no index reaches keep `self`.
"""

from __future__ import annotations

from typing import Any

from irc.backends.onnx import ops_scatter
from irc.backends.onnx.builder import Builder, out_dtype, rank_of, tensor_proto
from irc.backends.onnx.registry import lowering
from irc.errors import LoweringError
from irc.ir.core import Node, Value
from irc.ir.dtypes import DType

_ONNX = {"sum": "add", "prod": "mul", "amax": "max", "amin": "min", "mean": "add"}
_FIRST_OPSET = {"add": 16, "mul": 16, "max": 18, "min": 18}
_IDENTITY = {"sum": 0.0, "mean": 0.0, "prod": 1.0, "amax": float("-inf"), "amin": float("inf")}


@lowering("aten.scatter_reduce.two")
def scatter_reduce(
    g: Builder,
    node: Node,
    self: Value,
    dim: int,
    index: Value,
    src: Value,
    reduce: str,
    *,
    include_self: bool = True,
    **_: Any,
) -> str:
    """scatter_reduce.two(Tensor self, int dim, Tensor index, Tensor src, str reduce, *,
    bool include_self=True) -> Tensor"""
    reduction = _reduction(g, reduce)
    dtype = out_dtype(node)
    axis = dim % max(rank_of(self), 1)
    positions = ops_scatter._wrapped(g, self, axis, g.tensor(index, DType.I64))
    ends = g.op("Shape", g.tensor(index))
    block = g.op("Slice", g.tensor(src, dtype), g.const([0] * rank_of(index), DType.I64), ends)
    x = g.tensor(self, dtype)
    if not include_self:
        x = _overwrite(g, x, positions, ends, _identity(reduce, dtype), dtype, axis)
    total = g.op("ScatterElements", x, positions, block, axis=axis, reduction=reduction)
    if reduce != "mean":
        return total
    count = g.op("ConstantOfShape", g.op("Shape", x), value=_one(1, dtype))
    if not include_self:
        count = _overwrite(g, count, positions, ends, 0, dtype, axis)
    ones = g.op("ConstantOfShape", ends, value=_one(1, dtype))
    count = g.op("ScatterElements", count, positions, ones, axis=axis, reduction="add")
    return g.op("Div", total, count)


def _reduction(g: Builder, reduce: str) -> str:
    if reduce not in _ONNX:
        raise LoweringError(
            f"scatter_reduce with reduce={reduce!r} has no ONNX form (it takes {', '.join(_ONNX)})"
        )
    onnx = _ONNX[reduce]
    if g.opset < _FIRST_OPSET[onnx]:
        raise LoweringError(
            f"scatter_reduce with reduce={reduce!r} needs opset >= {_FIRST_OPSET[onnx]} (got {g.opset}); "
            f"pass --opset {_FIRST_OPSET[onnx]} or newer"
        )
    return onnx


def _identity(reduce: str, dtype: DType) -> float | int:
    value = _IDENTITY[reduce]
    if dtype.is_floating or value in (0.0, 1.0):
        return value
    import torch

    info = torch.iinfo(dtype.to_torch())  # integer max/min: the extreme value stands for infinity
    return info.min if value < 0 else info.max


def _overwrite(
    g: Builder, x: str, positions: str, ends: str, value: float | int, dtype: DType, axis: int
) -> str:
    """`x` with `value` at every position the scatter writes to."""
    fill = g.op("ConstantOfShape", ends, value=_one(value, dtype))
    return g.op("ScatterElements", x, positions, fill, axis=axis)


def _one(value: float | int, dtype: DType) -> Any:
    """A one-element tensor, ConstantOfShape's `value`."""
    import torch

    return tensor_proto("value", torch.tensor([value], dtype=dtype.to_torch()))
