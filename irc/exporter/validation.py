"""The flow's validate step: every model of the plan against the original, then generation.

Reference first, artifact second: the reference's outputs (and generated tokens) are recorded
for every model, its memory-mapped weights go back to the kernel, and only then do the
artifact's models load, so the model and the artifact's runtime never hold the weights at the
same time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from irc.errors import IrcError
from irc.exporter.plan import Check, ExportPlan


def validate_plan(
    plan: ExportPlan, folder: Path, on_case: Callable[..., Any] | None, quality: Any = None
) -> Any:
    """Run every check of `plan` on the artifact in `folder`; the ValidationReport. A graph
    whose pipeline quantized it is judged on task measures at `quality`'s thresholds instead
    (a `MeasuredReport`)."""
    quantized = plan.graphs[0].graph.metadata.get("quantized")
    if quantized:
        from irc.exporter.measured import measure_plan
        from irc.validate.measures import Quality

        return measure_plan(plan, folder, Quality.parse(quality), quantized)
    from contextlib import ExitStack

    from irc.memory import mappings_held, page_out_tensors
    from irc.validate import ValidationReport, validate
    from irc.validate.generation_check import _expected_generation, check_generation

    backend = plan.backend
    parts = plan.parts
    task = parts[0].loaded.task
    recorded = [_Recorded.run(c.part.reference, _case_inputs(c), c.sizes) for c in plan.checks]
    expected = _expected_generation(parts) if task.with_past and "logits" in task.outputs else None
    with mappings_held():  # the model, and so its mappings, outlives this call
        page_out_tensors(parts[0].loaded.module.state_dict().values())
    report = ValidationReport(backend.name, label=backend.display())
    with ExitStack() as stack:
        runners = {c.name: stack.enter_context(backend.load(folder, c.name)).run for c in plan.checks}
        for check, record in zip(plan.checks, recorded, strict=True):
            report.cases += validate(
                record.replay,
                runners[check.name],
                _case_inputs(check),
                check.sizes,
                check.atol,
                backend.name,
                on_case,
                component="" if check.name == "model" else check.name,
            ).cases
        if expected is not None:
            report.generation = check_generation(parts, runners, plan.checks[0].atol, expected)
    report.tolerance_source = plan.tolerance.source
    return report


def _case_inputs(check: Check) -> Callable[[dict[str, int], int], dict[str, Any]]:
    def make(case: dict[str, int], seed: int) -> dict[str, Any]:
        return check.part.make_inputs(case, seed=seed, pad=True)

    return make


@dataclass
class _Recorded:
    """Reference outputs per validation case, replayed in the order `validate` asks for them."""

    outputs: list[tuple[Any, dict[str, Any]]]

    @classmethod
    def run(cls, reference: Any, make: Any, sizes: list[dict[str, int]]) -> _Recorded:
        import torch

        outputs = []
        for seed, case in enumerate(sizes):  # the seeds `validate` uses
            inputs = make(case, seed + 1)
            with torch.no_grad():
                outputs.append((_shapes(inputs), reference(inputs)))
        return cls(outputs)

    def replay(self, inputs: dict[str, Any]) -> dict[str, Any]:
        shapes, outputs = self.outputs.pop(0)
        if shapes != _shapes(inputs):
            raise IrcError(f"validation asked for inputs {_shapes(inputs)} out of order (recorded {shapes})")
        return outputs


def _shapes(inputs: dict[str, Any]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    return tuple((k, tuple(v.shape)) for k, v in inputs.items())
