"""The ONNX lowering table: one emitter per IR op, registered with `@lowering`.

An emitter receives the builder, the node, and the node's arguments bound to the op schema's
parameter names (positional `node.args` then `node.kwargs`); it returns the ONNX name of the
node's output, or a list with one name per output. Its docstring is the op's ATen schema line:

    @lowering("aten.linear")
    def linear(g: Builder, node: Node, input: Value, weight: Value, bias: Value | None = None) -> str:
        "linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor"
        ...
"""

from __future__ import annotations

from collections.abc import Callable

from irc.backends.emitters import EmitterTable

Emitter = Callable[..., "str | list[str]"]
"""`emitter(builder, node, *node.args, **node.kwargs) -> output name(s)`."""

TABLE = EmitterTable("onnx", "ONNX", advice="; a pass that rewrites the op may work around it meanwhile")
LOWERINGS: dict[str, Emitter] = TABLE.emitters

lowering = TABLE.register
"""`@lowering("aten.linear", ...)`: register the decorated emitter for each op."""


def lowerings() -> dict[str, Emitter]:
    """The whole table (complete once this module is imported)."""
    return LOWERINGS


# The op modules register into LOWERINGS as they are imported; importing them here, once the
# decorator exists, makes the table complete for anyone who imports this module.
from irc.backends.onnx import (  # noqa: E402, F401
    ops_alias,
    ops_audio,
    ops_bucketize,
    ops_conv,
    ops_create,
    ops_exp_log,
    ops_fft,
    ops_fold,
    ops_linalg_norm,
    ops_math,
    ops_moe,
    ops_nn,
    ops_ort,
    ops_ort_decoder,
    ops_ort_encoder,
    ops_quant,
    ops_resize,
    ops_scatter,
    ops_scatter_reduce,
    ops_shape,
    ops_stats,
    ops_unfold,
)
