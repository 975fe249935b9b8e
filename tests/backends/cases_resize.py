"""Cases for padding and upsampling (ops_resize.py)."""

from __future__ import annotations

from tests.backends.cases import SEQ, case
from tests.backends.util import GraphMaker

IMAGE = ({"batch": 2, "h": 3, "w": 5}, {"batch": 1, "h": 6, "w": 4})


@case(SEQ)
def pad_constant_with_symbolic_amounts(b: GraphMaker) -> None:
    """LongT5 pads the sequence up to a multiple of its block length: the pad is symbolic."""
    x = b.input("x", "f32", ("batch", "seq", 4))
    ids = b.input("ids", "i64", ("batch", "seq"))
    seq = b.op("aten.sym_size.int", x, 1)
    short = b.op("sym.mod", b.op("sym.neg", seq), 4)  # (-seq) % 4 rows reach a multiple of 4
    b.output(
        b.op("aten.mean.dim", b.op("aten.pad", x, [0, 0, 0, short]), [1]),
        b.op("aten.pad", x, [1, 2], "constant", 0.5, out_shape=("batch", "seq", 7)),
        b.op("aten.constant_pad_nd", ids, [2, 0], -100, out_shape=("batch", "seq + 2")),
        b.op("aten.constant_pad_nd", x, [0, 0, 0, 0, 1, 0], out_shape=("batch + 1", "seq", 4)),
        b.op("aten.constant_pad_nd", x, [-1, 2], 3.0, out_shape=("batch", "seq", 5)),  # negative pads crop
    )


@case(IMAGE)
def pad_reflect_replicate_circular(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3, "h", 6))
    s = b.input("s", "f32", ("batch", 3, "w"))
    b.output(
        b.op("aten.pad", x, [2, 1, 1, 2], "reflect", out_shape=("batch", 3, "h + 3", 9)),
        b.op("aten.pad", x, [2, 1, 0, 2], "replicate", out_shape=("batch", 3, "h + 2", 9)),
        b.op("aten.pad", x, [3, 1, 2, 1], "circular", out_shape=("batch", 3, "h + 3", 10)),
        b.op("aten.reflection_pad1d", s, [2, 1], out_shape=("batch", 3, "w + 3")),
        b.op("aten.reflection_pad2d", x, [1, 1, 0, 2], out_shape=("batch", 3, "h + 2", 8)),
        b.op("aten.replication_pad1d", s, [0, 3], out_shape=("batch", 3, "w + 3")),
        b.op("aten.replication_pad2d", x, [3, 0, 1, 1], out_shape=("batch", 3, "h + 2", 9)),
    )


@case(({"batch": 2, "h": 3}, {"batch": 1, "h": 4}))
def pad_3d(b: GraphMaker) -> None:
    v = b.input("v", "f32", ("batch", 2, "h", 4, 5))
    b.output(
        b.op("aten.reflection_pad3d", v, [1, 2, 0, 1, 1, 1], out_shape=("batch", 2, "h + 2", 5, 8)),
        b.op("aten.replication_pad3d", v, [1, 0, 2, 1, 0, 1], out_shape=("batch", 2, "h + 1", 7, 6)),
    )


@case(IMAGE)
def upsample_nearest(b: GraphMaker) -> None:
    """Includes sizes where torch's float32 floor(dst * (in / out)) and ONNX Resize's
    dst / (out / in) pick different rows (14 -> 4, 21 -> 6)."""
    x = b.input("x", "f32", ("batch", 2, "h", "w"))
    y = b.input("y", "f32", ("batch", 2, 6, 5))
    z = b.input("z", "f32", ("batch", 1, 21, 14))
    b.output(
        b.op("aten.upsample_nearest2d.vec", z, [6, 4], None),
        b.op("aten.upsample_nearest2d", y, [6, 5], 1.1, 1.1),  # out == in copies, whatever the scale
        b.op("aten.upsample_nearest2d.vec", x, None, [2.0, 3.0], out_shape=("batch", 2, "2*h", "3*w")),
        b.op("aten.upsample_nearest2d.vec", x, [4, 9], None),
        b.op("aten.upsample_nearest2d.vec", y, [4, 3], None),
        b.op("aten.upsample_nearest2d.vec", y, [6, 10], None),  # copy and halve
        b.op("aten.upsample_nearest2d.vec", y, None, [0.7, 1.3]),
        b.op("aten.upsample_nearest2d", y, [9, 7]),
        b.op("aten.upsample_nearest2d", y, [12, 6], 2.0, 1.25),
        b.op("aten.upsample_nearest1d.vec", b.op("aten.sum.dim_IntList", x, [2]), [7], None),
        b.op("aten.upsample_nearest1d", b.op("aten.sum.dim_IntList", y, [2]), [3], scales=0.75),
        b.op("aten.upsample_nearest3d.vec", b.op("aten.unsqueeze", y, 2), None, [2.0, 0.5, 1.5]),
    )


