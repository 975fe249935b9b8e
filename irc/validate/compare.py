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
    ref64 = ref.detach().to(torch.float64)
    out64 = out.detach().to(torch.float64)
    both_nan = torch.isnan(ref64) & torch.isnan(out64)
    diff = (ref64 - out64).abs().masked_fill(both_nan, 0.0)
    # A NaN on one side only is a disagreement, however small the rest.
    max_abs = math.inf if bool(torch.isnan(diff).any()) else float(diff.max())
    rel = diff / ref64.abs().clamp_min(1e-12)
    max_rel = math.inf if bool(torch.isnan(rel).any()) else float(rel.max())
    return OutputResult(name, ref_shape, out_shape, max_abs, max_rel, atol)
