"""Writes into tensors: `index_put` (`x[idx] = v`, `x[mask] = v`) and the `scatter` family.

Both become ONNX scatters: `index_put` a ScatterND over the indexed axes (moved to the front
when they are not there), `scatter` a ScatterElements. Accumulating forms use the scatters'
`reduction` attribute (opset 16).
"""

from __future__ import annotations

from typing import Any

# The module, not its names: registry.py imports every ops module, and whichever of them is
# imported first, ops_shape may still be half-initialized when this module is.
from irc.backends.onnx import ops_shape
from irc.backends.onnx.builder import Builder, out_dtype, rank_of
from irc.backends.onnx.registry import lowering
from irc.errors import LoweringError
from irc.ir.core import Node, Value
from irc.ir.dtypes import DType

Arg = Any

_REDUCTIONS = {"add": "add", "sum": "add", "multiply": "mul", "prod": "mul", "amax": "max", "amin": "min"}


def _reduction(g: Builder, reduce: str | None) -> str | None:
    if reduce is None:
        return None
    if reduce not in _REDUCTIONS:
        raise LoweringError(
            f"scatter reduction {reduce!r} has no ONNX form (it takes {', '.join(_REDUCTIONS)})"
        )
    if g.opset < 16:
        raise LoweringError(
            f"a scatter with reduction {reduce!r} needs opset >= 16 (got {g.opset}); pass --opset 16 or newer"
        )
    return _REDUCTIONS[reduce]


@lowering("aten.index_put", "aten._unsafe_index_put")
def index_put(
    g: Builder, node: Node, self: Value, indices: list[Value | None], values: Value, accumulate: bool = False
) -> str:
    """index_put(Tensor self, Tensor?[] indices, Tensor values, bool accumulate=False) -> Tensor

    `self[indices] = values` (`+=` when accumulating), with torch's advanced-indexing layout: the
    indexed positions B replace adjacent indexed axes in place and go first otherwise, and
    `values` broadcasts to that result.
    """
    rank = rank_of(self)
    entries = ops_shape.int_indices(g, indices)
    axes = [axis for axis, _, _ in entries]
    rest = [a for a in range(rank) if a not in axes]
    perm = axes + rest
    x = g.tensor(self)
    if perm != list(range(rank)):
        x = g.op("Transpose", x, perm=perm)
    names = [_wrapped(g, self, axis, name) for axis, name, _ in entries]
    stacked = ops_shape.broadcast_stack(g, names)
    updates = _updates(g, node, self, values, stacked, axes, max(r for _, _, r in entries))
    reduction = _reduction(g, "add" if accumulate else None)
    y = g.op("ScatterND", x, stacked, updates, reduction=reduction)
    if perm == list(range(rank)):
        return y
    inverse = [perm.index(a) for a in range(rank)]
    return g.op("Transpose", y, perm=inverse)


def _wrapped(g: Builder, self: Value, axis: int, index: str) -> str:
    """A negative index counted from the end, as torch reads it."""
    negative = g.op("Less", index, g.const(0, DType.I64))
    return g.op("Where", negative, g.op("Add", index, g.dim(self, axis)), index)


def _updates(
    g: Builder, node: Node, self: Value, values: Value, stacked: str, axes: list[int], batch_rank: int
) -> str:
    """`values` broadcast to the indexed result and laid out as ScatterND reads it: B first."""
    v = g.tensor(values, out_dtype(node))
    batch_shape = g.op("Shape", stacked, start=0, end=-1)
    first = axes[0]
    adjacent = axes == list(range(first, first + len(axes)))
    if not adjacent or first == 0:
        rest = [g.shape(self, a, a + 1) for a in range(rank_of(self)) if a not in axes]
        return g.op("Expand", v, g.op("Concat", batch_shape, *rest, axis=0) if rest else batch_shape)
    after = first + len(axes)
    pieces = [g.shape(self, 0, first), batch_shape]
    if after < rank_of(self):
        pieces.append(g.shape(self, after))
    laid_out = g.op("Expand", v, g.op("Concat", *pieces, axis=0))
    moved = list(range(first, first + batch_rank))
    others = [d for d in range(rank_of(self) - len(axes) + batch_rank) if d not in moved]
    return g.op("Transpose", laid_out, perm=moved + others)


@lowering("aten.scatter.src", "aten.scatter.reduce")
def scatter(
    g: Builder, node: Node, self: Value, dim: int, index: Value, src: Value, *, reduce: str | None = None
) -> str:
    """scatter.src(Tensor self, int dim, Tensor index, Tensor src) -> Tensor; scatter.reduce adds
    `*, str reduce` ('add' or 'multiply'). Only src's leading `index.shape` block is read."""
    ends = g.op("Shape", g.tensor(index))
    starts = g.const([0] * rank_of(index), DType.I64)
    block = g.op("Slice", g.tensor(src, out_dtype(node)), starts, ends)
    return _scatter(g, node, self, dim, index, block, reduce)


@lowering("aten.scatter_add")
def scatter_add(g: Builder, node: Node, self: Value, dim: int, index: Value, src: Value) -> str:
    """scatter_add(Tensor self, int dim, Tensor index, Tensor src) -> Tensor"""
    return scatter(g, node, self, dim, index, src, reduce="add")


@lowering("aten.scatter.value", "aten.scatter.value_reduce")
def scatter_value(
    g: Builder, node: Node, self: Value, dim: int, index: Value, value: Arg, *, reduce: str | None = None
) -> str:
    """scatter.value(Tensor self, int dim, Tensor index, Scalar value) -> Tensor; value_reduce adds
    `*, str reduce`."""
    filled = g.op("Expand", g.tensor(value, out_dtype(node)), g.op("Shape", g.tensor(index)))
    return _scatter(g, node, self, dim, index, filled, reduce)


def _scatter(
    g: Builder, node: Node, self: Value, dim: int, index: Value, updates: str, reduce: str | None
) -> str:
    axis = dim % max(rank_of(self), 1)
    positions = _wrapped(g, self, axis, g.tensor(index, DType.I64))
    return g.op(
        "ScatterElements",
        g.tensor(self, out_dtype(node)),
        positions,
        updates,
        axis=axis,
        reduction=_reduction(g, reduce),
    )
