"""Block-wise weight quantization into MatMulNBits' layout (see `irc.ir.ops_quant`).

Each row of the [N, K] weight (one output feature) is cut into blocks of `block` values along K
(the last block zero-padded); each block gets its own scale, and its own zero point when
asymmetric.

- symmetric: the block's value of largest magnitude, sign included, maps to the lowest code
  (scale = that value / -2^(bits-1)), as ONNX Runtime's own quantizer does: the full code range
  [-2^(bits-1), 2^(bits-1) - 1] is used, one level more than a scale of max|w| / (2^(bits-1) - 1).
  The scale may be negative. No zero points are stored (MatMulNBits then uses 2^(bits-1)).
- asymmetric: [min(w, 0), max(w, 0)] maps onto [0, 2^bits - 1], with a zero point per block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Blocks:
    """A weight in MatMulNBits' layout."""

    packed: Any
    """uint8 [N, blocks, block * bits / 8]."""
    scales: Any
    """float32 [N * blocks]."""
    zero_points: Any
    """uint8 ([N * ceil(blocks / 2)] for 4 bits, [N * blocks] for 8), or None (symmetric)."""


def quantize_blocks(weight: Any, bits: int, block: int, symmetric: bool) -> Blocks:
    """`weight` (float [N, K]) quantized to `bits` per block of `block` values along K."""
    import torch

    n, k = weight.shape
    blocks = -(-k // block)
    w = torch.nn.functional.pad(weight.to(torch.float32), (0, blocks * block - k)).reshape(n, blocks, block)
    top = 2**bits - 1
    if symmetric:
        extreme = torch.gather(w, -1, w.abs().argmax(-1, keepdim=True))
        scale = extreme / -(2 ** (bits - 1))
        zero = torch.full_like(scale, 2 ** (bits - 1))
    else:
        low = w.amin(-1, keepdim=True).clamp(max=0.0)
        high = w.amax(-1, keepdim=True).clamp(min=0.0)
        scale = (high - low) / top
        zero = None
    # An all-zero block has no range: any scale stores it exactly (codes equal to the zero point).
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)
    if zero is None:
        zero = torch.clamp(torch.round(-low / scale), 0, top)
    codes = torch.clamp(torch.round(w / scale) + zero, 0, top).to(torch.uint8)
    zero_points = None if symmetric else pack_codes(zero.reshape(n, blocks).to(torch.uint8), bits, pad=True)
    return Blocks(pack_codes(codes, bits), scale.reshape(-1).contiguous(), zero_points)


def pack_codes(codes: Any, bits: int, pad: bool = False) -> Any:
    """uint8 codes [..., L] -> packed bytes, low bits first (two per byte for 4 bits). `pad`: an
    odd L gets a zero code (zero points are padded per row this way), and the result is flat."""
    import torch

    if bits == 8:
        return codes.reshape(-1).contiguous() if pad else codes.contiguous()
    if pad and codes.shape[-1] % 2:
        codes = torch.nn.functional.pad(codes, (0, 1))
    pairs = codes.reshape(*codes.shape[:-1], -1, 2)
    packed = (pairs[..., 0] | (pairs[..., 1] << 4)).to(torch.uint8)
    return packed.reshape(-1).contiguous() if pad else packed.contiguous()
