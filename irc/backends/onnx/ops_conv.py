"""Convolutions, pooling and im2col (the ops of vision models and conv layers).

Kernel sizes, strides, paddings and dilations are ints (torch.export specializes them); the
spatial sizes of the input may be symbolic. An unbatched input (`(C, H, W)` for a 2-D op) gets a
batch axis of 1 around the ONNX node, as torch does.
"""

from __future__ import annotations

from typing import Any

from irc.backends.onnx.builder import INT64_MAX, Builder, out_dtype, rank_of
from irc.backends.onnx.registry import lowering
from irc.errors import LoweringError
from irc.ir.core import Node, Value
from irc.ir.dtypes import DType

Arg = Any


def expand_param(value: Arg, k: int, what: str) -> list[int]:
    """`3` or `[3]` -> `[3] * k` (torch's rule for conv and pool size arguments)."""
    items = [value] if isinstance(value, int) else list(value)
    if any(not isinstance(v, int) for v in items):
        raise LoweringError(f"a symbolic {what} is not supported (got {value!r})")
    if len(items) == 1:
        items = items * k
    if len(items) != k:
        raise LoweringError(f"expected {k} values for {what}, got {value!r}")
    return items


def _batched(g: Builder, input: Value, k: int) -> tuple[str, bool]:
    """The input with a batch axis (added when the input is unbatched) and whether one was added."""
    x = g.tensor(input)
    if rank_of(input) == k + 1:
        return g.op("Unsqueeze", x, g.const([0], DType.I64)), True
    return x, False


def _unbatch(g: Builder, y: str, added: bool) -> str:
    return g.op("Squeeze", y, g.const([0], DType.I64)) if added else y


# -- convolution --------------------------------------------------------------------------------
def _kernel(weight: Value) -> list[int]:
    sizes = list(weight.tensor_type.shape[2:])
    if any(not isinstance(s, int) for s in sizes):
        raise LoweringError("the convolution weight has a symbolic kernel size")
    return sizes


