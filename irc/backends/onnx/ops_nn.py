"""Neural-network ops: matmuls, normalizations, activations, embedding and attention."""

from __future__ import annotations

import math
from typing import Any

from irc.backends.emitters import refuse_dropout
from irc.backends.onnx.builder import Builder, dtype_of, out_dtype, rank_of
from irc.backends.onnx.registry import lowering
from irc.errors import LoweringError
from irc.ir.core import Node, Value
from irc.ir.dtypes import DType

Arg = Any


def _swap_last(g: Builder, x: str, rank: int) -> str:
    perm = list(range(rank))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    return g.op("Transpose", x, perm=perm)


# -- matmuls ------------------------------------------------------------------------------------
@lowering("aten.linear")
def linear(g: Builder, node: Node, input: Value, weight: Value, bias: Value | None = None) -> str:
    """linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor"""
    w = g.tensor(weight)
    if rank_of(weight) != 2 or w in g.transposed:
        y = g.op("MatMul", g.tensor(input), w)
        return y if bias is None else g.op("Add", y, g.tensor(bias))
    # A weight also read elsewhere (a tied embedding) stays as it is: Gemm reads it transposed
    # (transB), where MatMul would need Transpose(W), which ONNX Runtime folds into a second,
    # transposed copy at load.
    x = g.tensor(input)
    features = weight.tensor_type.shape[1]
    rank = rank_of(input)
    flat = x if rank == 2 else g.op("Reshape", x, g.ints([-1, features]))
    b = None if bias is None else g.tensor(bias)
    y = g.op("Gemm", flat, w, b, transB=1)
    if rank == 2:
        return y
    out_features = weight.tensor_type.shape[0]
    return g.op("Reshape", y, g.op("Concat", g.shape(input, 0, rank - 1), g.ints([out_features]), axis=0))


@lowering("aten.addmm")
def addmm(
    g: Builder, node: Node, self: Value, mat1: Value, mat2: Value, *, beta: Arg = 1, alpha: Arg = 1
) -> str:
    """addmm(Tensor self, Tensor mat1, Tensor mat2, *, Scalar beta=1, Scalar alpha=1) -> Tensor"""
    return g.op("Gemm", g.tensor(mat1), g.tensor(mat2), g.tensor(self), alpha=float(alpha), beta=float(beta))


@lowering("aten.mm", "aten.bmm", "aten.matmul")
def matmul(g: Builder, node: Node, self: Value, other: Value) -> str:
    """matmul(Tensor self, Tensor other) -> Tensor"""
    return g.op("MatMul", g.tensor(self), g.tensor(other))


@lowering("aten.baddbmm")
def baddbmm(
    g: Builder, node: Node, self: Value, batch1: Value, batch2: Value, *, beta: Arg = 1, alpha: Arg = 1
) -> str:
    """baddbmm(Tensor self, Tensor batch1, Tensor batch2, *, Scalar beta=1, Scalar alpha=1) -> Tensor"""
    dtype = out_dtype(node)
    product = g.op("MatMul", g.tensor(batch1), g.tensor(batch2))
    if alpha != 1:
        product = g.op("Mul", product, g.const(alpha, dtype))
    if beta == 0:
        return product  # torch ignores `self` (even NaN in it) when beta is 0
    base = g.tensor(self) if beta == 1 else g.op("Mul", g.tensor(self), g.const(beta, dtype))
    return g.op("Add", base, product)


@lowering("aten.einsum")
def einsum(g: Builder, node: Node, equation: str, tensors: list[Value], *, path: Arg = None) -> str:
    """einsum(str equation, Tensor[] tensors, *, int[]? path=None) -> Tensor"""
    dtype = out_dtype(node)
    return g.op("Einsum", *[g.tensor(t, dtype) for t in tensors], equation=equation.replace(" ", ""))


