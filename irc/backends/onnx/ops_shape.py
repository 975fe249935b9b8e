"""Views, slices, joins, splits and indexing.

Size lists mix ints and symbolic scalars (`[-1, %seq]`); `g.ints` turns them into one int64
tensor. Reshape uses `allowzero=1` so that a size that is 0 at run time (an empty past) means 0,
as in torch, not "copy the input dim".
"""

from __future__ import annotations

from typing import Any

from irc.backends.onnx.builder import INT64_MAX, Builder, dtype_of, out_dtype, rank_of
from irc.backends.onnx.registry import lowering
from irc.errors import LoweringError
from irc.ir.core import Node, Value
from irc.ir.dtypes import DType

Arg = Any


@lowering("aten.view", "aten.reshape", "aten._unsafe_view")
def view(g: Builder, node: Node, self: Value, size: Arg) -> str:
    """view(Tensor(a) self, SymInt[] size) -> Tensor(a)"""
    return g.op("Reshape", g.tensor(self), g.ints(size), allowzero=1)


@lowering("aten.expand")
def expand(g: Builder, node: Node, self: Value, size: Arg, *, implicit: bool = False) -> str:
    """expand(Tensor(a) self, SymInt[] size, *, bool implicit=False) -> Tensor(a)"""
    # -1 keeps the input's size; ONNX Expand broadcasts both ways, so a 1 does the same.
    sizes = [1 if isinstance(s, int) and s == -1 else s for s in size]
    return g.op("Expand", g.tensor(self), g.ints(sizes))


@lowering("aten.expand_as")
def expand_as(g: Builder, node: Node, self: Value, other: Value) -> str:
    """expand_as(Tensor(a) self, Tensor other) -> Tensor(a)"""
    return g.op("Expand", g.tensor(self), g.shape(other))


@lowering("aten.flatten.using_ints")
def flatten(g: Builder, node: Node, self: Value, start_dim: int = 0, end_dim: int = -1) -> str:
    """flatten.using_ints(Tensor(a) self, int start_dim=0, int end_dim=-1) -> Tensor(a)"""
    rank = rank_of(self)
    if rank == 0:
        return g.op("Reshape", g.tensor(self), g.const([1], DType.I64))
    start, end = start_dim % rank, end_dim % rank
    pieces = [g.shape(self, 0, start), g.const([-1], DType.I64), g.shape(self, end + 1, rank)]
    return g.op("Reshape", g.tensor(self), g.op("Concat", *pieces, axis=0))


@lowering("aten.slice.Tensor")
def slice_(
    g: Builder, node: Node, self: Value, dim: int = 0, start: Arg = None, end: Arg = None, step: Arg = 1
) -> str:
    """slice.Tensor(Tensor(a) self, int dim=0, SymInt? start=None, SymInt? end=None, SymInt step=1) -> Tensor(a)"""
    start = 0 if start is None else start
    end = INT64_MAX if end is None else end
    if start == 0 and step == 1 and isinstance(end, int) and end >= INT64_MAX:
        return g.tensor(self)
    axes = g.const([dim], DType.I64)
    return g.op("Slice", g.tensor(self), g.ints([start]), g.ints([end]), axes, g.ints([step]))


@lowering("aten.select.int")
def select(g: Builder, node: Node, self: Value, dim: int, index: Arg) -> str:
    """select.int(Tensor(a) self, int dim, SymInt index) -> Tensor(a)"""
    return g.op("Gather", g.tensor(self), g.tensor(index, DType.I64), axis=dim % rank_of(self))


def _scatter_along(g: Builder, self: Value, src: str, src_shape: str, dim: int, index: str) -> str:
    """`self` with `src` written at positions `index` (1-D int64) along `dim`."""
    rank = rank_of(self)
    bcast = [1] * rank
    bcast[dim] = -1
    indices = g.op("Expand", g.op("Reshape", index, g.const(bcast, DType.I64)), src_shape)
    return g.op("ScatterElements", g.tensor(self), indices, src, axis=dim)


