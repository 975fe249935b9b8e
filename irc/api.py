"""The Python API: `irc.trace` and `irc.export`.

>>> import irc
>>> graph = irc.trace(model, task="causal-lm")          # an irc.ir.Graph
>>> result = irc.export(model, task="causal-lm", output="out/")
>>> result.report.passed, result.artifact                # validation report, model.onnx path

Thin: tracing lives in `irc.frontend.traced`, the export flow in `irc.exporter`, bisection in
`irc.validate`. Every call times its own stages (`Progress.for_call`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from irc.exporter.flow import ExportRequest, ExportResult, run_export, run_pipeline
from irc.frontend.traced import (
    DEFAULT_BATCH,
    DEFAULT_SEQUENCE,
    OTHER_TRACE_SIZES,
    Traced,
    trace_components,
    trace_model,
)
from irc.progress import Progress

__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_SEQUENCE",
    "OTHER_TRACE_SIZES",
    "ExportResult",
    "TaskInfo",
    "TaskListing",
    "Traced",
    "bisect",
    "export",
    "export_neuron",
    "list_tasks",
    "run_pipeline",
    "trace",
    "trace_components",
    "trace_model",
]


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


def list_tasks(model: str | Path, *, trust_remote_code: bool = False) -> TaskListing:
    """The tasks irc can export for the checkpoint folder `model`, without loading its weights;
    `trust_remote_code` lets the checkpoint's own config code run (its `auto_map`)."""
    import transformers

    from irc.frontend.loading import check_remote_code, quiet_transformers, read_config
    from irc.frontend.tasks import detect_task, get_model, model_inputs, supported_tasks, task_outputs

    quiet_transformers()
    raw = read_config(Path(model))
    check_remote_code(raw, Path(model), trust_remote_code)
    model_type = raw["model_type"]
    spec = get_model(model_type)
    config = transformers.AutoConfig.from_pretrained(
        model, local_files_only=True, trust_remote_code=trust_remote_code
    )
    architectures = raw.get("architectures") or []
    tasks = [
        TaskInfo(
            name,
            {i.name: i.axes for i in model_inputs(model_type, name, config)},
            task_outputs(model_type, name),
            spec.atol,
        )
        for name in supported_tasks(model_type, config)
    ]
    detected = detect_task(model_type, architectures, config)
    return TaskListing(model_type, architectures[0] if architectures else None, detected, tasks)


def trace(
    model: Any,
    task: str | None = None,
    *,
    batch_size: int = DEFAULT_BATCH,
    sequence_length: int = DEFAULT_SEQUENCE,
    trust_remote_code: bool = False,
) -> Any:
    """The IR graph of `model` (an nn.Module or a checkpoint folder) for `task` (None: the task
    of the model's own head)."""
    return trace_model(
        model,
        task,
        batch_size=batch_size,
        sequence_length=sequence_length,
        trust_remote_code=trust_remote_code,
    ).graph


