"""The Python API: `irc.trace` and `irc.export`.

>>> import irc
>>> graph = irc.trace(model, task="causal-lm")          # an irc.ir.Graph
>>> result = irc.export(model, task="causal-lm", output="out/")
>>> result.report.passed, result.artifact                # validation report, model.onnx path
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from irc.errors import IrcError, ValidationError
from irc.progress import QUIET, Progress

DEFAULT_BATCH = 2
DEFAULT_SEQUENCE = 8
OTHER_TRACE_SIZES = {"num_choices": 3, "decoder_sequence": 6, "past_sequence": 5}
"""Trace sizes of the dims the CLI has no flag for; distinct from the defaults above so that
torch.export cannot mistake one dim for another."""


@dataclass
class Traced:
    """A traced model: the IR graph plus what validation needs to rebuild inputs and rerun."""

    graph: Any
    loaded: Any
    specs: tuple[Any, ...]
    sizes: dict[str, int]

    def make_inputs(self, sizes: dict[str, int], seed: int = 0, pad: bool = True) -> dict[str, Any]:
        from irc.frontend.dummy import make_inputs

        return make_inputs(self.specs, self.loaded.config, sizes, seed=seed, pad=pad)

    def debug_inputs(self) -> dict[str, Any]:
        """Inputs at the traced sizes for the pass manager's debug mode (valid ids, padded masks)."""
        return self.make_inputs(self.sizes, seed=7)

    def reference(self, inputs: dict[str, Any]) -> dict[str, Any]:
        from irc.frontend.trace import call_reference

        return call_reference(self.loaded, inputs)


@dataclass
class ExportResult:
    """What `irc.export` made: the artifact folder, its main file, the final graph, the report."""

    output: Path
    artifact: Path
    graph: Any
    report: Any
    timings: dict[str, float] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)


def trace_model(
    model: Any,
    task: str | None = None,
    *,
    batch_size: int = DEFAULT_BATCH,
    sequence_length: int = DEFAULT_SEQUENCE,
    progress: Progress = QUIET,
) -> Traced:
    """Load (if a path) and trace `model` for `task` (None: the checkpoint's own head); the full
    record behind `trace`."""
    from irc.frontend.dummy import make_inputs
    from irc.frontend.loading import load
    from irc.frontend.trace import trace as trace_loaded

    _check_sizes(batch_size, sequence_length)
    with progress.stage("load", str(model) if isinstance(model, (str, Path)) else type(model).__name__):
        loaded = load(model, task)
        specs = loaded.inputs
    named = {a for s in specs for a in s.axes if isinstance(a, str) and a.isidentifier()}
    wanted = {"batch": batch_size, "sequence": sequence_length, **OTHER_TRACE_SIZES}
    sizes = {k: v for k, v in wanted.items() if k in named}
    shown = ", ".join(f"{k}={v}" for k, v in sizes.items())
    with progress.stage("trace", f"{loaded.model_type} {loaded.task.name} at {shown}"):
        dummy = make_inputs(specs, loaded.config, sizes)
        graph = trace_loaded(loaded, specs, dummy)
    return Traced(graph, loaded, specs, sizes)


@dataclass
class TaskInfo:
    """One task a model supports: its inputs (name -> axes) and outputs."""

    name: str
    inputs: dict[str, tuple[Any, ...]]
    outputs: tuple[str, ...]
    atol: float


@dataclass
class TaskListing:
    """What `irc tasks` shows: the model type, its head, the task that head implies, all tasks."""

    model_type: str
    architecture: str | None
    detected: str
    tasks: list[TaskInfo]


def list_tasks(model: str | Path) -> TaskListing:
    """The tasks irc can export for the checkpoint folder `model`, without loading its weights."""
    import transformers

    from irc.frontend.loading import quiet_transformers, read_config
    from irc.frontend.tasks import detect_task, get_model, model_inputs, supported_tasks, task_outputs

    quiet_transformers()
    raw = read_config(Path(model))
    model_type = raw["model_type"]
    spec = get_model(model_type)
    config = transformers.AutoConfig.from_pretrained(model, local_files_only=True)
    architectures = raw.get("architectures") or []
    tasks = [
        TaskInfo(
            name,
            {i.name: i.axes for i in model_inputs(model_type, name, config)},
            task_outputs(model_type, name),
            spec.atol,
        )
        for name in supported_tasks(model_type)
    ]
    detected = detect_task(model_type, architectures)
    return TaskListing(model_type, architectures[0] if architectures else None, detected, tasks)


