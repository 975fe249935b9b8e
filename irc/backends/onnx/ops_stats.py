"""Statistics and the layers built on them: var/std (and their `_mean` pairs), group norm, PReLU,
average pooling.

var and std divide by `N - correction`, N the number of elements reduced, computed from the
shapes at run time (any dim may be symbolic). Group norm is written out (mean and biased
variance per group, then a per-channel affine): ONNX's GroupNormalization changed the meaning of
its scale between opsets 18 and 21.
"""

from __future__ import annotations

from typing import Any

from irc.backends.onnx import ops_math  # the module, not its names: see ops_scatter.py
from irc.backends.onnx.builder import Builder, out_dtype, rank_of
from irc.backends.onnx.registry import lowering
from irc.errors import LoweringError
from irc.ir.core import Node, Value
from irc.ir.dtypes import DType

Arg = Any


def _moments(
    g: Builder, node: Node, self: Value, dim: Arg, correction: float, keepdim: bool
) -> tuple[str, str]:
    """(variance, mean) over `dim` (every axis when None or empty), dividing by N - correction."""
    dtype = out_dtype(node)
    x = g.tensor(self, dtype)
    axes = ops_math.axes_of(dim, rank_of(self)) if dim not in (None, []) else list(range(rank_of(self)))
    mean_kept = g.reduce("ReduceMean", x, axes, True)
    centered = g.op("Sub", x, mean_kept)
    total = g.reduce("ReduceSum", g.op("Mul", centered, centered), axes, keepdim)
    count = g.op("Div", g.op("Size", x), g.op("Size", mean_kept))
    divisor = g.op("Sub", g.cast(count, DType.I64, dtype), g.const(float(correction), dtype))
    variance = g.op("Div", total, divisor)
    mean = mean_kept if keepdim else g.reduce("ReduceMean", x, axes, False)
    return variance, mean


def _correction(unbiased: Arg = True, correction: Arg = None) -> float:
    if correction is not None:
        return float(correction)
    return 1.0 if unbiased else 0.0


@lowering("aten.var", "aten.var.dim", "aten.std", "aten.std.dim")
def var(g: Builder, node: Node, self: Value, *args: Arg, **kwargs: Arg) -> str:
    """var.dim(Tensor self, int[1]? dim, bool unbiased=True, bool keepdim=False) -> Tensor (also
    `var(Tensor self, bool unbiased=True)` and the std forms)"""
    dim, unbiased, keepdim = _dim_form(node, args, kwargs)
    variance, _ = _moments(g, node, self, dim, _correction(unbiased), keepdim)
    return g.op("Sqrt", variance) if node.op.startswith("aten.std") else variance


@lowering("aten.var.correction", "aten.std.correction")
def var_correction(
    g: Builder, node: Node, self: Value, dim: Arg = None, *, correction: Arg = None, keepdim: bool = False
) -> str:
    """var.correction(Tensor self, int[1]? dim=None, *, Scalar? correction=None, bool keepdim=False) -> Tensor"""
    variance, _ = _moments(g, node, self, dim, _correction(True, correction), keepdim)
    return g.op("Sqrt", variance) if node.op.startswith("aten.std") else variance


@lowering("aten.var_mean", "aten.var_mean.dim", "aten.std_mean", "aten.std_mean.dim")
def var_mean(g: Builder, node: Node, self: Value, *args: Arg, **kwargs: Arg) -> list[str]:
    """var_mean.dim(Tensor self, int[1]? dim, bool unbiased=True, bool keepdim=False) -> (Tensor, Tensor)"""
    dim, unbiased, keepdim = _dim_form(node, args, kwargs)
    variance, mean = _moments(g, node, self, dim, _correction(unbiased), keepdim)
    return [g.op("Sqrt", variance) if node.op.startswith("aten.std") else variance, mean]


@lowering("aten.var_mean.correction", "aten.std_mean.correction")
def var_mean_correction(
    g: Builder, node: Node, self: Value, dim: Arg = None, *, correction: Arg = None, keepdim: bool = False
) -> list[str]:
    """var_mean.correction(Tensor self, int[1]? dim=None, *, Scalar? correction=None, bool keepdim=False)
    -> (Tensor, Tensor)"""
    variance, mean = _moments(g, node, self, dim, _correction(True, correction), keepdim)
    return [g.op("Sqrt", variance) if node.op.startswith("aten.std") else variance, mean]


def _dim_form(node: Node, args: tuple[Arg, ...], kwargs: dict[str, Arg]) -> tuple[Arg, Arg, bool]:
    """(dim, unbiased, keepdim) of the `default` (unbiased only) and `dim` overloads."""
    if not node.op.endswith(".dim"):
        unbiased = args[0] if args else kwargs.get("unbiased", True)
        return None, unbiased, False
    names = ("dim", "unbiased", "keepdim")
    bound = dict(zip(names, args, strict=False)) | kwargs
    return bound.get("dim"), bound.get("unbiased", True), bool(bound.get("keepdim", False))