def export(
    model: Any,
    task: str | None = None,
    output: str | Path = "out",
    *,
    backend: str = "onnx",
    opset: int | None = None,
    external_data: bool = False,
    ort_fusions: bool = False,
    atol: float | None = None,
    passes: str | None = None,
    batch_size: int | None = None,
    sequence_length: int = DEFAULT_SEQUENCE,
    validate: bool = True,
    debug_passes: bool = False,
    force: bool = False,
    keep_failed: bool = False,
    trust_remote_code: bool = False,
    progress: Progress | None = None,
    on_validation_case: Any = None,
    buckets: Sequence[int] | None = None,
    neuron_target: str | None = None,
    dtype: str | None = None,
    quantize: str | None = None,
    quality: str | dict[str, float] | None = None,
) -> ExportResult:
    """Trace, transform, lower and validate; the artifact folder appears only when all succeeded.

    Raises ValidationError (with `.report`) when the artifact disagrees with the model; with
    `keep_failed` the artifact is published anyway, for inspection. `backend` may carry the
    backend's options in the pipeline grammar (`"onnx{opset=18,external_data=true}"`); the
    keyword options below override them. `backend="neuron"` is `export_neuron` (`batch_size` is
    then the static batch, default 1; `buckets` and `neuron_target` are its options).
    `trust_remote_code` lets a checkpoint's own model code (its config's `auto_map`) run;
    without it such a folder is refused. `ort_fusions` (ONNX only)
    adds the `ort-fusions` pass to the default pipeline and lets its ops lower to ONNX Runtime's
    com.microsoft kernels: faster in ONNX Runtime, unusable elsewhere. `dtype` ("float16" or
    "bfloat16") appends `convert-dtype{dtype=...}` to the pipeline and validates at that dtype's
    tolerance (`irc.passes.convert_dtype.ATOL`) unless `atol` is given. `quantize` ("int4" or
    "int8", ONNX only) appends `quantize-weights{bits=4}`, or for int8 `quantize-weights{bits=8}`
    (generative tasks) / `quantize-dynamic` (the others), and validates on task measures
    against the float32 model at `quality`'s thresholds (`"min_top1=0.95,max_kl=0.1"` or a dict;
    see `irc.validate.measures.Quality`), as does any pipeline with a quantize pass.
    """
    flags = {
        "opset": opset,
        "external_data": external_data or None,
        "ort_fusions": ort_fusions or None,
        "buckets": buckets,
        "target": neuron_target,
        "batch": batch_size,
    }
    request = ExportRequest(
        model, task, Path(output), backend, flags, atol=atol, passes=passes, batch_size=batch_size,
        sequence_length=sequence_length, validate=validate, debug_passes=debug_passes, force=force,
        keep_failed=keep_failed, trust_remote_code=trust_remote_code, progress=progress,
        on_validation_case=on_validation_case, dtype=dtype, quantize=quantize, quality=quality,
    )  # fmt: skip
    return run_export(request)


def export_neuron(
    model: Any,
    task: str | None = None,
    output: str | Path = "out",
    *,
    buckets: Sequence[int] | None = None,
    batch_size: int | None = None,
    target: str | None = None,
    atol: float | None = None,
    passes: str | None = None,
    validate: bool = True,
    debug_passes: bool = False,
    force: bool = False,
    keep_failed: bool = False,
    progress: Progress | None = None,
    on_validation_case: Any = None,
    trust_remote_code: bool = False,
) -> ExportResult:
    """Trace once; per sequence bucket, copy the graph, run `pad-static{batch=B,sequence=S}`
    and the pipeline, and lower it to static TorchScript; write the operator report; validate
    through the padding runner at lengths under each bucket against the unpadded model; then
    compile with the Neuron SDK. Where the SDK does not import, the folder is still published
    and `NeuronSdkMissing` (exit 2) says what to install; its `.result` is the ExportResult.
    """
    return export(
        model, task, output, backend="neuron", buckets=buckets, batch_size=batch_size, neuron_target=target,
        atol=atol, passes=passes, validate=validate, debug_passes=debug_passes, force=force,
        keep_failed=keep_failed, progress=progress, on_validation_case=on_validation_case,
        trust_remote_code=trust_remote_code,
    )  # fmt: skip


def bisect(
    artifact: str | Path,
    *,
    model: str | Path | None = None,
    component: str | None = None,
    atol: float | None = None,
    trust_remote_code: bool = False,
    progress: Progress | None = None,
) -> Any:
    """Name the first IR node whose output differs between the artifact's backend and the IR
    interpreter, re-lowering the model as its manifest (`irc.json`) says; an
    `irc.validate.bisect.BisectResult`. `component` picks one model of a multi-model artifact
    (`decoder_with_past_model`, say); `trust_remote_code` as for `export`, for a checkpoint that
    brings its own model code."""
    from irc.validate import validation_sizes
    from irc.validate.bisect import bisect_graph
    from irc.validate.reload import reload_artifact

    progress = Progress.for_call(progress)
    target, traced, manifest = reload_artifact(artifact, model, component, progress, trust_remote_code)
    inputs = traced.make_inputs(validation_sizes(traced.sizes)[0], seed=1)
    tolerance = traced.loaded.task.atol if atol is None else atol
    with progress.stage("bisect", f"{len(traced.graph)} nodes on {target.name}"):
        return bisect_graph(traced.graph, target, inputs, tolerance, manifest.get("options") or {})