def trace(
    model: Any,
    task: str | None = None,
    *,
    batch_size: int = DEFAULT_BATCH,
    sequence_length: int = DEFAULT_SEQUENCE,
) -> Any:
    """The IR graph of `model` (an nn.Module or a checkpoint folder) for `task` (None: the task
    of the model's own head)."""
    return trace_model(model, task, batch_size=batch_size, sequence_length=sequence_length).graph


def run_pipeline(
    graph: Any, pipeline: str, *, debug_inputs: dict[str, Any] | None = None, progress: Progress = QUIET
) -> Any:
    """Parse `pipeline` and run it over `graph` in place; returns the PassManager's result.

    With `debug_inputs`, the interpreter runs on them before and after every pass and the
    first pass that changes the results is named (translation validation).
    """
    from irc.passes import PassManager, parse_pipeline

    passes = parse_pipeline(pipeline)
    with progress.stage("passes", pipeline or "(none)"):
        return PassManager(passes, debug=debug_inputs is not None, debug_inputs=debug_inputs).run(graph)


def export(
    model: Any,
    task: str | None = None,
    output: str | Path = "out",
    *,
    backend: str = "onnx",
    opset: int | None = None,
    external_data: bool = False,
    atol: float | None = None,
    passes: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    sequence_length: int = DEFAULT_SEQUENCE,
    validate: bool = True,
    debug_passes: bool = False,
    force: bool = False,
    keep_failed: bool = False,
    progress: Progress = QUIET,
    on_validation_case: Any = None,
) -> ExportResult:
    """Trace, transform, lower and validate; the artifact folder appears only when all succeeded.

    Raises ValidationError (with `.report`) when the artifact disagrees with the model; with
    `keep_failed` the artifact is published anyway, for inspection.
    """
    from irc.artifact import check_output, publish, staging_folder, write_manifest
    from irc.backends import get_backend
    from irc.memory import prefer_mmap

    prefer_mmap()

    out = Path(output)
    check_output(out, force)
    target = get_backend(backend)
    pipeline = target.default_pipeline if passes is None else passes
    options: dict[str, Any] = {} if opset is None else {"opset": opset}
    if external_data:
        options["external_data"] = True

    traced = trace_model(
        model, task, batch_size=batch_size, sequence_length=sequence_length, progress=progress
    )
    graph = traced.graph
    run_pipeline(
        graph, pipeline, debug_inputs=traced.debug_inputs() if debug_passes else None, progress=progress
    )
    with staging_folder(out) as staging:
        with progress.stage("lower", f"to {backend}"):
            target.check(graph)
            artifact = target.lower(graph, staging, **options)
        report = None
        if validate:
            with progress.stage("validate"):
                report = _validate(traced, target, staging, atol, on_validation_case)
        manifest = _manifest(traced, backend, pipeline, options, report)
        write_manifest(staging, manifest)
        failed = report is not None and not report.passed
        if not failed or keep_failed:
            publish(staging, out)
    result = ExportResult(out, out / artifact.name, graph, report, dict(progress.timings), manifest)
    if failed:
        kept = (
            f" The artifact was kept at {out} (--keep-failed)."
            if keep_failed
            else " No artifact was written."
        )
        error = ValidationError(
            f"the {backend} artifact disagrees with the model beyond atol (max abs diff "
            f"{report.max_abs_diff():.3g}); see the validation log above.{kept}"
        )
        error.report = report  # type: ignore[attr-defined]
        error.result = result  # type: ignore[attr-defined]
        raise error
    return result