@lowering("aten.group_norm")
def group_norm(
    g: Builder,
    node: Node,
    input: Value,
    num_groups: int,
    weight: Value | None = None,
    bias: Value | None = None,
    eps: float = 1e-05,
    cudnn_enabled: bool = True,
) -> str:
    """group_norm(Tensor input, int num_groups, Tensor? weight=None, Tensor? bias=None, float eps=1e-05,
    bool cudnn_enabled=True) -> Tensor"""
    return _group_norm(g, node, input, num_groups, weight, bias, eps)[0]


@lowering("aten.native_group_norm")
def native_group_norm(
    g: Builder,
    node: Node,
    input: Value,
    weight: Value | None,
    bias: Value | None,
    N: Arg,
    C: Arg,
    HxW: Arg,
    group: int,
    eps: float,
) -> list[str]:
    """native_group_norm(Tensor input, Tensor? weight, Tensor? bias, SymInt N, SymInt C, SymInt HxW,
    int group, float eps) -> (Tensor, Tensor, Tensor): y, mean and 1/std per (sample, group)."""
    return _group_norm(g, node, input, group, weight, bias, eps)


def _group_norm(
    g: Builder, node: Node, input: Value, groups: int, weight: Value | None, bias: Value | None, eps: float
) -> list[str]:
    dtype = out_dtype(node)
    rank = rank_of(input)
    if rank < 2:
        raise LoweringError(f"group_norm takes an input of rank >= 2 (batch, channels, ...), not {rank}")
    x = g.tensor(input, dtype)
    grouped = g.op(
        "Reshape", x, g.op("Concat", g.shape(input, 0, 1), g.const([groups, -1], DType.I64), axis=0)
    )
    mean = g.reduce("ReduceMean", grouped, [2], True)
    centered = g.op("Sub", grouped, mean)
    variance = g.reduce("ReduceMean", g.op("Mul", centered, centered), [2], True)
    invstd = g.op("Reciprocal", g.op("Sqrt", g.op("Add", variance, g.const(float(eps), dtype))))
    y = g.op("Reshape", g.op("Mul", centered, invstd), g.shape(input))
    channel_shape = g.const([-1] + [1] * (rank - 2), DType.I64)
    if weight is not None:
        y = g.op("Mul", y, g.op("Reshape", g.tensor(weight, dtype), channel_shape))
    if bias is not None:
        y = g.op("Add", y, g.op("Reshape", g.tensor(bias, dtype), channel_shape))
    flat = g.const([0, groups], DType.I64)
    return [y, g.op("Reshape", mean, flat), g.op("Reshape", invstd, flat)]


@lowering("aten.prelu", "aten._prelu_kernel")
def prelu(g: Builder, node: Node, self: Value, weight: Value) -> str:
    """prelu(Tensor self, Tensor weight) -> Tensor: x where x >= 0, weight * x elsewhere; a
    per-channel weight runs along axis 1 (axis 0 of a 1-D input)."""
    dtype = out_dtype(node)
    x = g.tensor(self, dtype)
    slope = g.tensor(weight, dtype)
    rank = rank_of(self)
    if rank_of(weight) == 1 and rank >= 2:
        slope = g.op("Reshape", slope, g.const([-1] + [1] * (rank - 2), DType.I64))
    negative = g.op("Mul", x, slope)
    return g.op("Where", g.op("GreaterOrEqual", x, g.const(0, dtype)), x, negative)


@lowering("aten.avg_pool1d", "aten.avg_pool2d")
def avg_pool(
    g: Builder,
    node: Node,
    self: Value,
    kernel_size: list[int],
    stride: Arg = (),
    padding: Arg = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: Arg = None,
) -> str:
    """avg_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0, bool
    ceil_mode=False, bool count_include_pad=True, int? divisor_override=None) -> Tensor"""
    if divisor_override is not None:
        raise LoweringError("avg_pool with divisor_override has no ONNX AveragePool form")
    if ceil_mode:
        # ORT and torch disagree on a last window that starts inside the right padding.
        raise LoweringError("avg_pool with ceil_mode=True is not lowered to ONNX; use ceil_mode=False")
    spatial = 1 if node.op.endswith("1d") else 2
    kernel = _per_axis(kernel_size, spatial)
    strides = _per_axis(stride, spatial) if stride not in ((), [], None) else kernel
    pads = _per_axis(padding, spatial)
    return g.op(
        "AveragePool",
        g.tensor(self),
        kernel_shape=kernel,
        strides=strides,
        pads=pads + pads,
        count_include_pad=int(count_include_pad),
    )


def _per_axis(value: Arg, count: int) -> list[int]:
    items = [value] if isinstance(value, int) else list(value)
    return [int(items[0])] * count if len(items) == 1 else [int(v) for v in items]
