"""irc's decoder ops, made by the decoder fusions (`ort-norm`, `ort-rotary`, `ort-gqa`) and lowered
to ONNX Runtime's com.microsoft kernels. Their references are the math of the ops they replace,
so the interpreter, `--debug-passes` and constant folding treat them like any other op."""

from __future__ import annotations

from typing import Any

from irc.ir.ops import register_op


def _rms(x: Any, eps: float) -> Any:
    import torch

    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


def _simplified_layer_norm(x: Any, weight: Any, *, eps: float) -> Any:
    return weight * _rms(x, eps)


def _skip_simplified_layer_norm(x: Any, skip: Any, weight: Any, *, eps: float) -> tuple[Any, Any]:
    total = x + skip
    return weight * _rms(total, eps), total


def _rotary_embedding(x: Any, cos: Any, sin: Any, *, num_heads: int) -> Any:
    """x [B, S, N*H]; cos, sin [B, S, H] with equal halves (HF's `cat([freqs, freqs], -1)`)."""
    import torch

    batch, sequence, _ = x.shape
    heads = x.reshape(batch, sequence, num_heads, -1)
    half = heads.shape[-1] // 2
    rotated = torch.cat([-heads[..., half:], heads[..., :half]], -1)
    out = heads * cos.unsqueeze(2) + rotated * sin.unsqueeze(2)
    return out.reshape(batch, sequence, -1)


def _group_query_attention(
    query: Any,
    key: Any,
    value: Any,
    past_key: Any,
    past_value: Any,
    mask: Any,
    cos: Any = None,
    sin: Any = None,
    *,
    num_heads: int,
    kv_num_heads: int,
    scale: float,
) -> tuple[Any, Any, Any]:
    """query [B, S, N*H], key and value [B, S, KV*H] (or None: query is packed Q|K|V), past
    [B, KV, P, H], mask bool [B or 1, 1, S, P + S], cos and sin (or None: no rotary) per-token
    tables [B, S, H] rotating query and key; returns the merged output and the presents (BNSH)."""
    import torch

    batch, sequence, _ = query.shape
    head_size = past_key.shape[-1]
    if key is None:
        query, key, value = query.split([num_heads * head_size, *[kv_num_heads * head_size] * 2], -1)
    if cos is not None:
        query = _rotary_embedding(query, cos, sin, num_heads=num_heads)
        key = _rotary_embedding(key, cos, sin, num_heads=kv_num_heads)

    def split(x: Any, heads: int) -> Any:
        return x.reshape(batch, sequence, heads, head_size).transpose(1, 2)

    present_key = torch.cat([past_key, split(key, kv_num_heads)], -2)
    present_value = torch.cat([past_value, split(value, kv_num_heads)], -2)
    groups = num_heads // kv_num_heads
    out = torch.nn.functional.scaled_dot_product_attention(
        split(query, num_heads),
        present_key.repeat_interleave(groups, 1),
        present_value.repeat_interleave(groups, 1),
        mask,
        scale=scale,
    )
    return out.transpose(1, 2).reshape(batch, sequence, -1), present_key, present_value


register_op(
    "irc.simplified_layer_norm",
    _simplified_layer_norm,
    doc="weight * x * rsqrt(mean(x^2, -1) + eps) (RMSNorm): ORT's SimplifiedLayerNormalization",
)
register_op(
    "irc.skip_simplified_layer_norm",
    _skip_simplified_layer_norm,
    doc="(rms_norm(x + skip) * weight, x + skip): ORT's SkipSimplifiedLayerNormalization",
)
register_op(
    "irc.rotary_embedding",
    _rotary_embedding,
    doc="rotate-half rotary of x [B, S, N*H] by per-token cos, sin [B, S, H]: ORT's RotaryEmbedding",
)
register_op(
    "irc.group_query_attention",
    _group_query_attention,
    doc="attention of q [B, S, N*H] over past + new key/value [B, S, KV*H] heads shared by groups "
    "(or packed q|k|v, key and value None), bool mask, optional per-token rotary cos/sin [B, S, H]; "
    "returns (output, present_key, present_value): ORT's GroupQueryAttention",
)
