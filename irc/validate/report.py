"""The validation report, printed the way the Transformers export guide's validation log reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from irc.validate.compare import OutputResult

LABELS = {"onnx": "ONNX", "torchscript": "TorchScript", "neuron": "Neuron"}
"""Backend name -> how the validation log writes it, for reports made without a `label`."""

_OK = "✓"
_BAD = "x"


@dataclass
class CaseResult:
    """One validation run: the input sizes used and the per-output results."""

    sizes: dict[str, int]
    outputs: list[OutputResult]
    expected_names: list[str]
    actual_names: list[str]
    component: str = ""
    """Which model of a multi-model artifact ran (`decoder_model`); empty for a single model."""

    @property
    def names_ok(self) -> bool:
        return set(self.expected_names) == set(self.actual_names)

    @property
    def passed(self) -> bool:
        return self.names_ok and all(self.outputs)


@dataclass
class ValidationReport:
    """All cases of one validation; truthy when every case passed."""

    backend: str
    cases: list[CaseResult] = field(default_factory=list)
    generation: Any = None
    """A GenerationResult when the task decodes (with-past tasks), else None."""
    tolerance_source: str = ""
    """Who set the atol (`--dtype float16`, `--atol`); empty: the task's default."""
    label: str = ""
    """How the log writes the backend (its `Backend.label`); empty: looked up from its name."""

    @property
    def passed(self) -> bool:
        generated = self.generation is None or bool(self.generation)
        return bool(self.cases) and all(c.passed for c in self.cases) and generated

    def __bool__(self) -> bool:
        return self.passed

    def max_abs_diff(self) -> float:
        return max((o.max_abs_diff for c in self.cases for o in c.outputs), default=0.0)

    def format(self) -> str:
        label = self.label or LABELS.get(self.backend, self.backend.capitalize())
        lines: list[str] = []
        if self.tolerance_source:
            atol = next((o.atol for c in self.cases for o in c.outputs), None)
            lines.append(f"Tolerance: atol {atol:g}, set by {self.tolerance_source}")
        for case in self.cases:
            sizes = ", ".join(f"{k}={v}" for k, v in case.sizes.items())
            model = f"{label} model {case.component}" if case.component else f"{label} model"
            lines.append(f"Validating {model} at {sizes}...")
            mark = _OK if case.names_ok else _BAD
            verb = "match" if case.names_ok else "do not match"
            names = ", ".join(case.actual_names)
            lines.append(f"\t-[{mark}] {label} model output names {verb} reference model ({names})")
            for out in case.outputs:
                lines.extend(_format_output(label, out))
        if self.generation is not None:
            lines.append(f"Generating with the {label} model...")
            lines.append(f"\t{self.generation.format()}")
        verdict = "All good" if self.passed else "Validation FAILED"
        lines.append(
            f"{verdict}: max abs diff {self.max_abs_diff():.3g} over {len(self.cases)} input shapes."
        )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        generation = None
        if self.generation is not None:
            generation = {"passed": bool(self.generation), "tokens": self.generation.expected.shape[1]}
        return {
            "backend": self.backend,
            "passed": self.passed,
            "tolerance_source": self.tolerance_source or "task",
            "generation": generation,
            "cases": [
                {
                    **({"component": c.component} if c.component else {}),
                    "sizes": c.sizes,
                    "outputs": {
                        o.name: {
                            "shape": list(o.actual_shape or ()),
                            "max_abs_diff": o.max_abs_diff,
                            "atol": o.atol,
                            "passed": bool(o),
                        }
                        for o in c.outputs
                    },
                }
                for c in self.cases
            ],
        }


def _format_output(label: str, out: OutputResult) -> list[str]:
    lines = [f'\t- Validating {label} Model output "{out.name}":']
    if out.actual_shape is None:
        lines.append(f"\t\t-[{_BAD}] missing from the {label} model's outputs")
        return lines
    mark = _OK if out.shape_ok else _BAD
    verb = "matches" if out.shape_ok else "does not match"
    lines.append(f"\t\t-[{mark}] {out.actual_shape} {verb} {out.reference_shape}")
    if not out.shape_ok:
        return lines
    if out.values_ok:
        lines.append(
            f"\t\t-[{_OK}] all values close (atol: {out.atol:g}, max abs diff: {out.max_abs_diff:.3g})"
        )
    else:
        lines.append(
            f"\t\t-[{_BAD}] values not close enough (atol: {out.atol:g}, max abs diff: {out.max_abs_diff:.3g}, "
            f"max rel diff: {out.max_rel_diff:.3g}); an atol of {out.max_abs_diff:.3g} would pass"
        )
    return lines