@case(IMAGE)
def upsample_nearest_exact(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 2, "h", "w"))
    y = b.input("y", "f32", ("batch", 2, 6, 5))
    b.output(
        b.op("aten._upsample_nearest_exact2d.vec", x, [4, 9], None),
        b.op("aten._upsample_nearest_exact2d.vec", y, None, [0.7, 1.5]),
        b.op("aten._upsample_nearest_exact2d", y, [3, 8]),
        b.op("aten._upsample_nearest_exact1d.vec", b.op("aten.sum.dim_IntList", y, [2]), [9], None),
        b.op("aten._upsample_nearest_exact1d", b.op("aten.sum.dim_IntList", x, [2]), [4]),
        b.op("aten._upsample_nearest_exact3d.vec", b.op("aten.unsqueeze", y, 2), [2, 4, 7], None),
        b.op("aten._upsample_nearest_exact3d", b.op("aten.unsqueeze", y, 2), [3, 3, 3]),
        b.op("aten.upsample_nearest3d", b.op("aten.unsqueeze", y, 2), [2, 9, 2]),
    )


@case(IMAGE)
def upsample_bilinear(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 2, "h", "w"))
    y = b.input("y", "f32", ("batch", 2, 6, 5))
    b.output(
        b.op("aten.upsample_bilinear2d.vec", x, [8, 9], False, None),  # MobileViT: to a fixed size
        b.op("aten.upsample_bilinear2d.vec", x, [8, 9], True, None),
        b.op(
            "aten.upsample_bilinear2d.vec",
            x,
            None,
            False,
            [2.0, 1.5],
            out_shape=("batch", 2, "2*h", "3*w//2"),
        ),
        b.op("aten.upsample_bilinear2d.vec", y, [4, 3], False, None),  # downsampling, no antialias
        b.op("aten.upsample_bilinear2d.vec", y, [1, 3], True, None),  # align_corners to one row
        b.op("aten.upsample_bilinear2d.vec", y, [1, 1], False, None),  # the middle, not row 0
        b.op("aten.upsample_bilinear2d.vec", y, None, True, [0.6, 2.2]),
        b.op("aten.upsample_bilinear2d", y, [9, 7], False),
        b.op("aten.upsample_bilinear2d", y, [12, 7], False, 2.0, 1.5),
        b.op("aten.upsample_linear1d.vec", b.op("aten.sum.dim_IntList", y, [2]), [8], False, None),
        b.op("aten.upsample_linear1d", b.op("aten.sum.dim_IntList", y, [2]), [3], True),
        b.op("aten.upsample_trilinear3d.vec", b.op("aten.unsqueeze", y, 2), [2, 4, 7], False, None),
        b.op("aten.upsample_trilinear3d", b.op("aten.unsqueeze", y, 2), [3, 3, 3], True),
    )


@case(IMAGE)
def upsample_bicubic(b: GraphMaker) -> None:
    """YOLOS resizes its position embeddings bicubically: torch's a = -0.75, edge rows repeated."""
    x = b.input("x", "f32", ("batch", 2, "h", "w"))
    y = b.input("y", "f32", ("batch", 2, 6, 5))
    b.output(
        b.op("aten.upsample_bicubic2d.vec", x, [8, 9], False, None),
        b.op("aten.upsample_bicubic2d.vec", x, [8, 9], True, None),
        b.op("aten.upsample_bicubic2d.vec", y, [4, 3], False, None),
        b.op("aten.upsample_bicubic2d.vec", y, None, False, [1.5, 0.6]),
        b.op("aten.upsample_bicubic2d.vec", y, None, True, [2.0, 2.0]),
        b.op("aten.upsample_bicubic2d", y, [9, 7], False),
        b.op("aten.upsample_bicubic2d", y, [3, 10], True, 0.5, 2.0),
    )
