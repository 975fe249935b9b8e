"""Padding and upsampling (`F.pad`, `F.interpolate`).

torch's pad list runs from the last axis backwards, (begin, end) per axis; ONNX Pad wants every
axis's begin, then every axis's end. Upsampling by `linear`/`cubic` is ONNX Resize with torch's
coordinate rule and cubic coefficient (-0.75); `nearest` gathers the rows torch's index formula
picks, computed in float32 as torch computes it, since Resize rounds the other way on some sizes.
"""

from __future__ import annotations

from typing import Any

from irc.backends.emitters import PADS
from irc.backends.onnx.builder import INT64_MAX, Builder, out_dtype, rank_of
from irc.backends.onnx.registry import lowering
from irc.errors import LoweringError
from irc.ir.core import Node, Value
from irc.ir.dtypes import DType
from irc.ir.ops import schema_arg_names

Arg = Any


# -- padding ------------------------------------------------------------------------------------
_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}


def pad(g: Builder, node: Node, self: Value, pads: Arg, mode: str, value: Arg = None) -> str:
    rank = rank_of(self)
    if len(pads) % 2 or len(pads) // 2 > rank:
        raise LoweringError(f"pad list {pads!r} does not fit a rank-{rank} tensor")
    begins: list[Arg] = [0] * rank
    ends: list[Arg] = [0] * rank
    for i in range(len(pads) // 2):
        begins[rank - 1 - i], ends[rank - 1 - i] = pads[2 * i], pads[2 * i + 1]
    x = g.tensor(self)
    if mode == "circular":
        return _circular(g, x, begins, ends)
    if mode not in _PAD_MODES:
        raise LoweringError(f"pad mode {mode!r} is not supported (constant, reflect, replicate, circular)")
    fill = None
    if mode == "constant":
        dtype = out_dtype(node)
        fill = g.tensor(0 if value is None else value, dtype)
    return g.op("Pad", x, g.ints(begins + ends), fill, mode=_PAD_MODES[mode])


def _circular(g: Builder, x: str, begins: list[Arg], ends: list[Arg]) -> str:
    """Wrap-around padding: the last `begin` rows go first and the first `end` rows go last."""
    for axis, (begin, end) in enumerate(zip(begins, ends, strict=True)):
        if not all(isinstance(p, int) and p >= 0 for p in (begin, end)):
            raise LoweringError("circular padding needs non-negative int pads")
        if not begin and not end:
            continue
        axes = g.const([axis], DType.I64)
        pieces = [x]
        if begin:
            start, stop = g.const([-begin], DType.I64), g.const([INT64_MAX], DType.I64)
            pieces.insert(0, g.op("Slice", x, start, stop, axes))
        if end:
            pieces.append(g.op("Slice", x, g.const([0], DType.I64), g.const([end], DType.I64), axes))
        x = g.op("Concat", *pieces, axis=axis)
    return x


@lowering("aten.pad")
def pad_(g: Builder, node: Node, self: Value, pad_: Arg, mode: str = "constant", value: Arg = None) -> str:
    """pad(Tensor self, SymInt[] pad, str mode="constant", float? value=None) -> Tensor"""
    return pad(g, node, self, pad_, mode, value)


@lowering("aten.constant_pad_nd")
def constant_pad_nd(g: Builder, node: Node, self: Value, pad_: Arg, value: Arg = 0) -> str:
    """constant_pad_nd(Tensor self, SymInt[] pad, Scalar value=0) -> Tensor"""
    return pad(g, node, self, pad_, "constant", value)


@lowering(*PADS)
def reflection_pad(g: Builder, node: Node, self: Value, padding: Arg) -> str:
    """reflection_pad2d(Tensor self, SymInt[4] padding) -> Tensor"""
    return pad(g, node, self, padding, "reflect" if "reflection" in node.op else "replicate")


# -- upsampling ---------------------------------------------------------------------------------
def _spatial(node: Node, input: Value) -> int:
    return rank_of(input) - 2


def resize(
    g: Builder,
    node: Node,
    input: Value,
    output_size: Arg,
    scales: list[float] | None,
    mode: str,
    align_corners: bool = False,
) -> str:
    """Linear or cubic Resize of the spatial axes (all but the first two) to `output_size`, or by
    `scales` when torch computes the source coordinates from the scales."""
    x = g.tensor(input)
    if scales is not None:
        return g.op(
            "Resize",
            x,
            None,
            g.const([1.0, 1.0, *map(float, scales)], DType.F32),
            **_resize_attrs(mode, align_corners),
        )
    sizes = g.op("Concat", g.shape(input, 0, 2), g.ints(list(output_size)), axis=0)
    return g.op("Resize", x, None, None, sizes, **_resize_attrs(mode, align_corners))


def _resize_attrs(mode: str, align_corners: bool) -> dict[str, Any]:
    attrs: dict[str, Any] = dict(
        mode=mode, coordinate_transformation_mode="align_corners" if align_corners else "half_pixel"
    )
    if mode == "cubic":
        attrs.update(cubic_coeff_a=-0.75, exclude_outside=0)
    return attrs


def _scales_or_sizes(
    node: Node, input: Value, output_size: Arg, scales: list[Arg] | None
) -> tuple[Arg, list[float] | None]:
    """(output size, scales to map coordinates with): torch maps with 1/scale when given, else with
    in/out, so the scales go to Resize only when every axis has one."""
    k = _spatial(node, input)
    given = scales is not None and all(s is not None for s in scales) and len(scales) == k
    if given:
        return None, [float(s) for s in scales]  # type: ignore[union-attr]
    if output_size is None:
        raise LoweringError("upsampling needs an output size or a scale for every axis")
    if len(output_size) != k:
        raise LoweringError(f"expected {k} output sizes, got {output_size!r}")
    return output_size, None


@lowering(
    "aten.upsample_linear1d.vec",
    "aten.upsample_bilinear2d.vec",
    "aten.upsample_trilinear3d.vec",
    "aten.upsample_bicubic2d.vec",
)
def upsample_linear_vec(
    g: Builder, node: Node, input: Value, output_size: Arg, align_corners: bool, scale_factors: Arg
) -> str:
    """upsample_bilinear2d.vec(Tensor input, SymInt[]? output_size, bool align_corners,
    float[]? scale_factors) -> Tensor (upsample_bicubic2d.vec's schema is the same)"""
    size, scales = _scales_or_sizes(node, input, output_size, scale_factors)
    mode = "cubic" if "bicubic" in node.op else "linear"
    return resize(g, node, input, size, scales, mode, align_corners)


@lowering("aten.upsample_linear1d", "aten.upsample_bilinear2d", "aten.upsample_trilinear3d")
def upsample_linear(
    g: Builder, node: Node, self: Value, output_size: Arg, align_corners: bool, *args: Arg, **kwargs: Arg
) -> str:
    """upsample_bilinear2d(Tensor self, SymInt[2] output_size, bool align_corners,
    float? scales_h=None, float? scales_w=None) -> Tensor"""
    size, factors = _scales_or_sizes(node, self, output_size, scale_args(node, 3, args, kwargs))
    return resize(g, node, self, size, factors, "linear", align_corners)


@lowering("aten.upsample_bicubic2d")
def upsample_bicubic(
    g: Builder, node: Node, self: Value, output_size: Arg, align_corners: bool, *args: Arg, **kwargs: Arg
) -> str:
    """upsample_bicubic2d(Tensor self, SymInt[2] output_size, bool align_corners, float? scales_h=None,
    float? scales_w=None) -> Tensor"""
    size, factors = _scales_or_sizes(node, self, output_size, scale_args(node, 3, args, kwargs))
    return resize(g, node, self, size, factors, "cubic", align_corners)


def nearest(g: Builder, node: Node, input: Value, output_size: Arg, scales: list[Arg] | None) -> str:
    """torch's nearest (nearest-exact for the `_exact` ops) as one Gather per spatial axis."""
    exact = "exact" in node.op
    k = _spatial(node, input)
    rank = rank_of(input)
    factors = list(scales) if scales is not None else [None] * k
    if output_size is None and any(f is None for f in factors):
        raise LoweringError("upsampling needs an output size or a scale for every axis")
    x = g.tensor(input)
    for i in range(k):
        axis = rank - k + i
        size = g.dim(input, axis)
        if output_size is not None:
            out = g.tensor(output_size[i], DType.I64)
        else:  # torch: floor(size * scale), in double
            scaled = g.op("Mul", g.cast(size, DType.I64, DType.F64), g.const(float(factors[i]), DType.F64))
            out = g.cast(g.op("Floor", scaled), DType.F64, DType.I64)
        x = g.op("Gather", x, _nearest_index(g, size, out, factors[i], exact), axis=axis)
    return x


def scale_args(node: Node, first: int, args: tuple[Arg, ...], kwargs: dict[str, Arg]) -> list[Arg] | None:
    """The `scales*` arguments of an upsample op, in schema order: `args` are the positional
    arguments from schema position `first` on, `kwargs` the keyword ones."""
    names = schema_arg_names(node.op) or []
    bound = dict(zip(names[first:], args, strict=False))
    bound.update(kwargs)
    values = [bound.get(name) for name in names if name.startswith("scales")]
    return values if any(v is not None for v in values) else None


def _nearest_index(g: Builder, size: str, out: str, scale: float | None, exact: bool) -> str:
    """Source rows for `out` output rows: min(floor(dst * s), size - 1), s = float32(size/out) or
    float32(1/scale); nearest-exact takes floor((dst + 0.5) * s). torch copies when out == size
    and halves when out == 2 * size (plain nearest only), whatever the scale says."""
    f32 = DType.F32
    zero, one = g.const(0, DType.I64), g.const(1, DType.I64)
    dst = g.op("Range", zero, out, one)
    if scale is not None and scale > 0:
        s = g.const(1.0 / scale, f32)
    else:
        s = g.op("Div", g.cast(size, DType.I64, f32), g.cast(out, DType.I64, f32))
    if exact:
        # (dst + 0.5) is a double in torch, times the float scale in double, then floorf
        shifted = g.op("Add", g.cast(dst, DType.I64, DType.F64), g.const(0.5, DType.F64))
        source = g.cast(g.op("Mul", shifted, g.cast(s, f32, DType.F64)), DType.F64, f32)
    else:
        source = g.op("Mul", g.cast(dst, DType.I64, f32), s)
    index = g.op("Min", g.cast(g.op("Floor", source), f32, DType.I64), g.op("Sub", size, one))
    if exact:
        return index
    same = g.op("Equal", out, size)
    double = g.op("Equal", out, g.op("Mul", size, g.const(2, DType.I64)))
    halved = g.op("Div", dst, g.const(2, DType.I64))
    return g.op("Where", same, dst, g.op("Where", double, halved, index))


@lowering(
    "aten.upsample_nearest1d.vec",
    "aten.upsample_nearest2d.vec",
    "aten.upsample_nearest3d.vec",
    "aten._upsample_nearest_exact1d.vec",
    "aten._upsample_nearest_exact2d.vec",
    "aten._upsample_nearest_exact3d.vec",
)
def upsample_nearest_vec(g: Builder, node: Node, input: Value, output_size: Arg, scale_factors: Arg) -> str:
    """upsample_nearest2d.vec(Tensor input, SymInt[]? output_size, float[]? scale_factors) -> Tensor"""
    return nearest(g, node, input, output_size, scale_factors)


@lowering(
    "aten.upsample_nearest1d",
    "aten.upsample_nearest2d",
    "aten.upsample_nearest3d",
    "aten._upsample_nearest_exact1d",
    "aten._upsample_nearest_exact2d",
    "aten._upsample_nearest_exact3d",
)
def upsample_nearest(g: Builder, node: Node, self: Value, output_size: Arg, *args: Arg, **kwargs: Arg) -> str:
    """upsample_nearest2d(Tensor self, SymInt[2] output_size, float? scales_h=None,
    float? scales_w=None) -> Tensor"""
    return nearest(g, node, self, output_size, scale_args(node, 2, args, kwargs))
