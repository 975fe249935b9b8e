"""Cases for the quantize-* passes' ops, lowered to com.microsoft MatMulNBits and
DynamicQuantizeMatMul (no `ort_fusions` option needed)."""

from __future__ import annotations

import torch

from irc.passes.quantize_blocks import quantize_blocks
from tests.backends.cases import SEQ, case
from tests.backends.util import GraphMaker, ints


def _w(*shape: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(sum(shape)))


@case(SEQ, atol=1e-4)
def matmul_nbits_int4_int8_with_zero_points_and_bias(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 40))
    outs = []
    for bits, symmetric in ((4, True), (4, False), (8, False)):
        q = quantize_blocks(_w(12, 40), bits, 16, symmetric)
        zeros = None if q.zero_points is None else b.param(f"z{bits}{symmetric}", q.zero_points)
        args = (x, b.param(f"q{bits}{symmetric}", q.packed), b.param(f"s{bits}{symmetric}", q.scales), zeros)
        kwargs = dict(K=40, N=12, bits=bits, block_size=16, accuracy_level=0)
        outs.append(b.op("irc.matmul_nbits", *args, b.param(f"b{bits}{symmetric}", _w(12)), **kwargs))
    b.output(*outs)


@case(SEQ, atol=1e-4)
def dynamic_quant_linear_with_and_without_bias(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 16))
    weight = torch.randint(-127, 128, (16, 6), dtype=torch.int8, generator=torch.Generator().manual_seed(5))
    w, scale = b.param("w", weight), b.param("scale", _w(6).abs() / 100)
    b.output(
        b.op("irc.dynamic_quant_linear", x, w, scale, b.param("bias", _w(6))),
        b.op("irc.dynamic_quant_linear", x, w, scale),
    )


@case(SEQ, ort_fusions=True)
def qkv_attention_of_a_projected_packed_qkv(b: GraphMaker) -> None:
    from tests.backends.cases_ort import _some_rows_fully_masked

    qkv = b.input("qkv", "f32", ("batch", "seq", 24))
    bias = b.param("bqkv", _w(24))
    mask = b.input("mask", "bool", ("batch", 1, "seq", "seq"), make=_some_rows_fully_masked)
    scores = b.input("scores", "f32", ("batch", 1, 1, "seq"))  # additive, broadcast over queries
    b.output(
        b.op("irc.qkv_attention", qkv, bias, mask, num_heads=2, scale=0.5),
        b.op("irc.qkv_attention", qkv, None, scores, num_heads=4, scale=0.3),
        b.op("irc.qkv_attention", qkv, num_heads=2, scale=0.5),
    )


@case(SEQ, atol=1e-4)
def gather_nbits_int4_and_int8(b: GraphMaker) -> None:
    ids = b.input("ids", "i64", ("batch", "seq"), make=ints(0, 12))
    outs = []
    for bits in (4, 8):
        q = quantize_blocks(_w(12, 64), bits, 32, True)
        kwargs = dict(K=64, N=12, bits=bits, block_size=32)
        outs.append(
            b.op(
                "irc.gather_nbits",
                b.param(f"q{bits}", q.packed),
                ids,
                b.param(f"s{bits}", q.scales),
                **kwargs,
            )
        )
    b.output(*outs)
