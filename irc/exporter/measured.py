"""The validate step of an export whose pipeline quantized the weights: the artifact against the
float32 model on task measures (`irc.validate.measures`), not on a float32 atol.

The inputs are the validation's own cases (every size set of every model, two seeds each, rows
padded), so the measures cover a few hundred positions at batch sizes and lengths other than the
traced ones; a decoder with a cache also greedy-decodes through the artifact next to
`model.generate`, on the generation check's left-padded prompts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from irc.exporter.plan import Check, ExportPlan
from irc.validate.measures import (
    Measure,
    MeasuredReport,
    Quality,
    greedy_agreement,
    kl_divergence,
    min_cosine,
    top1_agreement,
)

SEEDS = (1, 2)


def measure_plan(plan: ExportPlan, folder: Path, quality: Quality, quantized: str) -> MeasuredReport:
    """Every model of `plan` in `folder` against the reference, on task measures."""
    from contextlib import ExitStack

    from irc.validate.generation_check import _expected_generation

    backend, parts = plan.backend, plan.parts
    task = parts[0].loaded.task
    recorded = {check.name: _reference(check) for check in plan.checks}
    generates = task.with_past and "logits" in task.outputs and len(parts) == 1
    expected = _expected_generation(parts) if generates else None
    report = MeasuredReport(backend.name, quantized, quality, label=backend.display())
    with ExitStack() as stack:
        runners = {c.name: stack.enter_context(backend.load(folder, c.name)).run for c in plan.checks}
        for check in plan.checks:
            pairs = [(inputs, ref, runners[check.name](inputs)) for inputs, ref in recorded[check.name]]
            report.measures[check.name] = output_measures(pairs, quality)
        if expected is not None:
            report.measures[plan.checks[0].name].append(
                _greedy(parts[0], runners["model"], expected, quality)
            )
    return report


def _reference(check: Check) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    import torch

    cases = []
    for sizes in check.sizes:
        for seed in SEEDS:
            inputs = check.part.make_inputs(sizes, seed=seed, pad=True)
            with torch.no_grad():
                cases.append((inputs, check.part.reference(inputs)))
    return cases


def output_measures(
    pairs: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]], quality: Quality
) -> list[Measure]:
    """top1 and kl of every `*logits` output, cosine of the other float outputs (the cache's
    `present.*` are judged through the logits), over all `(inputs, reference, actual)` cases."""
    import torch

    measures = []
    for name in pairs[0][1]:
        if name.startswith("present") or not pairs[0][1][name].is_floating_point():
            continue
        if name.endswith("logits"):
            ref_rows = torch.cat([_rows(ref[name], _mask(inputs, ref[name])) for inputs, ref, _ in pairs])
            out_rows = torch.cat([_rows(out[name], _mask(inputs, ref[name])) for inputs, ref, out in pairs])
            top1, count = top1_agreement(ref_rows, out_rows)
            where = f"{name}, {count} positions"
            measures.append(Measure("top1", top1, quality.min_top1, True, where))
            measures.append(Measure("kl", kl_divergence(ref_rows, out_rows), quality.max_kl, False, where))
            continue
        cos, _ = min(min_cosine(ref[name], out[name], _mask(inputs, ref[name])) for inputs, ref, out in pairs)
        rows = "sentence embeddings" if pairs[0][1][name].dim() == 3 else "rows"
        measures.append(Measure("cosine", cos, quality.min_cosine, True, f"{name}, lowest of its {rows}"))
    return measures


def _mask(inputs: dict[str, Any], output: Any) -> Any:
    """The attention mask's last `sequence` columns when `output` is [batch, sequence, ...]."""
    mask = inputs.get("attention_mask")
    if mask is None or output.dim() < 3 or mask.dim() != 2 or mask.shape[0] != output.shape[0]:
        return None
    if mask.shape[1] < output.shape[1]:
        return None
    return mask[:, mask.shape[1] - output.shape[1] :]


def _rows(tensor: Any, mask: Any) -> Any:
    rows = tensor.reshape(-1, tensor.shape[-1])
    return rows if mask is None else rows[mask.reshape(-1).bool()]


def _greedy(part: Any, runner: Any, expected: Any, quality: Quality) -> Measure:
    from irc.validate.generate import greedy_decode
    from irc.validate.generation_check import GENERATED_TOKENS, _empty_past

    positions = any(s.name == "position_ids" for s in part.specs)
    batch = expected.ids.shape[0]
    tokens, _ = greedy_decode(
        runner, expected.ids, _empty_past(part, batch), GENERATED_TOKENS, expected.mask, positions
    )
    value = greedy_agreement(expected.tokens, tokens, expected.eos)
    detail = (
        f"mean leading tokens that match model.generate() over {batch} prompts, of {expected.tokens.shape[1]}"
    )
    return Measure("greedy", value, quality.min_greedy, True, detail)
