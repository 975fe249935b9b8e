"""The registry run of benchmarks/coverage.py: every model type of the installed transformers
with a head for an irc task, as tiny random models (benchmarks/tiny_configs.py), and the anchor:
transformers' own ONNX exporter (`transformers.exporters.OnnxExporter`) on the same cells, checked
at the same new shapes as irc's validator."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from tests.coverage_cells import CellResult

ANCHOR = "transformers-onnx"
"""The backend column of transformers' exporter."""


def registry_cells() -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
    """The (model type, task) cells: every type with a head for an irc task (a with-past task
    where the frontend decides it applies: the head takes a cache); and, by type, what is not in
    irc yet: the tasks transformers has heads for that irc does not export (speech,
    image-text-to-text), and the irc-task heads whose inputs irc cannot make (a bare speech
    encoder's `input_features`), with the frontend's reason."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    from irc.frontend.heads import other_tasks

    cells: list[tuple[str, str]] = []
    later: dict[str, list[str]] = {}
    for model_type in sorted(CONFIG_MAPPING_NAMES):
        mine, refused = _cells_of(model_type)
        cells += [(model_type, name) for name in mine]
        other = other_tasks(model_type) + refused
        if other:
            later[model_type] = other
    return cells, later


def _cells_of(model_type: str) -> tuple[list[str], list[str]]:
    """The irc tasks with a head for `model_type`, and those refused for inputs irc cannot make."""
    from irc.errors import TaskError
    from irc.frontend.heads import head_class
    from irc.frontend.inputs import inputs_of
    from irc.frontend.tasks import TASKS, _why_no_past

    config = _default_config(model_type)
    mine: list[str] = []
    refused: list[str] = []
    for name, spec in TASKS.items():
        head = head_class(model_type, spec.mapping)
        if head is None or _covered_as_image_text(model_type, name, head, config):
            continue
        try:
            if spec.with_past and (config is None or _why_no_past(model_type, name, head, config)):
                continue
            if config is not None:
                inputs_of(model_type, name, config, head)
        except TaskError as exc:
            if "cannot make an input" in str(exc) or "not an irc task yet" in str(exc):
                refused.append(f"{name} ({exc})")
                continue
        except Exception:  # noqa: BLE001 - a head that cannot even be inspected is a cell
            pass  # whose export reports why
        mine.append(name)
    return mine, refused


def _covered_as_image_text(model_type: str, task: str, head: Any, config: Any) -> bool:
    """transformers' image-to-text mapping also lists decoder-only vision-language models, by the
    same class as their image-text-to-text head: irc exports that head once, as
    image-text-to-text-with-past, so it is one cell, not two."""
    from irc.frontend.heads import head_class
    from irc.frontend.tasks import IMAGE_TEXT_TASK, TASKS

    if task != "image-to-text" or getattr(config, "is_encoder_decoder", False):
        return False
    return head is not None and head is head_class(model_type, TASKS[IMAGE_TEXT_TASK].mapping)


def _default_config(model_type: str) -> Any:
    from transformers import AutoConfig

    try:
        return AutoConfig.for_model(model_type)
    except Exception:  # noqa: BLE001 - its cells report the build failure
        return None


def sample(cells: list[tuple[str, str]], count: int, seed: int) -> list[tuple[str, str]]:
    """`count` cells drawn with `seed`, in registry order."""
    picked = set(random.Random(seed).sample(range(len(cells)), min(count, len(cells))))
    return [cell for i, cell in enumerate(cells) if i in picked]


def build(model_type: str, task: str) -> Any:
    """The tiny model of a registry cell, configured as a real checkpoint of that head would be: a
    with-past cell of an encoder with a causal-lm head (BERT and its kin) says `is_decoder: true`,
    a classifier that finds the last token by the pad id has one."""
    from benchmarks.tiny_configs import tiny_config, tiny_model

    config = tiny_config(model_type)
    overrides: dict[str, Any] = {}
    if task.endswith("-with-past") and getattr(config, "is_decoder", None) is False:
        overrides["is_decoder"] = True
    if task == "sequence-classification" and getattr(config, "pad_token_id", 0) is None:
        # What irc tells a user whose checkpoint has none (GPT-2's): the eos id as the pad id.
        eos = getattr(config, "eos_token_id", None)
        overrides["pad_token_id"] = eos if isinstance(eos, int) else 0
    return tiny_model(model_type, task, **overrides)


def run_anchor(model_type: str, task: str, workdir: Path) -> CellResult:
    """transformers' exporter on the cell: exported with dynamic shapes at irc's trace sizes,
    then run against PyTorch at irc's validation sizes, on the task's outputs; never raises."""
    from tests.coverage_cells import _reason

    atol = 1e-4
    if task.endswith("-with-past"):
        return CellResult(model_type, task, ANCHOR, False, None, 0.0, atol, "not run: with-past", "skipped")
    stage, started = ["build"], time.perf_counter()
    try:
        model = build(model_type, task)
        stage[0] = "export"
        started = time.perf_counter()
        worst, bad = _anchor_export_and_check(model, task, atol, stage)
    except Exception as exc:  # noqa: BLE001 - a cell reports any failure
        reason = _reason(exc)
        if stage[0] == "build":
            reason = f"the tiny model does not build: {reason}"
        seconds = time.perf_counter() - started
        return CellResult(model_type, task, ANCHOR, False, None, seconds, atol, reason, stage[0])
    seconds = time.perf_counter() - started
    if bad:
        return CellResult(model_type, task, ANCHOR, False, worst, seconds, atol, bad, "validate")
    return CellResult(model_type, task, ANCHOR, True, worst, seconds, atol)


def _anchor_export_and_check(model: Any, task: str, atol: float, stage: list[str]) -> tuple[float, str]:
    import torch
    from transformers.exporters import OnnxConfig, OnnxExporter

    from irc.api import DEFAULT_BATCH, DEFAULT_SEQUENCE, OTHER_TRACE_SIZES
    from irc.frontend.dummy import make_inputs
    from irc.frontend.tasks import TASKS, model_inputs
    from irc.validate.runner import validation_sizes

    specs = model_inputs(model.config.model_type, task, model.config, type(model))
    named = {a for s in specs for a in s.axes if isinstance(a, str)}
    wanted = {"batch": DEFAULT_BATCH, "sequence": DEFAULT_SEQUENCE, **OTHER_TRACE_SIZES}
    traced = {k: v for k, v in wanted.items() if k in named}

    def kwargs(sizes: dict[str, int], seed: int) -> dict[str, torch.Tensor]:
        made = make_inputs(specs, model.config, sizes, seed=seed)
        return {s.model_arg: made[s.name] for s in specs}

    with torch.no_grad():
        exported = OnnxExporter().export(model, kwargs(traced, 0), OnnxConfig(dynamic=True))
    stage[0] = "validate"
    worst = 0.0
    for seed, sizes in enumerate(validation_sizes(traced), 1):
        inputs = kwargs(sizes, seed)
        with torch.no_grad():
            expected = model(**inputs, return_dict=True)
        actual = exported(**inputs)
        for name in TASKS[task].outputs:
            want = expected.get(name) if hasattr(expected, "get") else None
            if not isinstance(want, torch.Tensor):
                continue
            got = _output(actual, name)
            shown = ", ".join(f"{k}={v}" for k, v in sizes.items())
            if got is None or tuple(got.shape) != tuple(want.shape):
                return worst, f"At {shown} output {name} is missing or misshapen."
            diff = float((got.float() - want.float()).abs().max()) if want.numel() else 0.0
            worst = max(worst, diff)
            if not diff <= atol:
                return worst, f"At {shown} output {name} is off by {diff:.3g} (atol {atol:g})."
    return worst, ""


def _output(actual: Any, name: str) -> Any:
    import torch

    value = actual.get(name) if hasattr(actual, "get") else getattr(actual, name, None)
    return torch.as_tensor(value) if value is not None else None


def run_item(item: tuple[str, str, str], workdir: Path) -> CellResult:
    """One (model type, task, backend) of the registry run; backend ANCHOR is transformers'."""
    from tests.coverage_cells import run_cell

    model_type, task, backend = item
    if backend == ANCHOR:
        return run_anchor(model_type, task, workdir)
    return run_cell(model_type, task, backend, workdir, build)


def timed_out(item: tuple[str, str, str], seconds: float) -> CellResult:
    model_type, task, backend = item
    reason = f"timed out after {seconds:.0f} s (the cell's worker was killed)"
    return CellResult(model_type, task, backend, False, None, seconds, 1e-4, reason, "timeout")


def now() -> float:
    return time.monotonic()
