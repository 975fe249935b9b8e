"""ATen ops, emitted as calls of their overload packet (`torch.ops.aten.view(x, [-1, s])`).

TorchScript resolves the packet to the overload whose schema the argument types match, which is
the overload the IR names: the IR's arguments come from that overload's schema. Where an IR op
has a run-time behaviour the artifact must not have (dropout in training mode), the emitter
refuses it instead.
"""

from __future__ import annotations

from typing import Any

from irc.backends.emitters import CASTS, refuse_dropout
from irc.backends.torchscript.codegen import Codegen
from irc.backends.torchscript.registry import call, emitter
from irc.ir.core import Node

Arg = Any


# -- arithmetic, comparisons, logic -------------------------------------------------------------
emitter(
    "aten.add.Tensor",
    "aten.add.Scalar",
    "aten.sub.Tensor",
    "aten.sub.Scalar",
    "aten.rsub.Scalar",
    "aten.rsub.Tensor",
    "aten.mul.Tensor",
    "aten.mul.Scalar",
    "aten.div.Tensor",
    "aten.div.Scalar",
    "aten.div.Tensor_mode",
    "aten.div.Scalar_mode",
    "aten.floor_divide",
    "aten.floor_divide.Scalar",
    "aten.remainder.Tensor",
    "aten.remainder.Scalar",
    "aten.pow.Tensor_Scalar",
    "aten.pow.Tensor_Tensor",
    "aten.pow.Scalar",
    "aten.maximum",
    "aten.minimum",
    "aten.clamp",
    "aten.clamp.Tensor",
    "aten.clamp_min",
    "aten.clamp_max",
    "aten.clip",
    "aten.clip.Tensor",
    "aten.multiply.Tensor",
    "aten.multiply.Scalar",
    "aten.max.other",
    "aten.min.other",
)(call)

emitter(
    *(f"aten.{name}.{kind}" for name in ("eq", "ne", "lt", "le", "gt", "ge") for kind in ("Tensor", "Scalar"))
)(call)

emitter(
    *(
        f"aten.{prefix}{kind}{suffix}"
        for kind in ("and", "or", "xor")
        for prefix, suffix in (
            ("__", "__.Tensor"),
            ("__", "__.Scalar"),
            ("bitwise_", ".Tensor"),
            ("bitwise_", ".Scalar"),
        )
    ),
    "aten.logical_and",
    "aten.logical_or",
    "aten.logical_xor",
    "aten.logical_not",
    "aten.bitwise_not",
)(call)

emitter(
    "aten.where.self",
    "aten.where.ScalarSelf",
    "aten.where.ScalarOther",
    "aten.where.Scalar",
    "aten.masked_fill.Scalar",
    "aten.masked_fill.Tensor",
)(call)

# -- unary math and reductions ------------------------------------------------------------------
emitter(
    *(
        f"aten.{name}"
        for name in (
            "abs", "neg", "exp", "log", "sqrt", "rsqrt", "reciprocal", "sin", "cos", "tanh",
            "sigmoid", "erf", "relu", "silu", "floor", "ceil", "sign", "isnan",
        )
    )
)(call)  # fmt: skip
emitter("aten.diff")(call)

emitter(
    "aten.mean.dim",
    "aten.mean",
    "aten.sum.dim_IntList",
    "aten.sum",
    "aten.amax",
    "aten.amin",
    "aten.max",
    "aten.min",
    "aten.max.dim",
    "aten.min.dim",
    "aten.prod.dim_int",
    "aten.prod",
    "aten.argmax",
    "aten.argmin",
    "aten.cumsum",
    "aten.linalg_vector_norm",
    "aten.flip",
    "aten._weight_norm",
    "aten.glu",
    "aten.all.dim",
    "aten.all.dims",
    "aten.all",
    "aten.any.dim",
    "aten.any.dims",
    "aten.any",
)(call)