# -- normalization ------------------------------------------------------------------------------
@lowering("aten.layer_norm")
def layer_norm(
    g: Builder,
    node: Node,
    input: Value,
    normalized_shape: list[int],
    weight: Value | None = None,
    bias: Value | None = None,
    eps: float = 1e-05,
    cudnn_enable: bool = True,
) -> str:
    """layer_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight=None, Tensor? bias=None,
    float eps=1e-05, bool cudnn_enable=True) -> Tensor"""
    dtype = out_dtype(node)
    axis = -len(normalized_shape)
    scale = (
        g.tensor(weight)
        if weight is not None
        else g.op("ConstantOfShape", g.ints(normalized_shape), value=_filled(1, dtype))
    )
    shift = g.tensor(bias) if bias is not None else None
    if g.opset >= 17:
        return g.op("LayerNormalization", g.tensor(input), scale, shift, axis=axis, epsilon=float(eps))
    axes = list(range(rank_of(input) + axis, rank_of(input)))
    x = g.tensor(input)
    centered = g.op("Sub", x, g.reduce("ReduceMean", x, axes, True))
    variance = g.reduce("ReduceMean", g.op("Mul", centered, centered), axes, True)
    std = g.op("Sqrt", g.op("Add", variance, g.const(eps, dtype)))
    y = g.op("Mul", g.op("Div", centered, std), scale)
    return y if shift is None else g.op("Add", y, shift)


def _filled(fill: float, dtype: DType) -> Any:
    """The `value` attribute of a ConstantOfShape filling with `fill`."""
    import torch

    from irc.backends.onnx.builder import tensor_proto

    return tensor_proto("value", torch.full((1,), fill, dtype=dtype.to_torch()))


@lowering("aten.rms_norm")
def rms_norm(
    g: Builder,
    node: Node,
    input: Value,
    normalized_shape: list[int],
    weight: Value | None = None,
    eps: Arg = None,
) -> str:
    """rms_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight=None, float? eps=None) -> Tensor"""
    import torch

    dtype = out_dtype(node)
    epsilon = torch.finfo(dtype.to_torch()).eps if eps is None else eps
    x = g.tensor(input)
    axes = list(range(rank_of(input) - len(normalized_shape), rank_of(input)))
    mean_square = g.reduce("ReduceMean", g.op("Mul", x, x), axes, True)
    y = g.op("Mul", x, g.op("Reciprocal", g.op("Sqrt", g.op("Add", mean_square, g.const(epsilon, dtype)))))
    return y if weight is None else g.op("Mul", y, g.tensor(weight))


# -- batch norm ---------------------------------------------------------------------------------
def _channel_vector(g: Builder, input: Value, arg: Value | None, fill: float, dtype: DType) -> str:
    if arg is not None:
        return g.tensor(arg, dtype)
    return g.op("ConstantOfShape", g.shape(input, 1, 2), value=_filled(fill, dtype))


def _broadcast_channels(g: Builder, vector: str, rank: int) -> str:
    """[C] -> [C, 1, ...] so that it lines up with axis 1 of a rank-`rank` input."""
    if rank <= 2:
        return vector
    return g.op("Unsqueeze", vector, g.const(list(range(1, rank - 1)), DType.I64))


