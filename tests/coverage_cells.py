"""The coverage matrix: every (test model type, task) irc exports, exported and validated.

The test model types are tests/models.py's tiny configs (TINY_CONFIGS, MULTIMODAL_CONFIGS) and its
variants (`deberta+relative-attention`: the type configured as its real checkpoints are).

`benchmarks/coverage.py` runs every cell per backend and writes docs/coverage.md;
`tests/test_coverage.py` runs every cell on the ONNX backend. Both go through `run_cell`, which
exports a tiny random model with `irc.export(..., validate=True)`, so each cell is traced at one
shape and checked against PyTorch at two others.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KNOWN_FAILURES: dict[tuple[str, str], str] = {}
"""Cells that fail on the ONNX backend today, with why: tests/test_coverage.py marks them
xfail(strict=True), so an entry must go as soon as its fix lands (an unexpected pass fails)."""

KNOWN_REFUSALS: dict[tuple[str, str], str] = {
    ("longt5+transient-global", task): "encoder_attention_type: transient-global"
    for task in ("default", "seq2seq-lm", "seq2seq-lm-with-past")
}
"""Cells irc refuses before tracing (stage `refused`), with the config field the refusal must name:
transient-global attention one-hot encodes by a block count torch.export fixes at the traced
length (irc/frontend/unsupported.py)."""


@dataclass
class CellResult:
    """One exported and validated cell; `reason` is empty when it passed."""

    model_type: str
    task: str
    backend: str
    passed: bool
    max_abs_diff: float | None
    seconds: float
    """Wall time of `irc.export` (trace, passes, lowering, validation), not of building the model."""
    atol: float
    reason: str = ""
    stage: str = ""
    """Where a failure happened: `build` (the tiny model), `refused` (irc names a config feature it
    cannot export, before tracing), `export` (trace, passes, lowering) or `validate` (the artifact
    disagrees); empty when the cell passed."""


def cells() -> list[tuple[str, str]]:
    """Every test model type (tests/models.py), crossed with every task the frontend exports it
    for: the types are the suite's parametrization, the tasks are what irc decides."""
    from irc.frontend.tasks import supported_tasks
    from tests.models import MULTIMODAL_CONFIGS, TINY_CONFIGS, VARIANTS, base_type, tiny_config

    names = [*TINY_CONFIGS, *MULTIMODAL_CONFIGS, *VARIANTS]
    return [(m, task) for m in names for task in supported_tasks(base_type(m), tiny_config(m))]


def expected_atol(model_type: str, task: str) -> float:
    """The tolerance the cell is validated at: the architecture's when it documents one."""
    from irc.frontend.tasks import get_task
    from tests.models import base_type

    return get_task(task, base_type(model_type)).atol


def run_cell(
    model_type: str, task: str, backend: str, workdir: Path, build: Callable[[str, str], Any] | None = None
) -> CellResult:
    """Export and validate a tiny `model_type` with the head of `task`; never raises.

    `build(model_type, task)` makes the model (default: tests/models.py's tiny configs). The
    artifact goes to a folder under `workdir` that is removed afterwards, whatever happened.
    """
    output = Path(workdir) / f"{model_type}-{task}-{backend}"
    atol = _safe_atol(model_type, task)
    started = time.perf_counter()
    stage = "build"
    try:
        model = (build or _build)(model_type, task)
        stage = "export"
        started = time.perf_counter()
        result = _export(model, task, output, backend)
    except Exception as exc:  # a cell reports any failure, so one bad cell cannot stop the matrix
        seconds = time.perf_counter() - started
        report = getattr(exc, "report", None)
        stage = "validate" if report is not None and stage == "export" else stage
        stage = "refused" if _refused(exc) else stage
        reason = _reason(exc)
        if stage == "build":
            reason = f"the tiny model does not build: {reason}"
        return CellResult(
            model_type,
            task,
            backend,
            False,
            _max_diff(report),
            seconds,
            _used_atol(report, atol),
            reason,
            stage,
        )
    finally:
        shutil.rmtree(output, ignore_errors=True)
    seconds = time.perf_counter() - started
    report = result.report
    return CellResult(
        model_type,
        task,
        backend,
        bool(report.passed),
        _max_diff(report),
        seconds,
        _used_atol(report, atol),
        "" if report.passed else _first_bad_output(report),
        "" if report.passed else "validate",
    )


