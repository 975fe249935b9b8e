"""Cases for convolutions, pooling, im2col (ops_conv.py) and col2im (ops_fold.py).

Spatial sizes are symbolic (`h`, `w`, `seq`) wherever the op allows, with odd sizes, strides,
dilations and asymmetric paddings so that an off-by-one in a size rule shows.
"""

from __future__ import annotations

import torch

from tests.backends.cases import case
from tests.backends.util import GraphMaker

IMAGE = ({"batch": 2, "h": 6, "w": 5}, {"batch": 1, "h": 9, "w": 10})
SEQUENCE = ({"batch": 2, "seq": 5}, {"batch": 3, "seq": 9})


def _w(*shape: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(sum(shape)))


@case(IMAGE, atol=1e-4)
def conv2d(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 4, "h", "w"))
    w, bias = b.param("w", _w(6, 4, 3, 3)), b.param("bias", _w(6))
    grouped = b.param("grouped", _w(6, 2, 3, 2))
    even = b.param("even", _w(5, 4, 4, 2))
    b.output(
        b.op("aten.conv2d", x, w, bias, [1, 1], [1, 1]),
        b.op(
            "aten.conv2d",
            x,
            grouped,
            None,
            [2, 1],
            [1, 0],
            [1, 2],
            2,
            out_shape=("batch", 6, "(h - 1)//2 + 1", "w - 2"),
        ),
        b.op("aten.conv2d.padding", x, even, None, [1, 1], "same", [2, 1]),
        b.op("aten.conv2d.padding", x, w, bias, [1, 1], "valid", out_shape=("batch", 6, "h - 2", "w - 2")),
    )


@case(IMAGE, atol=1e-4)
def convolution_and_transposed(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 4, "h", "w"))
    w, bias = b.param("w", _w(6, 4, 3, 3)), b.param("bias", _w(6))
    up = b.param("up", _w(4, 3, 3, 2))  # transposed: [in, out / groups, kh, kw]
    b.output(
        b.op("aten.convolution", x, w, bias, [1, 1], [1, 1], [1, 1], False, [0, 0], 1),
        b.op(
            "aten.convolution",
            x,
            up,
            None,
            [2, 3],
            [1, 0],
            [1, 1],
            True,
            [1, 2],
            1,
            out_shape=("batch", 3, "2*h", "3*w + 1"),
        ),
        b.op(
            "aten._convolution",
            x,
            w,
            bias,
            [1, 1],
            [1, 1],
            [1, 1],
            False,
            [0, 0],
            1,
            False,
            False,
            True,
            True,
        ),
        b.op(
            "aten.conv_transpose2d.input",
            x,
            up,
            None,
            [2, 2],
            [1, 1],
            [1, 1],
            1,
            [1, 1],
            out_shape=("batch", 3, "2*h", "2*w - 1"),
        ),
    )


@case(SEQUENCE, atol=1e-4)
def conv1d_and_conv3d(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 4, "seq"))
    one = b.input("one", "f32", (4, "seq"))  # unbatched
    w, bias = (
        b.param(
            "w",
            _w(6, 4, 1),
        ),
        b.param("bias", _w(6)),
    )
    depthwise = b.param("depthwise", _w(4, 1, 3))
    v = b.input("v", "f32", ("batch", 2, 3, 4, "seq"))
    w3 = b.param("w3", _w(3, 2, 2, 3, 3))
    b.output(
        b.op("aten.conv1d", x, w, bias),  # squeezebert's pointwise conv
        b.op("aten.conv1d", x, depthwise, None, [1], [1], [1], 4),  # convbert's depthwise conv
        b.op("aten.conv1d.padding", one, depthwise, None, [1], "same", [2], 4),
        b.op("aten.conv3d", v, w3, None, [1, 1, 1], [0, 1, 1], out_shape=("batch", 3, 2, 4, "seq")),
        b.op("aten.conv3d.padding", v, w3, None, [1, 1, 1], "same", [1, 2, 1]),
        b.op(
            "aten.conv_transpose3d.input",
            v,
            b.param("up3", _w(2, 3, 1, 2, 2)),
            out_shape=("batch", 3, 3, 5, "seq + 1"),
        ),
        b.op(
            "aten.conv_transpose1d",
            x,
            b.param("up", _w(4, 2, 3)),
            None,
            [2],
            [1],
            [1],
            out_shape=("batch", 2, "2*seq"),
        ),
    )


POOL = ({"batch": 2, "h": 5, "w": 6}, {"batch": 1, "h": 9, "w": 10})


@case(POOL)
def max_pool(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3, "h", "w"))
    b.output(
        # resnet's stem pool: kernel 3, stride 2, padding 1
        b.op(
            "aten.max_pool2d",
            x,
            [3, 3],
            [2, 2],
            [1, 1],
            out_shape=("batch", 3, "(h - 1)//2 + 1", "(w - 1)//2 + 1"),
        ),
        b.op("aten.max_pool2d", x, [2, 2], out_shape=("batch", 3, "h//2", "w//2")),  # stride [] is the kernel
        b.op(
            "aten.max_pool2d",
            x,
            [2, 3],
            [1, 2],
            [1, 0],
            [2, 1],
            out_shape=("batch", 3, "h", "(w - 3)//2 + 1"),
        ),
        b.op(
            "aten.max_pool1d",
            b.op("aten.sum.dim_IntList", x, [2]),
            [3],
            [2],
            [1],
            out_shape=("batch", 3, "(w - 1)//2 + 1"),
        ),
    )


