"""Reference math of the quantized matmuls made by the `quantize-weights` and `quantize-dynamic`
passes: what ONNX Runtime's kernels compute, written in torch so that the interpreter,
`--debug-passes` and constant folding run them like any other op.

Layouts are ONNX Runtime's, so the ONNX backend writes the params as they are:
- `irc.matmul_nbits` (ORT's com.microsoft MatMulNBits): `packed` is uint8 [N, blocks, blob] with
  blob = block_size * bits / 8, codes of one block of K stored low bits first (two 4-bit codes
  per byte, the first in the low nibble); `scales` is [N * blocks]; `zero_points` is uint8,
  [N * ceil(blocks / 2)] with two 4-bit points per byte for bits=4, [N * blocks] for bits=8, or
  absent (then 2^(bits-1), the symmetric case). Weight = (code - zero_point) * scale.
- `irc.gather_nbits` (ORT's com.microsoft GatherBlockQuantized): rows of a symmetric
  `irc.matmul_nbits` table (a tied embedding reading the quantized head), same layout.
- `irc.dynamic_quant_linear` (ORT's DynamicQuantizeMatMul, or DynamicQuantizeLinear +
  MatMulInteger): the activation is quantized per tensor to uint8 at run time, the weight per
  output channel to int8 (symmetric, zero point 0), stored [K, N] as MatMulInteger reads it.
"""

from __future__ import annotations

from typing import Any

from irc.ir.ops import register_op


def unpack_codes(packed: Any, bits: int) -> Any:
    """uint8 [..., blob] -> integer codes [..., blob * 8 / bits], low bits first."""
    import torch

    if bits == 8:
        return packed.to(torch.int32)
    low = (packed & 0x0F).to(torch.int32)
    high = (packed >> 4).to(torch.int32)
    return torch.stack((low, high), dim=-1).flatten(-2)


def dequantize_blocks(
    packed: Any, scales: Any, zero_points: Any = None, *, K: int, N: int, bits: int, block_size: int
) -> Any:
    """The float32 weight [N, K] that MatMulNBits' packed codes, scales and zero points stand for."""
    import torch

    blocks = packed.shape[1]
    codes = unpack_codes(packed, bits).reshape(N, blocks, block_size)
    if zero_points is None:
        zero = torch.full((N, blocks), 2 ** (bits - 1), dtype=torch.int32, device=packed.device)
    else:
        zero = unpack_codes(zero_points.reshape(N, -1), bits)[:, :blocks]
    weight = (codes - zero.unsqueeze(-1)).to(torch.float32) * scales.reshape(N, blocks, 1).to(torch.float32)
    return weight.reshape(N, blocks * block_size)[:, :K]


def _matmul_nbits(
    x: Any,
    packed: Any,
    scales: Any,
    zero_points: Any = None,
    bias: Any = None,
    *,
    K: int,
    N: int,
    bits: int,
    block_size: int,
    accuracy_level: int = 0,
) -> Any:
    # accuracy_level 4 lets ONNX Runtime quantize `x` to int8 per block inside the kernel; the
    # reference computes in float (level 0), which ORT's result approaches within that rounding.
    import torch

    weight = dequantize_blocks(packed, scales, zero_points, K=K, N=N, bits=bits, block_size=block_size)
    return torch.nn.functional.linear(x, weight.to(x.dtype), bias)


register_op(
    "irc.matmul_nbits",
    _matmul_nbits,
    doc="matmul_nbits(Tensor x [.., K], Tensor packed u8 [N, blocks, blob], Tensor scales [N*blocks], "
    "Tensor? zero_points u8, Tensor? bias [N], *, int K, int N, int bits, int block_size, "
    "int accuracy_level=0) -> Tensor [.., N]: "
    "x @ dequantized(packed).T + bias, ORT's MatMulNBits",
)


def _gather_nbits(
    packed: Any, indices: Any, scales: Any, *, K: int, N: int, bits: int, block_size: int
) -> Any:
    import torch

    weight = dequantize_blocks(packed, scales, None, K=K, N=N, bits=bits, block_size=block_size)
    return torch.nn.functional.embedding(indices, weight.to(scales.dtype))


register_op(
    "irc.gather_nbits",
    _gather_nbits,
    doc="gather_nbits(Tensor packed u8 [N, blocks, blob], Tensor indices, Tensor scales [N*blocks], *, "
    "int K, int N, int bits, int block_size) -> Tensor [*indices, K]: rows of the symmetric "
    "block-quantized table that irc.matmul_nbits multiplies by, ORT's GatherBlockQuantized",
)


def quantize_activation(x: Any) -> tuple[Any, Any, Any]:
    """ONNX DynamicQuantizeLinear: uint8 codes of `x` over [min(x, 0), max(x, 0)], the scale and
    the zero point (round half to even, as ONNX specifies)."""
    import torch

    low = torch.clamp(x.min(), max=0.0)
    high = torch.clamp(x.max(), min=0.0)
    scale = (high - low) / 255.0
    # An all-zero input has no range; any scale gives codes equal to the zero point then.
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)
    zero = torch.clamp(torch.round(-low / scale), 0, 255)
    codes = torch.clamp(torch.round(x / scale) + zero, 0, 255)
    return codes, scale, zero


def _dynamic_quant_linear(x: Any, weight: Any, weight_scale: Any, bias: Any = None) -> Any:
    import torch

    codes, scale, zero = quantize_activation(x.to(torch.float32))
    # Integer products summed in float64 are exact (|sum| < 2^53), as MatMulInteger's int32 is.
    acc = torch.matmul((codes - zero).to(torch.float64), weight.to(torch.float64))
    y = (acc * (scale.to(torch.float64) * weight_scale.to(torch.float64))).to(x.dtype)
    return y if bias is None else y + bias


register_op(
    "irc.dynamic_quant_linear",
    _dynamic_quant_linear,
    doc="dynamic_quant_linear(Tensor x [.., K], Tensor weight i8 [K, N], Tensor weight_scale [N], "
    "Tensor? bias [N]) -> Tensor [.., N]: x quantized per tensor to uint8 at run time, times the "
    "per-channel int8 weight, rescaled: ORT's DynamicQuantizeMatMul",
)


def _qkv_attention(qkv: Any, bias: Any = None, mask: Any = None, *, num_heads: int, scale: float) -> Any:
    from irc.ir.ops import packed_attention

    qkv = qkv if bias is None else qkv + bias
    return packed_attention(qkv, mask, num_heads=num_heads, scale=scale)


# `quantize-dynamic` splits `irc.attention` (ORT's Attention, whose packed QKV matmul is float32
# only) into a quantizable matmul and this op: the attention of the projected, packed QKV.
register_op(
    "irc.qkv_attention",
    _qkv_attention,
    doc="qkv_attention(Tensor qkv [B, S, 3*N*H], Tensor? bias [3*N*H], Tensor? mask, *, int num_heads, "
    "float scale) -> Tensor [B, S, N*H]: self-attention of already projected, packed query, key and "
    "value (mask [B or 1, 1, S or 1, S], bool or additive): ORT's MultiHeadAttention",
)