def batch_norm_outputs(
    g: Builder,
    node: Node,
    input: Value,
    weight: Value | None,
    bias: Value | None,
    running_mean: Value | None,
    running_var: Value | None,
    training: bool,
    eps: float,
) -> list[str]:
    """[y, saved mean, saved 1/std]: running statistics in eval, batch statistics in training
    (or without running statistics), as torch's batch norm. Saved statistics are empty when the
    op's outputs say so (eval)."""
    dtype = out_dtype(node)
    rank = rank_of(input)
    scale = _channel_vector(g, input, weight, 1.0, dtype)
    shift = _channel_vector(g, input, bias, 0.0, dtype)
    x = g.tensor(input, dtype)
    use_batch = training or running_mean is None or running_var is None
    if not use_batch:
        y = g.op(
            "BatchNormalization",
            x,
            scale,
            shift,
            g.tensor(running_mean, dtype),
            g.tensor(running_var, dtype),
            epsilon=float(eps),
        )
        mean = invstd = None
    else:
        axes = [0, *range(2, rank)]
        mean = g.reduce("ReduceMean", x, axes, True)
        centered = g.op("Sub", x, mean)
        var = g.reduce("ReduceMean", g.op("Mul", centered, centered), axes, True)
        invstd = g.op("Reciprocal", g.op("Sqrt", g.op("Add", var, g.const(eps, dtype))))
        normed = g.op("Mul", centered, invstd)
        y = g.op(
            "Add",
            g.op("Mul", normed, _broadcast_channels(g, scale, rank)),
            _broadcast_channels(g, shift, rank),
        )
    results = [y]
    for value, stat in zip(node.outputs[1:], (mean, invstd), strict=False):
        if stat is not None:
            results.append(g.op("Reshape", stat, g.const([-1], DType.I64)))
        elif value.tensor_type.shape == (0,):  # eval mode saves no statistics
            results.append(
                g.op("ConstantOfShape", g.const([0], DType.I64), value=_filled(0, value.type.dtype))
            )
        else:
            raise LoweringError("eval-mode batch norm has no saved statistics to return")
    return results


@lowering("aten.batch_norm")
def batch_norm(
    g: Builder,
    node: Node,
    input: Value,
    weight: Value | None,
    bias: Value | None,
    running_mean: Value | None,
    running_var: Value | None,
    training: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool = True,
) -> str:
    """batch_norm(Tensor input, Tensor? weight, Tensor? bias, Tensor? running_mean,
    Tensor? running_var, bool training, float momentum, float eps, bool cudnn_enabled) -> Tensor"""
    return batch_norm_outputs(g, node, input, weight, bias, running_mean, running_var, training, eps)[0]


@lowering("aten._native_batch_norm_legit_no_training")
def native_batch_norm_no_training(
    g: Builder,
    node: Node,
    input: Value,
    weight: Value | None,
    bias: Value | None,
    running_mean: Value,
    running_var: Value,
    momentum: float,
    eps: float,
) -> list[str]:
    """_native_batch_norm_legit_no_training(Tensor input, Tensor? weight, Tensor? bias,
    Tensor running_mean, Tensor running_var, float momentum, float eps) -> (Tensor, Tensor, Tensor)"""
    return batch_norm_outputs(g, node, input, weight, bias, running_mean, running_var, False, eps)


@lowering("aten.native_batch_norm", "aten._native_batch_norm_legit")
def native_batch_norm(
    g: Builder,
    node: Node,
    input: Value,
    weight: Value | None,
    bias: Value | None,
    running_mean: Value | None,
    running_var: Value | None,
    training: bool,
    momentum: float,
    eps: float,
) -> list[str]:
    """native_batch_norm(Tensor input, Tensor? weight, Tensor? bias, Tensor? running_mean,
    Tensor? running_var, bool training, float momentum, float eps) -> (Tensor, Tensor, Tensor)"""
    return batch_norm_outputs(g, node, input, weight, bias, running_mean, running_var, training, eps)


@lowering("aten._native_batch_norm_legit.no_stats")
def native_batch_norm_no_stats(
    g: Builder,
    node: Node,
    input: Value,
    weight: Value | None,
    bias: Value | None,
    training: bool,
    momentum: float,
    eps: float,
) -> list[str]:
    """_native_batch_norm_legit.no_stats(Tensor input, Tensor? weight, Tensor? bias, bool training,
    float momentum, float eps) -> (Tensor, Tensor, Tensor)"""
    return batch_norm_outputs(g, node, input, weight, bias, None, None, training, eps)