# -- neural-network ops -------------------------------------------------------------------------
emitter(
    "aten.linear",
    "aten.addmm",
    "aten.mm",
    "aten.bmm",
    "aten.matmul",
    "aten.baddbmm",
    "aten.layer_norm",
    "aten.rms_norm",
    "aten.gelu",
    "aten.hardsigmoid",
    "aten.hardswish",
    "aten.hardtanh",
    "aten.relu6",
    "aten.softmax.int",
    "aten._softmax",
    "aten.log_softmax.int",
    "aten._log_softmax",
    "aten.embedding",
)(call)


@emitter("aten.scaled_dot_product_attention")
def scaled_dot_product_attention(g: Codegen, node: Node, *args: Arg, **kwargs: Arg) -> str:
    """scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, Tensor? attn_mask=None,
    float dropout_p=0.0, bool is_causal=False, *, float? scale=None, bool enable_gqa=False) -> Tensor"""
    dropout_p = args[4] if len(args) > 4 else kwargs.get("dropout_p", 0.0)
    refuse_dropout(dropout_p, "attention dropout")
    return g.call(node)


@emitter("aten.dropout", "aten.feature_dropout")
def dropout(g: Codegen, node: Node, input: Arg, p: float, train: bool) -> str:
    """dropout(Tensor input, float p, bool train) -> Tensor (feature_dropout's schema is the same);
    only the identity of eval mode."""
    refuse_dropout(p if train else 0.0)
    return g.name(input)


# -- views, slices, joins, indexing -------------------------------------------------------------
@emitter("aten.view", "aten._unsafe_view", "aten.view_as")
def view(g: Codegen, node: Node, *args: Arg, **kwargs: Arg) -> str:
    """view(Tensor(a) self, SymInt[] size) -> Tensor(a), emitted as `reshape`: the IR has value
    semantics, so passes drop copies (`contiguous`, `clone`) that a view after a permute relied
    on; reshape views where the strides allow and copies where they do not."""
    if kwargs:
        return g.call(node)
    return g.call(node, packet="reshape_as" if node.op == "aten.view_as" else "reshape")


emitter(
    "aten.reshape",
    "aten.expand",
    "aten.expand_as",
    "aten.flatten.using_ints",
    "aten.slice.Tensor",
    "aten.select.int",
    "aten.squeeze",
    "aten.squeeze.dim",
    "aten.squeeze.dims",
    "aten.unsqueeze",
    "aten.transpose.int",
    "aten.t",
    "aten.permute",
    "aten.cat",
    "aten.stack",
    "aten.split.Tensor",
    "aten.split_with_sizes",
    "aten.unbind.int",
    "aten.gather",
    "aten.index_select",
    "aten.index.Tensor",
    "aten.repeat",
    "aten.tril",
    "aten.triu",
    "aten.chunk",
    "aten.numpy_T",
    "aten.reshape_as",
    "aten.repeat_interleave.Tensor",
    "aten.repeat_interleave.self_Tensor",
    "aten.repeat_interleave.self_int",
    "aten.slice_scatter",
    "aten.select_scatter",
    "aten.pixel_shuffle",
    "aten.index_put",
    "aten._unsafe_index_put",
    "aten.scatter.src",
    "aten.scatter.reduce",
    "aten.scatter.value",
    "aten.scatter.value_reduce",
    "aten.scatter_add",
)(call)

# -- aliases, casts and factories ---------------------------------------------------------------
emitter(
    "aten.contiguous",
    "aten.clone",
    "aten.alias",
    "aten.detach",
    "aten.lift_fresh_copy",
    *CASTS,
    "aten.copy",
)(call)

emitter(
    "aten.arange",
    "aten.arange.start",
    "aten.arange.start_step",
    "aten.full",
    "aten.zeros",
    "aten.ones",
    "aten.empty.memory_format",
    "aten.new_ones",
    "aten.new_zeros",
    "aten.new_empty",
    "aten.new_full",
    "aten.zeros_like",
    "aten.ones_like",
    "aten.empty_like",
    "aten.full_like",
    "aten.scalar_tensor",
    "aten.fill.Scalar",
    "aten.fill.Tensor",
)(call)
