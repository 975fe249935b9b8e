"""Cases for the `ort-fusions` ops, lowered to com.microsoft kernels (the `ort_fusions` option)."""

from __future__ import annotations

import torch

from tests.backends.cases import SEQ, case
from tests.backends.util import GraphMaker


def _w(*shape: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(sum(shape)))


@case(SEQ, ort_fusions=True)
def ort_gelus_with_and_without_bias(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 8))
    bias = b.param("bias", _w(8))
    b.output(
        b.op("irc.fast_gelu", x, bias),
        b.op("irc.fast_gelu", x),
        b.op("irc.bias_gelu", x, bias),
        b.op("irc.bias_gelu", x),
    )


def _attention_inputs(b: GraphMaker, keys: str = "seq") -> tuple:
    q = b.input("q", "f32", ("batch", "seq", 8))
    k = b.input("k", "f32", ("batch", 2, keys, 4))
    v = b.input("v", "f32", ("batch", 2, keys, 4))
    return q, k, v


def _some_rows_fully_masked(shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    mask = torch.rand(shape, generator=gen) > 0.4
    mask[..., 0, :] = False
    return mask


@case(SEQ, ort_fusions=True)
def ort_attention_bool_mask_with_empty_rows(b: GraphMaker) -> None:
    q, k, v = _attention_inputs(b)
    mask = b.input("mask", "bool", ("batch", 1, "seq", "seq"), make=_some_rows_fully_masked)
    b.output(
        b.op("irc.multi_head_attention", q, k, v, mask, num_heads=2, scale=0.5),
        b.op("irc.multi_head_attention", q, k, v, num_heads=2, scale=0.3),
    )


@case(({"batch": 2, "seq": 3, "past": 4}, {"batch": 1, "seq": 1, "past": 6}), ort_fusions=True)
def ort_attention_float_mask_over_a_past(b: GraphMaker) -> None:
    q, k, v = _attention_inputs(b, keys="past")
    mask = b.input("mask", "f32", (1, 1, 1, "past"))  # broadcast over query positions
    b.output(b.op("irc.multi_head_attention", q, k, v, mask, num_heads=2, scale=0.5))


@case(SEQ, ort_fusions=True)
def ort_packed_attention(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 8))
    weight, bias = b.param("wqkv", _w(8, 24)), b.param("bqkv", _w(24))
    mask = b.input("mask", "bool", ("batch", 1, "seq", "seq"), make=_some_rows_fully_masked)
    scores = b.input("scores", "f32", ("batch", 1, 1, "seq"))  # additive, broadcast over queries
    b.output(
        b.op("irc.attention", x, weight, bias, mask, num_heads=2, scale=0.5),
        b.op("irc.attention", x, weight, bias, scores, num_heads=4, scale=0.3),
        b.op("irc.attention", x, weight, num_heads=2, scale=0.5),
    )


@case(SEQ, ort_fusions=True)
def ort_skip_layer_norm(b: GraphMaker) -> None:
    x, skip = b.input("x", "f32", ("batch", "seq", 8)), b.input("skip", "f32", ("batch", "seq", 8))
    gamma, beta, bias = (
        b.param("gamma", _w(8)),
        b.param("beta", _w(1, 8)[0]),
        b.param("bias", _w(2, 4).reshape(8)),
    )
    b.output(
        b.op("irc.skip_layer_norm", x, skip, gamma, beta, bias, epsilon=1e-12),
        b.op("irc.skip_layer_norm", x, skip, gamma, beta, epsilon=1e-5),
    )
