"""Convolutions, pooling, batch norm, padding, resizing and einsum: vision and audio models.

All are packet calls (`torch.ops.aten.conv2d(x, w, b, [1, 1], ...)`); the ones that return
several tensors (`max_pool2d_with_indices`, the batch-norm family) unpack into one local each.
"""

from __future__ import annotations

from irc.backends.emitters import PADS
from irc.backends.torchscript.registry import call, emitter

emitter(
    "aten.convolution",
    "aten._convolution",
    "aten.conv1d",
    "aten.conv1d.padding",
    "aten.conv2d",
    "aten.conv2d.padding",
    "aten.conv3d",
    "aten.conv_transpose1d",
    "aten.conv_transpose2d.input",
    "aten.im2col",
    "aten.col2im",
    "aten.einsum",
)(call)

emitter(
    "aten.max_pool1d",
    "aten.max_pool2d",
    "aten.max_pool2d_with_indices",
    "aten.max_pool3d",
    "aten.max_pool3d_with_indices",
    "aten.adaptive_avg_pool1d",
    "aten.adaptive_avg_pool2d",
    "aten._adaptive_avg_pool2d",
)(call)

emitter(
    "aten.batch_norm",
    "aten.native_batch_norm",
    "aten._native_batch_norm_legit",
    "aten._native_batch_norm_legit.no_stats",
    "aten._native_batch_norm_legit_no_training",
)(call)

emitter(
    "aten.var",
    "aten.var.dim",
    "aten.var.correction",
    "aten.std",
    "aten.std.dim",
    "aten.std.correction",
    "aten.var_mean",
    "aten.var_mean.dim",
    "aten.var_mean.correction",
    "aten.std_mean",
    "aten.std_mean.dim",
    "aten.std_mean.correction",
    "aten.group_norm",
    "aten.native_group_norm",
    "aten.prelu",
    "aten._prelu_kernel",
    "aten.avg_pool1d",
    "aten.avg_pool2d",
    "aten.square",
    "aten.softplus",
)(call)

emitter(
    "aten.pad",
    "aten.constant_pad_nd",
    *PADS,
)(call)

emitter(
    *(
        f"aten.{name}{overload}"
        for name in (
            "upsample_nearest1d",
            "upsample_nearest2d",
            "upsample_nearest3d",
            "_upsample_nearest_exact1d",
            "_upsample_nearest_exact2d",
            "_upsample_nearest_exact3d",
            "upsample_linear1d",
            "upsample_bilinear2d",
            "upsample_bicubic2d",
            "upsample_trilinear3d",
        )
        for overload in ("", ".vec")
    )
)(call)
