"""Output-by-output comparison of an artifact's results against the reference model's."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class OutputResult:
    """How one named output compared; truthy when it passed."""

    name: str
    reference_shape: tuple[int, ...] | None
    actual_shape: tuple[int, ...] | None
    max_abs_diff: float
    max_rel_diff: float
    atol: float

    @property
    def shape_ok(self) -> bool:
        return self.reference_shape is not None and self.reference_shape == self.actual_shape

    @property
    def values_ok(self) -> bool:
        return self.shape_ok and self.max_abs_diff <= self.atol

    def __bool__(self) -> bool:
        return self.values_ok


def compare_outputs(
    reference: dict[str, torch.Tensor], actual: dict[str, torch.Tensor], atol: float | dict[str, float]
) -> list[OutputResult]:
    """One result per reference output, in the reference's order; a missing output fails."""
    results = []
    for name, ref in reference.items():
        tol = atol.get(name, 1e-4) if isinstance(atol, dict) else atol
        out = actual.get(name)
        results.append(_compare_one(name, ref, out, tol))
    return results


def _compare_one(name: str, ref: torch.Tensor, out: torch.Tensor | None, atol: float) -> OutputResult:
    ref_shape = tuple(ref.shape)
    if out is None:
        return OutputResult(name, ref_shape, None, math.inf, math.inf, atol)
    out_shape = tuple(out.shape)
    if out_shape != ref_shape:
        return OutputResult(name, ref_shape, out_shape, math.inf, math.inf, atol)
    if ref.numel() == 0:
        return OutputResult(name, ref_shape, out_shape, 0.0, 0.0, atol)
    max_abs = max_rel = 0.0
    flat_ref, flat_out = ref.detach().reshape(-1), out.detach().reshape(-1)
    # In float64 and in blocks: whole-tensor temporaries of GPT-2's logits (5 x 19 x 50257) cost
    # 190 MB at the validation's peak, more than the rest of it.
    for start in range(0, flat_ref.numel(), _BLOCK):
        ref64 = flat_ref[start : start + _BLOCK].to(torch.float64)
        out64 = flat_out[start : start + _BLOCK].to(torch.float64)
        both_nan = torch.isnan(ref64) & torch.isnan(out64)
        diff = (ref64 - out64).abs().masked_fill(both_nan, 0.0)
        # A NaN on one side only is a disagreement, however small the rest.
        block_abs = math.inf if bool(torch.isnan(diff).any()) else float(diff.max())
        rel = diff / ref64.abs().clamp_min(1e-12)
        block_rel = math.inf if bool(torch.isnan(rel).any()) else float(rel.max())
        max_abs, max_rel = max(max_abs, block_abs), max(max_rel, block_rel)
    return OutputResult(name, ref_shape, out_shape, max_abs, max_rel, atol)


_BLOCK = 1 << 18
"""Elements compared at a time (2 MB per float64 temporary)."""