def _build(model_type: str, task: str) -> Any:
    from tests.models import encoder_as_decoder, tiny_model

    if task.endswith("-with-past") and encoder_as_decoder(model_type):
        # A decoder checkpoint of BERT and its kin says so in its config; without it the model
        # attends both ways and keeps no cache (irc refuses that, saying so).
        return tiny_model(model_type, task.removesuffix("-with-past"), is_decoder=True)
    return tiny_model(model_type, task)


def _export(model: Any, task: str, output: Path, backend: str) -> Any:
    import irc

    return irc.export(model, task=task, output=output, backend=backend, validate=True, force=True)


def _safe_atol(model_type: str, task: str) -> float:
    try:
        return expected_atol(model_type, task)
    except Exception:  # an unknown cell still gets a row; its export reports the real error
        return 1e-4


def _refused(exc: BaseException) -> bool:
    """irc said up front that it cannot export the config's feature: a reason, not a failure."""
    from irc.frontend.unsupported import UnsupportedFeature

    return isinstance(exc, UnsupportedFeature)


def _max_diff(report: Any) -> float | None:
    if report is None or not report.cases:
        return None
    return float(report.max_abs_diff())


def _used_atol(report: Any, fallback: float) -> float:
    """The largest atol the validator applied (an output may have its own), else the spec's."""
    if report is None:
        return fallback
    used = [o.atol for c in report.cases for o in c.outputs if o.atol is not None]
    return float(max(used)) if used else fallback


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")
_PLACES = re.compile(r" \(\d+ node\(s\), at [^()]*(?:\([^()]*\)[^()]*)*\)")
"""The `(n node(s), at module (file:line); ...)` after each op of a missing-op message: the nodes
are for the user fixing one model; the matrix wants the op names, alike across heads."""
_PATH = re.compile(r"(?<!\S)/(?:[^\s/]+/)+([^\s/]+)")
"""An absolute path (the artifact's temporary folder): only its file name says the same from
one run, and one cell, to the next."""


def _reason(exc: BaseException) -> str:
    """An IrcError's first sentence (its messages say what went wrong, then what to do), or the
    exception type and first line for anything else (a bug in irc)."""
    from irc.errors import IrcError

    text = str(exc).strip()
    if isinstance(exc, IrcError) and text:
        sentence = _PATH.sub(r"\1", _PLACES.sub("", _SENTENCE_END.split(text, maxsplit=1)[0]))
        report = getattr(exc, "report", None)
        # "disagrees beyond atol" alone does not say where: name the first output that failed.
        return f"{sentence} {_first_bad_output(report)}" if report is not None else sentence
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _first_bad_output(report: Any) -> str:
    """Where validation first failed: the output, the input sizes and how."""
    for case in report.cases:
        sizes = ", ".join(f"{k}={v}" for k, v in case.sizes.items())
        if not case.names_ok:
            return f"At {sizes} the outputs are {case.actual_names}, expected {case.expected_names}."
        for out in case.outputs:
            if out.actual_shape is None:
                return f"At {sizes} output {out.name} is missing."
            if not out.shape_ok:
                return f"At {sizes} output {out.name} has shape {out.actual_shape}, expected {out.reference_shape}."
            if not out.values_ok:
                return f"At {sizes} output {out.name} is off by {out.max_abs_diff:.3g} (atol {out.atol:g})."
    generation = getattr(report, "generation", None)
    if generation is not None and not generation:
        # With-past tasks also decode greedily through the artifact and compare tokens.
        return f"{generation.format().removeprefix('-[x] ').capitalize()}."
    return "Validation failed."