# -- activations --------------------------------------------------------------------------------
@lowering("aten.gelu")
def gelu(g: Builder, node: Node, self: Value, *, approximate: str = "none") -> str:
    """gelu(Tensor self, *, str approximate='none') -> Tensor"""
    dtype = out_dtype(node)
    x = g.tensor(self)
    if g.opset >= 20:
        return g.op("Gelu", x, approximate=approximate)
    if approximate == "tanh":
        half = g.op("Mul", x, g.const(0.5, dtype))
        cube = g.op("Mul", g.op("Mul", x, x), x)
        inner = g.op("Add", x, g.op("Mul", cube, g.const(0.044715, dtype)))
        t = g.op("Tanh", g.op("Mul", inner, g.const(math.sqrt(2 / math.pi), dtype)))
        return g.op("Mul", half, g.op("Add", t, g.const(1.0, dtype)))
    # x * (1 + erf(x / sqrt 2)) * 0.5, in this order: the form ONNX Runtime fuses into one Gelu.
    t = g.op("Erf", g.op("Div", x, g.const(math.sqrt(2.0), dtype)))
    return g.op("Mul", g.op("Mul", x, g.op("Add", t, g.const(1.0, dtype))), g.const(0.5, dtype))


@lowering("aten.softmax.int", "aten._softmax", "aten.log_softmax.int", "aten._log_softmax")
def softmax(g: Builder, node: Node, self: Value, dim: int, dtype_or_half: Arg = None) -> str:
    """softmax.int(Tensor self, int dim, ScalarType? dtype=None) -> Tensor"""
    op_type = "LogSoftmax" if "log_softmax" in node.op else "Softmax"
    return g.op(op_type, g.tensor(self, out_dtype(node)), axis=dim % max(rank_of(self), 1))


