"""Cases for the decoder fusions' ops (`ort-norm`, `ort-rotary`, `ort-gqa`), lowered to ONNX
Runtime's kernels (the `ort_fusions` option)."""

from __future__ import annotations

import torch

from tests.backends.cases import SEQ, case
from tests.backends.util import GraphMaker

CACHE = (
    {"batch": 2, "seq": 3, "past": 4},
    {"batch": 1, "seq": 1, "past": 6},
    {"batch": 3, "seq": 4, "past": 0},
)


def _w(*shape: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(sum(shape)))


@case(SEQ, ort_fusions=True)
def ort_rms_norms_with_and_without_a_residual(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 8))
    skip = b.input("skip", "f32", ("batch", "seq", 8))
    weight = b.param("weight", _w(8))
    normed, total = b.op("irc.skip_simplified_layer_norm", x, skip, weight, eps=1e-6, outputs=2)
    b.output(b.op("irc.simplified_layer_norm", x, weight, eps=1e-5), normed, total)


def _table(shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    """A cos-like table with equal halves, as `cos(cat([f, f], -1))` makes."""
    freqs = torch.rand((*shape[:-1], shape[-1] // 2), generator=gen) * 6
    return torch.cos(torch.cat([freqs, freqs], -1))


@case(SEQ, ort_fusions=True)
def ort_rotary_embedding_per_token_tables(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 16))
    cos = b.input("cos", "f32", ("batch", "seq", 8), make=_table)
    sin = b.input("sin", "f32", ("batch", "seq", 8), make=_table)
    b.output(b.op("irc.rotary_embedding", x, cos, sin, num_heads=2))


def _causal_padded(shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    """Bottom-right causal rows over past + new keys, each batch row left-padded at random (the
    first row's whole prompt when there is no past: rows with every key masked)."""
    batch, _, sequence, total = shape
    rows = torch.arange(sequence)[:, None] + total - sequence
    causal = torch.arange(total)[None, :] <= rows
    pads = torch.randint(0, total, (batch,), generator=gen)
    pads[0] = total - 1 if total > 1 else 0
    keep = torch.arange(total)[None, :] >= pads[:, None]
    return causal[None, None] & keep[:, None, None, :]


@case(CACHE, ort_fusions=True)
def ort_group_query_attention_over_a_past(b: GraphMaker) -> None:
    q = b.input("q", "f32", ("batch", "seq", 32))  # 4 heads of 8 (ORT wants a multiple of 8)
    k = b.input("k", "f32", ("batch", "seq", 16))  # 2 KV heads
    v = b.input("v", "f32", ("batch", "seq", 16))
    past_k = b.input("past_k", "f32", ("batch", 2, "past", 8))
    past_v = b.input("past_v", "f32", ("batch", 2, "past", 8))
    mask = b.input("mask", "bool", ("batch", 1, "seq", "past + seq"), make=_causal_padded)
    out, present_k, present_v = b.op(
        "irc.group_query_attention", q, k, v, past_k, past_v, mask,
        num_heads=4, kv_num_heads=2, scale=0.5, outputs=3,
    )  # fmt: skip
    b.output(out, present_k, present_v)


def _per_token_table(shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    """cos or sin of each token's own position (random, as left padding makes them), equal halves."""
    positions = torch.randint(0, 64, shape[:-1], generator=gen)[..., None].float()
    freqs = positions * 10000 ** -(torch.arange(shape[-1] // 2) / (shape[-1] // 2))
    return torch.cos(torch.cat([freqs, freqs], -1))


@case(CACHE, ort_fusions=True)
def ort_group_query_attention_packed_with_rotary_inside(b: GraphMaker) -> None:
    qkv = b.input("qkv", "f32", ("batch", "seq", 128))  # 4 heads of 16 and 2 KV heads, packed
    cos = b.input("cos", "f32", ("batch", "seq", 16), make=_per_token_table)
    sin = b.input("sin", "f32", ("batch", "seq", 16), make=_per_token_table)
    past_k = b.input("past_k", "f32", ("batch", 2, "past", 16))
    past_v = b.input("past_v", "f32", ("batch", 2, "past", 16))
    mask = b.input("mask", "bool", ("batch", 1, "seq", "past + seq"), make=_causal_padded)
    out, present_k, present_v = b.op(
        "irc.group_query_attention", qkv, None, None, past_k, past_v, mask, cos, sin,
        num_heads=4, kv_num_heads=2, scale=0.25, outputs=3,
    )  # fmt: skip
    b.output(out, present_k, present_v)