@case(({"batch": 2, "h": 5, "w": 6}, {"batch": 1, "h": 6, "w": 9}, {"batch": 1, "h": 4, "w": 4}))
def max_pool_ceil_mode(b: GraphMaker) -> None:
    """ceil_mode keeps a last partial window, but not one that starts in the end padding."""
    x = b.input("x", "f32", ("batch", 3, "h", "w"))
    y = b.input("y", "f32", (1, 2, 5, 9))
    b.output(
        # odd sizes: ceil((5 + 2 - 2) / 2) + 1 = 4 windows, the last starts in the padding
        b.op(
            "aten.max_pool2d",
            x,
            [2, 2],
            [2, 2],
            [1, 1],
            [1, 1],
            True,
            out_shape=("batch", 3, "h//2 + 1", "w//2 + 1"),
        ),
        b.op("aten.max_pool2d", y, [2, 2], [2, 2], [1, 1], [1, 1], True),
        b.op("aten.max_pool2d", y, [3, 3], [2, 2], [0, 0], [1, 1], True),
        b.op("aten.max_pool2d", y, [3, 2], [3, 2], [1, 1], [1, 2], True),
        b.op("aten.max_pool2d", y, [2, 2], [3, 3], [0, 1], [1, 1], True),
    )


@case(POOL)
def max_pool_with_indices(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3, "h", "w"))
    v = b.input("v", "f32", ("batch", 2, 4, "h", 6))
    values, indices = b.op(
        "aten.max_pool2d_with_indices",
        x,
        [3, 3],
        [2, 2],
        [1, 1],
        outputs=2,
        out_shape=("batch", 3, "(h - 1)//2 + 1", "(w - 1)//2 + 1"),
    )
    b.output(
        values,
        b.op("aten.view", indices, [-1]),
        *b.op("aten.max_pool3d_with_indices", v, [2, 2, 3], outputs=2),
    )
    b.output(b.op("aten.max_pool3d", v, [3, 2, 2], [1, 2, 2], [1, 1, 0], [1, 1, 1], True))


@case(POOL)
def adaptive_avg_pool(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3, "h", "w"))
    b.output(
        b.op("aten.adaptive_avg_pool2d", x, [1, 1]),  # resnet's pooler
        b.op("aten.adaptive_avg_pool2d", x, [4, 3]),  # overlapping bins on both axes
        b.op("aten._adaptive_avg_pool2d", x, [1, 4]),
        b.op("aten.adaptive_avg_pool1d", b.op("aten.sum.dim_IntList", x, [2]), [4]),
        b.op("aten.adaptive_avg_pool2d", b.input("c", "f32", (3, "h", 8)), [2, 3]),  # unbatched
    )


@case(({"batch": 2, "seq": 5}, {"batch": 1, "seq": 12}))
def im2col_like_convbert(b: GraphMaker) -> None:
    """ConvBERT: F.unfold(x[:, :, :, None], [9, 1], padding=[4, 0]) over the sequence."""
    x = b.input("x", "f32", ("batch", 4, "seq", 1))
    b.output(b.op("aten.im2col", x, [9, 1], [1, 1], [4, 0], [1, 1], out_shape=("batch", 36, "seq")))


@case(({"batch": 2, "h": 5, "w": 6}, {"batch": 1, "h": 8, "w": 9}))
def im2col_strided_dilated(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 2, "h", "w"))
    c = b.input("c", "f32", (2, "h", "w"))  # unbatched
    b.output(
        b.op("aten.im2col", x, [2, 3], [2, 1], [1, 0], [1, 2], out_shape=("batch", 12, "h*((w - 3)//2 + 1)")),
        b.op(
            "aten.im2col", c, [3, 2], [1, 1], [1, 1], [2, 3], out_shape=(12, "((h - 1)//2 + 1)*((w)//3 + 1)")
        ),
    )


@case(({"batch": 2}, {"batch": 3}))
def col2im_like_mobilevit(b: GraphMaker) -> None:
    """MobileViT's F.fold of 2x2 patches, and an overlapping fold (padded, strided) whose sums show."""
    x = b.input("x", "f32", ("batch", 12, 6))
    o = b.input("o", "f32", ("batch", 12, 15))
    b.output(
        b.op("aten.col2im", x, [4, 6], [2, 2], [1, 1], [0, 0], [2, 2], out_shape=("batch", 3, 4, 6)),
        b.op("aten.col2im", o, [5, 6], [3, 2], [1, 1], [1, 0], [1, 2], out_shape=("batch", 2, 5, 6)),
    )