@lowering("aten.slice_scatter")
def slice_scatter(
    g: Builder,
    node: Node,
    self: Value,
    src: Value,
    dim: int = 0,
    start: Arg = None,
    end: Arg = None,
    step: Arg = 1,
) -> str:
    """slice_scatter(Tensor self, Tensor src, int dim=0, SymInt? start=None, SymInt? end=None,
    SymInt step=1) -> Tensor"""
    dim = dim % rank_of(self)
    start = 0 if start is None else start
    end = INT64_MAX if end is None else end
    # Slicing arange(size) the way torch slices self gives the written positions exactly.
    positions = g.op("Range", g.const(0, DType.I64), g.dim(self, dim), g.const(1, DType.I64))
    axes = g.const([0], DType.I64)
    index = g.op("Slice", positions, g.ints([start]), g.ints([end]), axes, g.ints([step]))
    updates = g.tensor(src, dtype_of(self))
    return _scatter_along(g, self, updates, g.shape(src), dim, index)


@lowering("aten.select_scatter")
def select_scatter(g: Builder, node: Node, self: Value, src: Value, dim: int, index: Arg) -> str:
    """select_scatter(Tensor self, Tensor src, int dim, SymInt index) -> Tensor"""
    dim = dim % rank_of(self)
    at = g.op("Mod", g.ints([index]), g.dim(self, dim), fmod=0)  # a negative index counts from the end
    axis = g.const([dim], DType.I64)
    updates = g.op("Unsqueeze", g.tensor(src, dtype_of(self)), axis)
    return _scatter_along(g, self, updates, g.op("Shape", updates), dim, at)


@lowering("aten.squeeze.dim", "aten.squeeze.dims", "aten.squeeze")
def squeeze(g: Builder, node: Node, self: Value, dim: Arg = None) -> str:
    """squeeze.dims(Tensor(a) self, int[] dim) -> Tensor(a); only size-1 axes go (others stay)."""
    shape = self.tensor_type.shape
    rank = len(shape)
    wanted = (
        range(rank) if dim is None else [d % max(rank, 1) for d in ([dim] if isinstance(dim, int) else dim)]
    )
    axes = sorted({d for d in wanted if d < rank and shape[d] == 1})
    if len(axes) != rank - node.output.tensor_type.rank:
        raise LoweringError("cannot tell which axes are 1 (a squeezed axis has a symbolic size)")
    if not axes:
        return g.tensor(self)
    return g.op("Squeeze", g.tensor(self), g.const(axes, DType.I64))


@lowering("aten.unsqueeze")
def unsqueeze(g: Builder, node: Node, self: Value, dim: int) -> str:
    """unsqueeze(Tensor(a) self, int dim) -> Tensor(a)"""
    return g.op("Unsqueeze", g.tensor(self), g.const([dim % (rank_of(self) + 1)], DType.I64))


@lowering("aten.transpose.int")
def transpose(g: Builder, node: Node, self: Value, dim0: int, dim1: int) -> str:
    """transpose.int(Tensor(a) self, int dim0, int dim1) -> Tensor(a)"""
    rank = rank_of(self)
    if rank < 2:
        return g.tensor(self)
    perm = list(range(rank))
    a, b = dim0 % rank, dim1 % rank
    perm[a], perm[b] = perm[b], perm[a]
    return g.op("Transpose", g.tensor(self), perm=perm)


@lowering("aten.t")
def t(g: Builder, node: Node, self: Value) -> str:
    """t(Tensor(a) self) -> Tensor(a)"""
    return transpose(g, node, self, 0, 1)


@lowering("aten.permute")
def permute(g: Builder, node: Node, self: Value, dims: list[int]) -> str:
    """permute(Tensor(a) self, int[] dims) -> Tensor(a)"""
    rank = rank_of(self)
    return g.op("Transpose", g.tensor(self), perm=[d % rank for d in dims])


@lowering("aten.cat")
def cat(g: Builder, node: Node, tensors: list[Value], dim: int = 0) -> str:
    """cat(Tensor[] tensors, int dim=0) -> Tensor (a 1-D empty tensor is skipped, as torch's legacy
    rule does: XLM's empty key cache)"""
    dtype = out_dtype(node)
    rank = node.output.tensor_type.rank
    kept = [t for t in tensors if rank == 1 or t.tensor_type.shape != (0,)] or tensors[:1]
    return g.op("Concat", *[g.tensor(t, dtype) for t in kept], axis=dim % rank)


