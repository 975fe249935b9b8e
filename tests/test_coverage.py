"""Every (model type, task) cell of docs/coverage.md, exported to ONNX and validated at two shapes
other than the traced one. Cells listed in KNOWN_FAILURES are strict xfails: fixing one fails the
suite until it is taken off the list.

The default run takes one cell per model type (its first head task, so every architecture's
trace, lowering and validation run on every commit); the rest are marked `slow` (about 290 cells
take 15-20 minutes on two cores): `python -m pytest -n 2 -m slow tests/test_coverage.py`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.coverage_cells import KNOWN_FAILURES, KNOWN_REFUSALS, cells, run_cell


def _representatives() -> set[tuple[str, str]]:
    first: dict[str, str] = {}
    for model_type, task in cells():
        if task != "default" and not task.endswith("-with-past"):
            first.setdefault(model_type, task)
    return {(m, first.get(m, "default")) for m, _ in cells()}


_DEFAULT_RUN = _representatives()


def _param(model_type: str, task: str) -> object:
    reason = KNOWN_FAILURES.get((model_type, task))
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    if (model_type, task) not in _DEFAULT_RUN:
        marks.append(pytest.mark.slow)
    return pytest.param(model_type, task, marks=marks, id=f"{model_type}-{task}")


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    # Under `-n 2` each worker has a core; torch's default of one thread per core would make the
    # two workers' tiny matmuls contend for both.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize(("model_type", "task"), [_param(m, t) for m, t in cells()])
def test_cell_exports_and_validates(model_type: str, task: str, tmp_path: Path) -> None:
    result = run_cell(model_type, task, "onnx", tmp_path)
    if (model_type, task) in KNOWN_REFUSALS:
        assert result.stage == "refused" and KNOWN_REFUSALS[model_type, task] in result.reason, result.reason
        return
    assert result.passed, result.reason
    assert result.max_abs_diff is not None and result.max_abs_diff <= result.atol, result.reason


def test_known_failures_are_cells() -> None:
    # A stale entry (a renamed task, a removed model type) would otherwise hide silently.
    assert set(KNOWN_FAILURES) | set(KNOWN_REFUSALS) <= set(cells())


def test_an_architectures_wider_atol_is_the_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    # ModelSpec.atol is where an architecture documents a wider tolerance (docs/coverage.md shows
    # it); the validator reads the task spec's, so get_task must carry the wider one over.
    from dataclasses import replace

    from irc.frontend import tasks
    from tests.coverage_cells import expected_atol

    wider = replace(tasks.get_model("bert"), atol=1e-3, atol_reason="test")
    monkeypatch.setitem(tasks.OVERRIDES, "bert", wider)
    assert expected_atol("bert", "masked-lm") == 1e-3
    assert expected_atol("roberta", "masked-lm") == 1e-4