def _conv_pads(padding: Arg, kernel: list[int], dilation: list[int], stride: list[int]) -> list[int]:
    """ONNX `pads` ([begins..., ends...]) for torch's int or 'valid'/'same' padding."""
    k = len(kernel)
    if padding == "valid":
        return [0] * (2 * k)
    if padding == "same":
        if any(s != 1 for s in stride):
            raise LoweringError("padding='same' needs stride 1 (torch refuses it too)")
        total = [d * (size - 1) for d, size in zip(dilation, kernel, strict=True)]
        # torch puts the odd element on the end side
        return [t // 2 for t in total] + [t - t // 2 for t in total]
    pads = expand_param(padding, k, "padding")
    return pads + pads


def conv(
    g: Builder,
    input: Value,
    weight: Value,
    bias: Value | None,
    stride: Arg,
    padding: Arg,
    dilation: Arg,
    groups: int,
    transposed: bool = False,
    output_padding: Arg = 0,
) -> str:
    kernel = _kernel(weight)
    k = len(kernel)
    strides, dilations = expand_param(stride, k, "stride"), expand_param(dilation, k, "dilation")
    pads = _conv_pads(padding, kernel, dilations, strides)
    x, added = _batched(g, input, k)
    inputs = (x, g.tensor(weight), None if bias is None else g.tensor(bias))
    attrs: dict[str, Any] = dict(
        kernel_shape=kernel, strides=strides, pads=pads, dilations=dilations, group=int(groups)
    )
    if transposed:
        extra = expand_param(output_padding, k, "output_padding")
        y = g.op("ConvTranspose", *inputs, output_padding=extra, **attrs)
    else:
        y = g.op("Conv", *inputs, **attrs)
    return _unbatch(g, y, added)


@lowering(
    "aten.conv1d",
    "aten.conv2d",
    "aten.conv3d",
    "aten.conv1d.padding",
    "aten.conv2d.padding",
    "aten.conv3d.padding",
)
def conv_nd(
    g: Builder,
    node: Node,
    input: Value,
    weight: Value,
    bias: Value | None = None,
    stride: Arg = 1,
    padding: Arg = 0,
    dilation: Arg = 1,
    groups: int = 1,
) -> str:
    """conv2d.padding(Tensor input, Tensor weight, Tensor? bias=None, SymInt[2] stride=[1, 1],
    str padding="valid", SymInt[2] dilation=[1, 1], SymInt groups=1) -> Tensor"""
    if node.op.endswith(".padding") and padding == 0:
        padding = "valid"
    return conv(g, input, weight, bias, stride, padding, dilation, groups)


@lowering("aten.conv_transpose1d", "aten.conv_transpose2d.input", "aten.conv_transpose3d.input")
def conv_transpose(
    g: Builder,
    node: Node,
    input: Value,
    weight: Value,
    bias: Value | None = None,
    stride: Arg = 1,
    padding: Arg = 0,
    output_padding: Arg = 0,
    groups: int = 1,
    dilation: Arg = 1,
) -> str:
    """conv_transpose2d.input(Tensor input, Tensor weight, Tensor? bias=None, SymInt[2] stride=[1, 1],
    SymInt[2] padding=[0, 0], SymInt[2] output_padding=[0, 0], SymInt groups=1,
    SymInt[2] dilation=[1, 1]) -> Tensor"""
    return conv(g, input, weight, bias, stride, padding, dilation, groups, True, output_padding)


@lowering("aten.convolution", "aten._convolution")
def convolution(
    g: Builder,
    node: Node,
    input: Value,
    weight: Value,
    bias: Value | None,
    stride: Arg,
    padding: Arg,
    dilation: Arg,
    transposed: bool,
    output_padding: Arg,
    groups: int,
    *_: Arg,
) -> str:
    """convolution(Tensor input, Tensor weight, Tensor? bias, SymInt[] stride, SymInt[] padding,
    SymInt[] dilation, bool transposed, SymInt[] output_padding, SymInt groups) -> Tensor"""
    return conv(g, input, weight, bias, stride, padding, dilation, groups, transposed, output_padding)


# -- pooling ------------------------------------------------------------------------------------
def _max_pool(
    g: Builder,
    input: Value,
    k: int,
    outputs: int,
    pool: tuple[Arg, Arg, Arg, Arg, bool],
) -> tuple[list[str], bool]:
    kernel_size, stride, padding, dilation, ceil_mode = pool
    kernel = expand_param(kernel_size, k, "kernel_size")
    strides = expand_param(stride, k, "stride") if stride else kernel  # torch: stride=[] is the kernel
    pads = expand_param(padding, k, "padding")
    dilations = expand_param(dilation, k, "dilation")
    x, added = _batched(g, input, k)
    outs = g.ops(
        "MaxPool",
        [x],
        outputs,
        kernel_shape=kernel,
        strides=strides,
        pads=pads + pads,
        dilations=dilations,
        ceil_mode=int(bool(ceil_mode)),
    )
    if ceil_mode:
        rank = rank_of(input)
        for i in range(k):
            window = (kernel[i], strides[i], pads[i], dilations[i])
            outs = [_drop_padding_window(g, input, rank - k + i, window, out) for out in outs]
    return outs, added


def _drop_padding_window(g: Builder, input: Value, axis: int, window: tuple[int, ...], y: str) -> str:
    """torch's ceil_mode drops a last window that starts in the end padding; ONNX keeps it."""
    kernel, stride, pad, dilation = window
    size = input.tensor_type.shape[axis]
    span = 2 * pad - dilation * (kernel - 1) - 1
    if isinstance(size, int):
        out = -(-(size + span) // stride) + 1
        if (out - 1) * stride < size + pad:
            return y
        end = g.const([out - 1], DType.I64)
    else:
        n = g.dim(input, axis)
        c = g.const
        out = g.op(
            "Add",
            g.op("Div", g.op("Add", n, c(span + stride - 1, DType.I64)), c(stride, DType.I64)),
            c(1, DType.I64),
        )
        last_start = g.op("Mul", g.op("Sub", out, c(1, DType.I64)), c(stride, DType.I64))
        starts_in_padding = g.op("GreaterOrEqual", last_start, g.op("Add", n, c(pad, DType.I64)))
        kept = g.op("Sub", out, g.cast(starts_in_padding, DType.BOOL, DType.I64))
        end = g.op("Reshape", kept, c([1], DType.I64))
    return g.op("Slice", y, g.const([0], DType.I64), end, g.const([axis], DType.I64))


@lowering("aten.max_pool1d", "aten.max_pool2d", "aten.max_pool3d")
def max_pool(
    g: Builder,
    node: Node,
    self: Value,
    kernel_size: Arg,
    stride: Arg = (),
    padding: Arg = 0,
    dilation: Arg = 1,
    ceil_mode: bool = False,
) -> str:
    """max_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0,
    int[2] dilation=1, bool ceil_mode=False) -> Tensor"""
    k = int(node.op[-2])
    (values,), added = _max_pool(g, self, k, 1, (kernel_size, stride, padding, dilation, ceil_mode))
    return _unbatch(g, values, added)


@lowering("aten.max_pool2d_with_indices", "aten.max_pool3d_with_indices")
def max_pool_with_indices(
    g: Builder,
    node: Node,
    self: Value,
    kernel_size: Arg,
    stride: Arg = (),
    padding: Arg = 0,
    dilation: Arg = 1,
    ceil_mode: bool = False,
) -> list[str]:
    """max_pool2d_with_indices(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0,
    int[2] dilation=1, bool ceil_mode=False) -> (Tensor, Tensor)

    ONNX indices count over the whole tensor, torch's within one channel's plane: the plane's
    size divides them out."""
    k = int(node.op.split("_")[1][-2])
    (values, flat), added = _max_pool(g, self, k, 2, (kernel_size, stride, padding, dilation, ceil_mode))
    rank = rank_of(self)
    plane = g.op("ReduceProd", g.shape(self, rank - k, rank), keepdims=0)
    indices = g.op("Mod", flat, plane, fmod=0)
    return [_unbatch(g, values, added), _unbatch(g, indices, added)]


def _pool_matrix(g: Builder, size: str, out: int, dtype: DType) -> str:
    """[out, size]: row j averages torch's adaptive bin j, [floor(j*size/out), ceil((j+1)*size/out))."""
    zero, one = g.const(0, DType.I64), g.const(1, DType.I64)
    n = g.const(out, DType.I64)
    rows = g.op("Unsqueeze", g.op("Range", zero, n, one), g.const([1], DType.I64))
    cols = g.op("Range", zero, size, one)
    start = g.op("Div", g.op("Mul", rows, size), n)
    end = g.op("Div", g.op("Add", g.op("Mul", g.op("Add", rows, one), size), g.const(out - 1, DType.I64)), n)
    inside = g.op("And", g.op("GreaterOrEqual", cols, start), g.op("Less", cols, end))
    count = g.cast(g.op("Sub", end, start), DType.I64, dtype)
    return g.op("Div", g.cast(inside, DType.BOOL, dtype), count)


@lowering("aten.adaptive_avg_pool1d", "aten.adaptive_avg_pool2d", "aten._adaptive_avg_pool2d")
def adaptive_avg_pool(g: Builder, node: Node, self: Value, output_size: Arg) -> str:
    """adaptive_avg_pool2d(Tensor self, SymInt[2] output_size) -> Tensor

    An output size of 1 is a mean; any other averages torch's overlapping bins by a matmul with
    an [out, in] matrix on that axis."""
    dtype = out_dtype(node)
    k = 1 if node.op.endswith("1d") else 2
    outs = expand_param(output_size, k, "output_size")
    rank = rank_of(self)
    x = g.tensor(self)
    ones = [rank - k + i for i, o in enumerate(outs) if o == 1]
    if ones:
        x = g.reduce("ReduceMean", x, ones, True)
    for i, o in enumerate(outs):
        if o == 1:
            continue
        axis = rank - k + i
        matrix = _pool_matrix(g, g.dim(self, axis), o, dtype)
        if axis == rank - 1:
            x = g.op("MatMul", x, g.op("Transpose", matrix, perm=[1, 0]))
        else:  # axis == rank - 2
            x = g.op("MatMul", matrix, x)
    return x


# -- im2col -------------------------------------------------------------------------------------
@lowering("aten.im2col")
def im2col(
    g: Builder, node: Node, self: Value, kernel_size: Arg, dilation: Arg, padding: Arg, stride: Arg
) -> str:
    """im2col(Tensor self, int[2] kernel_size, int[2] dilation, int[2] padding, int[2] stride) -> Tensor

    `F.unfold`: [N, C, H, W] -> [N, C*kh*kw, L]. Each kernel offset is a strided slice of the
    padded input; the slices stack after C, so columns run (c, i, j) as torch's do."""
    kernel = expand_param(kernel_size, 2, "kernel_size")
    dilations = expand_param(dilation, 2, "dilation")
    pads = expand_param(padding, 2, "padding")
    strides = expand_param(stride, 2, "stride")
    rank = rank_of(self)
    x = g.tensor(self)
    if any(pads):
        spec = [0] * (rank - 2) + pads
        x = g.op("Pad", x, g.const(spec + spec, DType.I64))
    axes = g.const([rank - 2, rank - 1], DType.I64)
    steps = g.const(strides, DType.I64)
    where = g.const([rank - 2], DType.I64)
    pieces = []
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            starts = [i * dilations[0], j * dilations[1]]
            ends = [
                _slice_end((kernel[0] - 1 - i) * dilations[0]),
                _slice_end((kernel[1] - 1 - j) * dilations[1]),
            ]
            piece = g.op("Slice", x, g.const(starts, DType.I64), g.const(ends, DType.I64), axes, steps)
            pieces.append(g.op("Unsqueeze", piece, where))
    stacked = g.op("Concat", *pieces, axis=rank - 2)  # [..., C, kh*kw, oh, ow]
    shape = g.op("Shape", stacked)

    def part(start: int, end: int) -> str:
        return g.op("Slice", shape, g.const([start], DType.I64), g.const([end], DType.I64))

    columns = g.op("ReduceProd", part(rank - 3, rank - 1), keepdims=1)
    cells = g.op("ReduceProd", part(rank - 1, rank + 1), keepdims=1)
    merged = g.op("Concat", part(0, rank - 3), columns, cells, axis=0)
    return g.op("Reshape", stacked, merged, allowzero=1)


def _slice_end(back: int) -> int:
    """The end index `back` elements before the end (all the way when 0)."""
    return -back if back else INT64_MAX