@lowering("aten.stack")
def stack(g: Builder, node: Node, tensors: list[Value], dim: int = 0) -> str:
    """stack(Tensor[] tensors, int dim=0) -> Tensor"""
    dtype = out_dtype(node)
    axis = g.const([dim % node.output.tensor_type.rank], DType.I64)
    pieces = [g.op("Unsqueeze", g.tensor(t, dtype), axis) for t in tensors]
    return g.op("Concat", *pieces, axis=dim % node.output.tensor_type.rank)


def _split(g: Builder, node: Node, self: Value, sizes: str, axis: int) -> list[str]:
    return g.ops("Split", [g.tensor(self), sizes], len(node.outputs), axis=axis)


@lowering("aten.split.Tensor")
def split(g: Builder, node: Node, self: Value, split_size: int, dim: int = 0) -> list[str]:
    """split.Tensor(Tensor(a -> *) self, SymInt split_size, int dim=0) -> Tensor(a)[]"""
    axis = dim % rank_of(self)
    count = len(node.outputs)
    if count == 1:
        return [g.tensor(self)]
    total = self.tensor_type.shape[axis]
    head = [split_size] * (count - 1)
    if isinstance(total, int):
        return _split(g, node, self, g.const([*head, total - split_size * (count - 1)], DType.I64), axis)
    rest = g.op("Sub", g.dim(self, axis), g.const(split_size * (count - 1), DType.I64))
    last = g.op("Reshape", rest, g.const([-1], DType.I64))
    return _split(g, node, self, g.op("Concat", g.const(head, DType.I64), last, axis=0), axis)


@lowering("aten.split_with_sizes")
def split_with_sizes(g: Builder, node: Node, self: Value, split_sizes: Arg, dim: int = 0) -> list[str]:
    """split_with_sizes(Tensor(a -> *) self, SymInt[] split_sizes, int dim=0) -> Tensor(a)[]"""
    return _split(g, node, self, g.ints(split_sizes), dim % rank_of(self))


@lowering("aten.unbind.int")
def unbind(g: Builder, node: Node, self: Value, dim: int = 0) -> list[str]:
    """unbind.int(Tensor(a -> *) self, int dim=0) -> Tensor(a)[]"""
    axis = dim % rank_of(self)
    parts = _split(g, node, self, g.const([1] * len(node.outputs), DType.I64), axis)
    return [g.op("Squeeze", part, g.const([axis], DType.I64)) for part in parts]


@lowering("aten.gather")
def gather(g: Builder, node: Node, self: Value, dim: int, index: Value, *, sparse_grad: bool = False) -> str:
    """gather(Tensor self, int dim, Tensor index, *, bool sparse_grad=False) -> Tensor"""
    return g.op(
        "GatherElements", g.tensor(self), g.tensor(index, DType.I64), axis=dim % max(rank_of(self), 1)
    )


@lowering("aten.index_select")
def index_select(g: Builder, node: Node, self: Value, dim: int, index: Value) -> str:
    """index_select(Tensor self, int dim, Tensor index) -> Tensor"""
    return g.op("Gather", g.tensor(self), g.tensor(index, DType.I64), axis=dim % max(rank_of(self), 1))


@lowering("aten.repeat")
def repeat(g: Builder, node: Node, self: Value, repeats: Arg) -> str:
    """repeat(Tensor self, SymInt[] repeats) -> Tensor"""
    x = g.tensor(self)
    extra = len(repeats) - rank_of(self)
    if extra > 0:
        x = g.op("Unsqueeze", x, g.const(list(range(extra)), DType.I64))
    return g.op("Tile", x, g.ints(repeats))


@lowering("aten.tril", "aten.triu")
def tril(g: Builder, node: Node, self: Value, diagonal: Arg = 0) -> str:
    """tril(Tensor self, int diagonal=0) -> Tensor"""
    upper = int(node.op == "aten.triu")
    return g.op("Trilu", g.tensor(self), g.tensor(diagonal, DType.I64), upper=upper)


