"""Mixture-of-experts routing: top-k, sort, histogram and the grouped matmul of transformers' experts.

transformers 5 routes a token to `k` experts with `topk`, sorts the (token, expert) pairs by
expert, counts them per expert (`histc`, then `cumsum` to run ends) and multiplies each run of
rows by its expert's weights in one `transformers.grouped_mm_fallback` call. ONNX has no loop-free
grouped matmul, so that call is lowered densely: every row through every expert, then each row
keeps its own expert's result. That is right for any number of tokens (no loop, no data-dependent
shape) at `num_experts` times the matmul work of the routed computation.
"""

from __future__ import annotations

from typing import Any

from irc.backends.onnx.builder import Builder, out_dtype, rank_of
from irc.backends.onnx.registry import lowering
from irc.errors import LoweringError
from irc.ir.core import Node, Value
from irc.ir.dtypes import DType

Arg = Any


@lowering("transformers.grouped_mm_fallback")
def grouped_mm(g: Builder, node: Node, input: Value, weight: Value, offs: Value) -> str:
    """grouped_mm_fallback(Tensor input, Tensor weight, Tensor offs) -> Tensor

    input [S, K], weight [E, K, N], offs [E] (run ends): row s belongs to expert
    e(s) = #{i : offs[i] <= s}; rows with e(s) = E (past the last run) are zero, as in the op.
    """
    if rank_of(input) != 2 or rank_of(weight) != 3:
        raise LoweringError("grouped_mm_fallback takes a 2-D input and 3-D expert weights")
    dtype = out_dtype(node)
    zero, one = g.const(0, DType.I64), g.const(1, DType.I64)
    rows = g.op("Range", zero, g.dim(input, 0), one)
    ends = g.op("Unsqueeze", g.tensor(offs, DType.I64), g.const([0], DType.I64))
    passed = g.op("LessOrEqual", ends, g.op("Unsqueeze", rows, g.const([1], DType.I64)))
    expert_of_row = g.reduce("ReduceSum", g.cast(passed, DType.BOOL, DType.I64), [1], False)
    experts = g.op("Range", zero, g.dim(weight, 0), one)
    mine = g.op(
        "Equal",
        g.op("Unsqueeze", experts, g.const([1], DType.I64)),
        g.op("Unsqueeze", expert_of_row, g.const([0], DType.I64)),
    )
    every = g.op(
        "MatMul", g.op("Unsqueeze", g.tensor(input, dtype), g.const([0], DType.I64)), g.tensor(weight)
    )
    # Where, not a multiply by the mask: an inf in another expert's product must not become NaN.
    kept = g.op("Where", g.op("Unsqueeze", mine, g.const([-1], DType.I64)), every, g.const(0, dtype))
    return g.reduce("ReduceSum", kept, [0], False)


@lowering("aten.topk")
def topk(
    g: Builder, node: Node, self: Value, k: Arg, dim: int = -1, largest: bool = True, sorted: bool = True
) -> list[str]:
    """topk(Tensor self, SymInt k, int dim=-1, bool largest=True, bool sorted=True) -> (Tensor values,
    Tensor indices). Equal values come lowest index first (ONNX's rule); an unsorted request gets
    them sorted, which is one of the orders torch may return."""
    axis = dim % max(rank_of(self), 1)
    count = g.ints([k])
    values, indices = g.ops("TopK", [g.tensor(self), count], 2, axis=axis, largest=int(largest), sorted=1)
    return [values, indices]


@lowering("aten.sort")
def sort(g: Builder, node: Node, self: Value, dim: int = -1, descending: bool = False) -> list[str]:
    """sort(Tensor self, int dim=-1, bool descending=False) -> (Tensor values, Tensor indices).
    A stable sort (ONNX TopK orders ties by index); torch's unstable sort may order ties otherwise,
    which routing code undoes with the inverse permutation."""
    return _sort(g, self, dim, descending)


@lowering("aten.sort.stable")
def sort_stable(
    g: Builder, node: Node, self: Value, *, stable: Arg = None, dim: int = -1, descending: bool = False
) -> list[str]:
    """sort.stable(Tensor self, *, bool? stable, int dim=-1, bool descending=False) -> (Tensor values,
    Tensor indices)"""
    return _sort(g, self, dim, descending)


def _sort(g: Builder, self: Value, dim: int, descending: bool) -> list[str]:
    if rank_of(self) == 0:
        return [g.tensor(self), g.const(0, DType.I64)]
    axis = dim % rank_of(self)
    count = g.op("Reshape", g.dim(self, axis), g.const([1], DType.I64))
    values, indices = g.ops("TopK", [g.tensor(self), count], 2, axis=axis, largest=int(descending), sorted=1)
    return [values, indices]


@lowering("aten.histc")
def histc(g: Builder, node: Node, self: Value, bins: int = 100, min: Arg = 0, max: Arg = 0) -> str:
    """histc(Tensor self, int bins=100, Scalar min=0, Scalar max=0) -> Tensor

    `bins` equal-width bins over [min, max] (the data's range when both are equal, widened by 1
    each way if that is a point too); values outside are not counted, `max` falls in the last bin.
    """
    dtype = out_dtype(node)
    x = g.op("Reshape", g.tensor(self, dtype), g.const([-1], DType.I64))
    low, high = _histogram_range(g, x, float(min), float(max), dtype)
    scaled = g.op("Div", g.op("Mul", g.op("Sub", x, low), g.const(bins, dtype)), g.op("Sub", high, low))
    last = g.const(bins - 1, DType.I64)
    position = g.op("Min", g.cast(g.op("Floor", scaled), dtype, DType.I64), last)
    inside = g.op("And", g.op("GreaterOrEqual", x, low), g.op("LessOrEqual", x, high))
    position = g.op("Where", inside, position, g.const(-1, DType.I64))
    edges = g.op("Range", g.const(0, DType.I64), g.const(bins, DType.I64), g.const(1, DType.I64))
    hits = g.op("Equal", g.op("Unsqueeze", position, g.const([1], DType.I64)), edges)
    return g.reduce("ReduceSum", g.cast(hits, DType.BOOL, dtype), [0], False)


def _histogram_range(g: Builder, x: str, low: float, high: float, dtype: DType) -> tuple[str, str]:
    if low != high:
        if low > high:
            raise LoweringError(f"histc with min {low} > max {high} is an error in torch")
        return g.const(low, dtype), g.const(high, dtype)
    low_x, high_x = g.reduce("ReduceMin", x, [0], False), g.reduce("ReduceMax", x, [0], False)
    point = g.op("Equal", low_x, high_x)
    one = g.const(1, dtype)
    return g.op("Where", point, g.op("Sub", low_x, one), low_x), g.op(
        "Where", point, g.op("Add", high_x, one), high_x
    )


@lowering("aten.one_hot")
def one_hot(g: Builder, node: Node, self: Value, num_classes: int = -1) -> str:
    """one_hot(Tensor self, int num_classes=-1) -> Tensor: int64, a new last axis of `num_classes`
    (the largest index plus one when -1)."""
    x = g.tensor(self, DType.I64)
    if num_classes >= 0:
        depth = g.const(num_classes, DType.I64)
    else:
        depth = g.op("Add", g.reduce("ReduceMax", x, None, False), g.const(1, DType.I64))
    classes = g.op("Range", g.const(0, DType.I64), depth, g.const(1, DType.I64))
    hits = g.op("Equal", g.op("Unsqueeze", x, g.const([-1], DType.I64)), classes)
    return g.cast(hits, DType.BOOL, out_dtype(node))
