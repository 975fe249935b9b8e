"""Ops that speech encoders (wav2vec2 and its kin) bring: the weight-normalized positional
convolution, the flip that turns a padding mask into per-frame lengths, and the conformer's
gated linear unit.

flip is a Slice running backwards (step -1 from the last element past the first); ONNX has no
Flip op. `_weight_norm(v, g, dim)` is `v * g / ||v||`, the norm taken over every axis but
`dim` (over all axes when `dim` is -1, as in torch).
"""

from __future__ import annotations

from typing import Any

from irc.backends.onnx.builder import Builder, dtype_of, out_dtype, rank_of
from irc.backends.onnx.registry import lowering
from irc.ir.core import Node, Value
from irc.ir.dtypes import DType

Arg = Any
_INT64_MIN = -(2**63)


@lowering("aten.flip")
def flip(g: Builder, node: Node, self: Value, dims: Arg) -> str:
    """flip(Tensor self, int[] dims) -> Tensor"""
    if not dims:
        return g.tensor(self)
    rank = max(rank_of(self), 1)
    axes = [d % rank for d in dims]
    count = len(axes)
    starts = g.const([-1] * count, DType.I64)
    ends = g.const([_INT64_MIN] * count, DType.I64)
    steps = g.const([-1] * count, DType.I64)
    return g.op("Slice", g.tensor(self), starts, ends, g.const(axes, DType.I64), steps)


@lowering("aten._weight_norm")
def weight_norm(g: Builder, node: Node, v: Value, g_: Value, dim: int = 0) -> str:
    """_weight_norm(Tensor v, Tensor g, int dim=0) -> Tensor"""
    dtype = out_dtype(node)
    rank = rank_of(v)
    axes = list(range(rank)) if dim == -1 else [a for a in range(rank) if a != dim % rank]
    direction = g.tensor(v, dtype)
    norm = g.reduce("ReduceL2", direction, axes, True)
    return g.op("Mul", direction, g.op("Div", g.tensor(g_, dtype), norm))


@lowering("aten.glu")
def glu(g: Builder, node: Node, self: Value, dim: int = -1) -> str:
    """glu(Tensor self, int dim=-1) -> Tensor"""
    axis = dim % rank_of(self)
    # Split halves the axis when given no sizes; opset 18 wants the count as an attribute.
    count = {"num_outputs": 2} if g.opset >= 18 else {}
    first, second = g.ops("Split", [g.tensor(self)], 2, axis=axis, **count)
    return g.op("Mul", first, g.op("Sigmoid", second))


@lowering("aten.all.dim", "aten.all.dims", "aten.all", "aten.any.dim", "aten.any.dims", "aten.any")
def all_any(g: Builder, node: Node, self: Value, dim: Arg = None, keepdim: bool = False) -> str:
    """all.dim(Tensor self, int dim, bool keepdim=False) -> Tensor (and any, and their int[]? dim
    and whole-tensor forms). A conformer's attention finds its fully masked rows with all();
    ONNX reduces no bool, so the test is a ReduceMin (all) or ReduceMax (any) of 0/1 ints."""
    x = g.tensor(self)
    if dtype_of(self) != DType.BOOL:
        x = g.op("Not", g.op("Equal", x, g.const(0, dtype_of(self))))
    rank = max(rank_of(self), 1)
    dims = [dim] if isinstance(dim, int) else list(dim or [])
    axes = [d % rank for d in dims] or None
    kind = "ReduceMin" if node.op.startswith("aten.all") else "ReduceMax"
    reduced = g.reduce(kind, g.cast(x, DType.BOOL, DType.I32), axes, keepdim)
    return g.cast(reduced, DType.I32, DType.BOOL)