@lowering("aten.index.Tensor")
def index(g: Builder, node: Node, self: Value, indices: list[Value | None]) -> str:
    """index.Tensor(Tensor self, Tensor?[] indices) -> Tensor

    Advanced indexing: the index tensors broadcast together to a shape B; if the indexed axes
    are adjacent, B replaces them in place, else B goes first (numpy's rule, which torch follows).
    A bool index stands for the int indices of its True elements (`NonZero`).
    """
    rank = rank_of(self)
    entries = int_indices(g, indices)
    axes = [axis for axis, _, _ in entries]
    if len(entries) == 1:
        return g.op("Gather", g.tensor(self), entries[0][1], axis=axes[0])
    rest = [a for a in range(rank) if a not in axes]
    x = g.tensor(self)
    if axes + rest != list(range(rank)):
        x = g.op("Transpose", x, perm=axes + rest)
    stacked = broadcast_stack(g, [name for _, name, _ in entries])
    result = g.op("GatherND", x, stacked)
    batch_rank = max(r for _, _, r in entries)
    first = axes[0]
    if axes != list(range(first, first + len(axes))) or first == 0:
        return result
    perm = [batch_rank + j for j in range(first)] + list(range(batch_rank))
    perm += [batch_rank + j for j in range(first, len(rest))]
    return g.op("Transpose", result, perm=perm)


def int_indices(g: Builder, indices: list[Value | None]) -> list[tuple[int, str, int]]:
    """(axis, int64 index name, index rank) for each indexed axis, in axis order."""
    entries: list[tuple[int, str, int]] = []
    axis = 0
    for idx in indices:
        if idx is None:
            axis += 1
            continue
        if dtype_of(idx) is not DType.BOOL:
            entries.append((axis, g.tensor(idx, DType.I64), rank_of(idx)))
            axis += 1
            continue
        coords = g.op("NonZero", g.tensor(idx))
        for j in range(rank_of(idx)):
            row = g.op("Gather", coords, g.const(j, DType.I64), axis=0)
            entries.append((axis + j, row, 1))
        axis += rank_of(idx)
    if not entries:
        raise LoweringError("index.Tensor with no index tensor")
    return entries


def broadcast_stack(g: Builder, names: list[str]) -> str:
    """The index tensors broadcast together and stacked on a new last axis (GatherND's form)."""
    total = names[0]
    for name in names[1:]:
        total = g.op("Add", total, name)
    shape = g.op("Shape", total)
    last = g.const([-1], DType.I64)
    pieces = [g.op("Unsqueeze", g.op("Expand", name, shape), last) for name in names]
    return g.op("Concat", *pieces, axis=-1)