@lowering("aten.embedding")
def embedding(
    g: Builder,
    node: Node,
    weight: Value,
    indices: Value,
    padding_idx: int = -1,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> str:
    """embedding(Tensor weight, Tensor indices, SymInt padding_idx=-1, bool scale_grad_by_freq=False,
    bool sparse=False) -> Tensor"""
    return g.op("Gather", g.tensor(weight), g.tensor(indices), axis=0)


# -- attention ----------------------------------------------------------------------------------
@lowering("aten.scaled_dot_product_attention")
def scaled_dot_product_attention(
    g: Builder,
    node: Node,
    query: Value,
    key: Value,
    value: Value,
    attn_mask: Value | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    *,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> str:
    """scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, Tensor? attn_mask=None,
    float dropout_p=0.0, bool is_causal=False, *, float? scale=None, bool enable_gqa=False) -> Tensor

    softmax(q @ k^T * scale + mask) @ v, where a bool mask's True means "attend", the causal mask
    is aligned top-left, and a row with every key masked gives zeros (torch's safe softmax).
    """
    refuse_dropout(dropout_p, "attention dropout")
    dtype = out_dtype(node)
    rank = rank_of(query)
    if g.opset >= 23 and rank == 4 and dtype in (DType.F32, DType.F16):
        return _attention_op(g, query, key, value, attn_mask, is_causal, scale)
    k, v = g.tensor(key), g.tensor(value)
    if enable_gqa:
        k, v = _repeat_kv(g, query, key), _repeat_kv(g, query, value)
    q = g.op("Mul", g.tensor(query), _scale(g, query, scale, dtype))
    scores = g.op("MatMul", q, _swap_last(g, k, rank))
    masked = attn_mask is not None or is_causal
    if is_causal:
        scores = g.op("Where", _causal_mask(g, query, key), scores, g.const(-math.inf, dtype))
    if attn_mask is not None and dtype_of(attn_mask) is DType.BOOL:
        scores = g.op("Where", g.tensor(attn_mask), scores, g.const(-math.inf, dtype))
    elif attn_mask is not None:
        scores = g.op("Add", scores, g.tensor(attn_mask, dtype))
    probs = g.op("Softmax", scores, axis=-1)
    if masked:
        # ONNX Softmax gives NaN on a row of -inf; torch gives zeros there.
        row_max = g.reduce("ReduceMax", scores, [rank - 1], True)
        empty = g.op("Equal", row_max, g.const(-math.inf, dtype))
        probs = g.op("Where", empty, g.const(0.0, dtype), probs)
    return g.op("MatMul", probs, v)


def _attention_op(
    g: Builder,
    query: Value,
    key: Value,
    value: Value,
    attn_mask: Value | None,
    is_causal: bool,
    scale: float | None,
) -> str:
    """ONNX's Attention (opset 23): one fused kernel in ONNX Runtime, which also gives zeros for
    a fully masked row and shares key/value heads among query heads as torch does. ONNX Runtime
    wants the mask's query axis at full length, so a mask broadcast along it is expanded."""
    mask = None
    if attn_mask is not None:
        mask = g.tensor(attn_mask)
        mask_rank = rank_of(attn_mask)
        if attn_mask.tensor_type.shape[-2] != query.tensor_type.shape[-2]:
            leading = [g.shape(attn_mask, 0, mask_rank - 2)] if mask_rank > 2 else []
            sizes = g.op("Concat", *leading, g.shape(query, 2, 3), g.shape(attn_mask, mask_rank - 1), axis=0)
            mask = g.op("Expand", mask, sizes)
    attrs: dict[str, Any] = {"is_causal": int(bool(is_causal))}
    if scale is not None:
        attrs["scale"] = float(scale)
    return g.op("Attention", g.tensor(query), g.tensor(key), g.tensor(value), mask, **attrs)


def _scale(g: Builder, query: Value, scale: float | None, dtype: DType) -> str:
    if scale is not None:
        return g.const(float(scale), dtype)
    size = query.tensor_type.shape[-1]
    if isinstance(size, int):
        return g.const(1 / math.sqrt(size), dtype)
    return g.op("Reciprocal", g.op("Sqrt", g.cast(g.dim(query, -1), DType.I64, dtype)))


def _causal_mask(g: Builder, query: Value, key: Value) -> str:
    """[L, S] bool, True where key position <= query position."""
    zero, one = g.const(0, DType.I64), g.const(1, DType.I64)
    rows = g.op("Range", zero, g.dim(query, -2), one)
    cols = g.op("Range", zero, g.dim(key, -2), one)
    return g.op("LessOrEqual", cols, g.op("Unsqueeze", rows, g.const([1], DType.I64)))


def _repeat_kv(g: Builder, query: Value, kv: Value) -> str:
    """Repeat each key/value head for the query heads sharing it (`repeat_interleave` on -3)."""
    heads_q, heads_kv = query.tensor_type.shape[-3], kv.tensor_type.shape[-3]
    if not (isinstance(heads_q, int) and isinstance(heads_kv, int)):
        raise LoweringError("grouped-query attention needs static head counts")
    if heads_q == heads_kv:
        return g.tensor(kv)
    rank = rank_of(kv)
    spread = g.op("Unsqueeze", g.tensor(kv), g.const([rank - 2], DType.I64))
    repeats = g.const([1] * (rank - 2) + [heads_q // heads_kv, 1, 1], DType.I64)
    heads = g.const([heads_q], DType.I64)
    shape = g.op("Concat", g.shape(kv, 0, rank - 3), heads, g.shape(kv, rank - 2, rank), axis=0)
    return g.op("Reshape", g.op("Expand", spread, repeats), shape, allowzero=1)


@lowering("aten.pixel_shuffle")
def pixel_shuffle(g: Builder, node: Node, self: Value, upscale_factor: int) -> str:
    """pixel_shuffle(Tensor self, int upscale_factor) -> Tensor"""
    if rank_of(self) != 4:
        raise LoweringError(f"pixel_shuffle is lowered for 4-D inputs only, not rank {rank_of(self)}")
    # DepthToSpace in CRD mode orders the channels as torch's pixel_shuffle does.
    return g.op("DepthToSpace", g.tensor(self), blocksize=upscale_factor, mode="CRD")