def _validate(traced: Traced, target: Any, folder: Path, atol: float | None, on_case: Any) -> Any:
    """Reference first, artifact second: the reference's outputs (and generated tokens) are
    recorded, its memory-mapped weights go back to the kernel, and only then does the artifact
    load, so the model and the artifact's runtime never hold the weights at the same time."""
    from irc.memory import page_out_tensors
    from irc.validate import validate, validation_sizes

    tolerance = traced.loaded.task.atol if atol is None else atol
    sizes = validation_sizes(traced.sizes)

    def make(case: dict[str, int], seed: int) -> dict[str, Any]:
        return traced.make_inputs(case, seed=seed, pad=True)

    recorded = _Recorded.run(traced.reference, make, sizes)
    generates = traced.loaded.task.with_past and "logits" in traced.loaded.task.outputs
    expected_tokens = expected_generation(traced) if generates else None
    page_out_tensors(traced.loaded.module.state_dict().values())
    with target.load(folder) as runner:
        report = validate(recorded.replay, runner.run, make, sizes, tolerance, target.name, on_case)
        if expected_tokens is not None:
            report.generation = check_generation(traced, runner.run, expected=expected_tokens)
    return report


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


GENERATED_TOKENS = 20
_PROMPT = {"batch": 2, "sequence": 6, "past_sequence": 0}


def expected_generation(traced: Traced, new_tokens: int = GENERATED_TOKENS) -> Any:
    """`model.generate(do_sample=False)`'s tokens after the generation check's prompt."""
    import torch

    input_ids = traced.make_inputs(_PROMPT, seed=11)["input_ids"]
    model = traced.loaded.module
    config = model.generation_config
    pad = config.pad_token_id if config.pad_token_id is not None else config.eos_token_id
    with torch.no_grad():
        return model.generate(
            input_ids,
            attention_mask=torch.ones_like(input_ids),
            do_sample=False,
            max_new_tokens=new_tokens,
            pad_token_id=pad,
        )[:, _PROMPT["sequence"] :]


def check_generation(
    traced: Traced, step: Any, new_tokens: int = GENERATED_TOKENS, expected: Any = None
) -> Any:
    """Greedy-decode with `step` (an artifact runner) and compare with `model.generate`'s tokens
    (`expected`, computed here when not given)."""
    import torch

    from irc.validate.generate import GenerationResult, greedy_decode

    if expected is None:
        expected = expected_generation(traced, new_tokens)
    batch = _PROMPT["batch"]
    input_ids = traced.make_inputs(_PROMPT, seed=11)["input_ids"]
    empty_past = {
        spec.name: torch.zeros(
            tuple(0 if a == "past_sequence" else batch if a == "batch" else a for a in spec.axes),
            dtype=getattr(torch, spec.dtype),
        )
        for spec in traced.specs
        if spec.kind == "past"
    }
    actual = greedy_decode(step, input_ids, empty_past, new_tokens)
    eos = traced.loaded.module.generation_config.eos_token_id
    eos_ids = tuple(eos) if isinstance(eos, (list, tuple)) else () if eos is None else (eos,)
    return GenerationResult(expected, actual, eos_ids)


def _manifest(
    traced: Traced, backend: str, pipeline: str, options: dict[str, Any], report: Any
) -> dict[str, Any]:
    import irc

    graph = traced.graph
    return {
        "irc_version": irc.__version__,
        "source": traced.loaded.source,
        "model_type": traced.loaded.model_type,
        "checkpoint_sha256": _checkpoint_digest(traced.loaded.source),
        "task": traced.loaded.task.name,
        "backend": backend,
        "pipeline": pipeline,
        "options": options,
        "inputs": {v.name: str(v.type) for v in graph.inputs},
        "outputs": {v.name: str(v.type) for v in graph.outputs},
        "traced_sizes": traced.sizes,
        "tie_groups": {k: [p.name for p in v] for k, v in graph.tie_groups().items()},
        # Separated by untie-weights: each group's members must be trained together, not apart.
        "untied": graph.metadata.get("untied", {}),
        "validation": report.to_dict() if report is not None else None,
    }


def _checkpoint_digest(source: str) -> str | None:
    folder = Path(source)
    if not folder.is_dir():
        return None
    digest = hashlib.sha256()
    for file in (
        sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")) + [folder / "config.json"]
    ):
        if file.is_file():
            with file.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()


def _check_sizes(batch_size: int, sequence_length: int) -> None:
    for name, value in (("--batch-size", batch_size), ("--sequence-length", sequence_length)):
        if not isinstance(value, int) or value < 1:
            raise IrcError(f"{name} must be a positive integer, got {value!r}.")