@lowering("aten.chunk")
def chunk(g: Builder, node: Node, self: Value, chunks: int, dim: int = 0) -> list[str]:
    """chunk(Tensor(a -> *) self, int chunks, int dim=0) -> Tensor(a)[]

    Pieces of ceil(size / chunks), the last one smaller; there may be fewer than `chunks`."""
    axis = dim % rank_of(self)
    count = len(node.outputs)
    if count == 1:
        return [g.tensor(self)]
    total = self.tensor_type.shape[axis]
    if isinstance(total, int):
        piece = -(-total // chunks)
        sizes = g.const([piece] * (count - 1) + [total - piece * (count - 1)], DType.I64)
        return _split(g, node, self, sizes, axis)
    size = g.dim(self, axis)
    piece = g.op("Div", g.op("Add", size, g.const(chunks - 1, DType.I64)), g.const(chunks, DType.I64))
    last = g.op("Sub", size, g.op("Mul", piece, g.const(count - 1, DType.I64)))
    pieces = [piece] * (count - 1) + [last]
    sizes = g.op("Concat", *[g.op("Reshape", p, g.const([1], DType.I64)) for p in pieces], axis=0)
    return _split(g, node, self, sizes, axis)


@lowering("aten.reshape_as", "aten.view_as")
def reshape_as(g: Builder, node: Node, self: Value, other: Value) -> str:
    """reshape_as(Tensor(a) self, Tensor other) -> Tensor(a)"""
    return g.op("Reshape", g.tensor(self), g.shape(other), allowzero=1)


@lowering("aten.numpy_T")
def numpy_t(g: Builder, node: Node, self: Value) -> str:
    """numpy_T(Tensor(a) self) -> Tensor(a): all axes reversed (`.T`)"""
    rank = rank_of(self)
    if rank < 2:
        return g.tensor(self)
    return g.op("Transpose", g.tensor(self), perm=list(reversed(range(rank))))


def _repeat_each(g: Builder, self: Value, repeats: str, dim: int | None) -> str:
    """Every slice along `dim` (of the flattened input when None) `repeats` times in a row."""
    x = g.tensor(self)
    shape = self.tensor_type.shape
    if dim is None:
        x = g.op("Reshape", x, g.const([-1], DType.I64))
        before, size, after = g.const([], DType.I64), g.op("Size", g.tensor(self)), g.const([], DType.I64)
        rank, axis = 1, 0
    else:
        rank = len(shape)
        axis = dim % rank
        before, size, after = g.shape(self, 0, axis), g.dim(self, axis), g.shape(self, axis + 1, rank)
    spread = g.op("Unsqueeze", x, g.const([axis + 1], DType.I64))
    ones = g.const([1], DType.I64)
    tile = g.op("Concat", *([ones] * (axis + 1)), repeats, *([ones] * (rank - axis - 1)), axis=0)
    grown = g.op("Mul", g.op("Reshape", size, ones), repeats)
    target = g.op("Concat", before, grown, after, axis=0)
    return g.op("Reshape", g.op("Expand", spread, tile), target, allowzero=1)


@lowering("aten.repeat_interleave.self_int")
def repeat_interleave_int(
    g: Builder, node: Node, self: Value, repeats: Arg, dim: int | None = None, *, output_size: Arg = None
) -> str:
    """repeat_interleave.self_int(Tensor self, SymInt repeats, int? dim=None, *,
    SymInt? output_size=None) -> Tensor"""
    return _repeat_each(g, self, g.ints([repeats]), dim)


def _repeat_indices(g: Builder, repeats: str) -> str:
    """repeat_interleave of a 1-D count tensor: output j holds #{i : cumsum(repeats)[i] <= j}."""
    ends = g.op("CumSum", repeats, g.const(0, DType.I64))
    total = g.op("ReduceSum", repeats, keepdims=0)
    positions = g.op("Range", g.const(0, DType.I64), total, g.const(1, DType.I64))
    column = g.op("Unsqueeze", positions, g.const([1], DType.I64))
    passed = g.cast(g.op("LessOrEqual", ends, column), DType.BOOL, DType.I64)
    return g.op("ReduceSum", passed, g.const([1], DType.I64), keepdims=0)


@lowering("aten.repeat_interleave.Tensor")
def repeat_interleave_tensor(g: Builder, node: Node, repeats: Value, *, output_size: Arg = None) -> str:
    """repeat_interleave.Tensor(Tensor repeats, *, SymInt? output_size=None) -> Tensor"""
    return _repeat_indices(g, g.tensor(repeats, DType.I64))


@lowering("aten.repeat_interleave.self_Tensor")
def repeat_interleave_self_tensor(
    g: Builder, node: Node, self: Value, repeats: Value, dim: int | None = None, *, output_size: Arg = None
) -> str:
    """repeat_interleave.self_Tensor(Tensor self, Tensor repeats, int? dim=None, *,
    SymInt? output_size=None) -> Tensor (a one-element `repeats` repeats every slice)"""
    counts = g.op("Reshape", g.tensor(repeats, DType.I64), g.const([-1], DType.I64))
    if repeats.tensor_type.shape in ((), (1,)):
        return _repeat_each(g, self, counts, dim)
    x = g.tensor(self)
    if dim is None:
        x, dim = g.op("Reshape", x, g.const([-1], DType.I64)), 0
    return g.op("Gather", x, _repeat_indices(g, counts), axis=dim % max(rank_of(self), 1))
