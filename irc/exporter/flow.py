"""The one export flow, for every backend and every plan:

    settings -> load and trace -> plan -> passes -> backend check -> lower -> validate
             -> compile -> manifest -> publish

`irc.export` builds an `ExportRequest` and calls `run_export`. Everything that can be refused
without the model (backend, options, pipeline and what the backend requires of it, dtype, the
output folder) is refused before the model is loaded; the artifact folder appears only when the
whole flow succeeded (or, with `keep_failed`, when only validation failed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from irc.errors import ValidationError
from irc.exporter.plan import ExportPlan
from irc.progress import Progress


@dataclass
class ExportResult:
    """What `irc.export` made: the artifact folder, its main file (the first component's), the
    final graph, the report."""

    output: Path
    artifact: Path
    graph: Any
    report: Any
    timings: dict[str, float] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Path] = field(default_factory=dict)
    """Component -> file; one entry (`model`) except for multi-model exports such as
    `seq2seq-lm-with-past` (`encoder_model`, `decoder_model`, ...)."""
    graphs: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExportRequest:
    """The arguments of `irc.export`, gathered (see its docstring)."""

    model: Any
    task: str | None
    output: Path
    backend: str = "onnx"
    flags: dict[str, Any] = field(default_factory=dict)
    """Backend option values from flags (`opset`, `buckets`, ...); None: not given."""
    atol: float | None = None
    passes: str | None = None
    batch_size: int | None = None
    sequence_length: int = 8
    validate: bool = True
    debug_passes: bool = False
    force: bool = False
    keep_failed: bool = False
    trust_remote_code: bool = False
    progress: Progress | None = None
    on_validation_case: Any = None
    dtype: str | None = None
    quantize: str | None = None
    """`int4` or `int8`: the quantize pass added after the pipeline (`settings.quantize_pass`)."""
    quality: Any = None
    """Thresholds of the task measures a quantized export is validated on (`Quality.parse`)."""


def run_export(request: ExportRequest) -> ExportResult:
    """Run the flow for `request`; see the module docstring."""
    from irc.exporter.artifact import check_output, checkpoint_record_soon
    from irc.memory import prefer_mmap

    prefer_mmap()
    progress = Progress.for_call(request.progress)
    plan_inputs = _settings(request)
    check_output(request.output, request.force)
    model = request.model
    checkpoint = checkpoint_record_soon(str(Path(model))) if isinstance(model, (str, Path)) else None
    plan = _trace_and_plan(request, progress, *plan_inputs)
    for planned in plan.graphs:
        debug_inputs = planned.debug_inputs() if request.debug_passes else None
        run_pipeline(planned.graph, planned.pipeline, debug_inputs=debug_inputs, progress=progress)
    return _lower_validate_publish(request, plan, progress, checkpoint)


def _settings(request: ExportRequest) -> tuple[Any, Any, str, Any]:
    from irc.exporter.settings import check_pipeline, check_quantize, resolve_backend, with_dtype
    from irc.frontend.limits import check_atol

    check_atol(request.atol)
    backend, options = resolve_backend(request.backend, request.flags)
    pipeline = backend.pipeline(options) if request.passes is None else request.passes
    pipeline, tolerance = with_dtype(pipeline, request.dtype, backend, request.atol)
    check_quantize(request.quantize, request.quality, backend, request.dtype, request.atol, pipeline)
    check_pipeline(pipeline, backend, options)  # a bad pipeline fails before the slow load and trace
    return backend, options, pipeline, tolerance


def _trace_and_plan(
    request: ExportRequest, progress: Progress, backend: Any, options: Any, pipeline: str, tolerance: Any
) -> ExportPlan:
    from irc.exporter.plan import make_plan
    from irc.frontend.traced import DEFAULT_BATCH, trace_components

    bucketed = backend.bucket_sizes(options) is not None
    # A bucketed backend's --batch-size is its static batch (an option); it traces at the default.
    batch = DEFAULT_BATCH if bucketed or request.batch_size is None else request.batch_size
    parts = trace_components(
        request.model,
        request.task,
        batch_size=batch,
        sequence_length=request.sequence_length,
        trust_remote_code=request.trust_remote_code,
        progress=progress,
        single=bucketed,
        check_loaded=lambda loaded: _check_loaded(loaded, request.sequence_length, backend, bucketed),
    )
    if request.quantize:
        from irc.exporter.settings import quantize_pass

        step = quantize_pass(request.quantize, parts[0].loaded.task.name)
        pipeline = ",".join(filter(None, [pipeline, step]))
    return make_plan(parts, backend, options, pipeline, tolerance)


def _lower_validate_publish(
    request: ExportRequest, plan: ExportPlan, progress: Progress, checkpoint: Any
) -> ExportResult:
    from irc.backends.base import NotCompiled
    from irc.exporter.artifact import build_manifest, publish, staging_folder, write_manifest
    from irc.exporter.validation import validate_plan

    backend, out = plan.backend, request.output
    missing: NotCompiled | None = None
    with staging_folder(out) as staging:
        with progress.stage("lower", plan.describe()):
            for planned in plan.graphs:
                backend.check(planned.graph)
            files = backend.lower({g.name: g.graph for g in plan.graphs}, staging, plan.options)
            files = {name: out / path.relative_to(staging) for name, path in files.items()}
        report = None
        if request.validate:
            with progress.stage("validate"):
                report = validate_plan(plan, staging, request.on_validation_case, request.quality)
        failed = report is not None and not report.passed
        if not failed:
            missing = _compile(plan, staging, progress)
        extra = backend.manifest(staging)
        manifest = build_manifest(plan, report, checkpoint, request.dtype, extra)
        manifest["client_files"] = _client_files(plan, staging)
        write_manifest(staging, manifest)
        if not failed or request.keep_failed:
            publish(staging, out)
    result = _result(out, plan, files, report, progress, manifest)
    if failed:
        raise disagrees(f"the {backend.name} artifact", result, request.keep_failed)
    if missing is not None:
        error = backend.not_compiled(missing, out, report is not None)
        error.report = report  # type: ignore[attr-defined]
        error.result = result  # type: ignore[attr-defined]
        raise error
    return result


def _compile(plan: ExportPlan, folder: Path, progress: Progress) -> Any:
    """Run the backend's compile step, if it has one; the NotCompiled it raised, else None."""
    from irc.backends.base import Backend, NotCompiled

    backend = plan.backend
    if type(backend).compile is Backend.compile:
        return None
    try:
        with progress.stage("compile", str(getattr(plan.options, "target", ""))):
            backend.compile(folder, plan.options)
    except NotCompiled as exc:
        return exc
    return None


def _result(
    out: Path, plan: ExportPlan, files: dict[str, Path], report: Any, progress: Progress, manifest: Any
) -> ExportResult:
    return ExportResult(
        out,
        next(iter(files.values())),
        plan.graphs[0].graph,
        report,
        dict(progress.timings),
        manifest,
        files,
        {g.name: g.graph for g in plan.graphs},
    )


def disagrees(what: str, result: ExportResult, keep_failed: bool) -> ValidationError:
    """The error for a failed validation, carrying the report and the result."""
    report = result.report
    assert report is not None
    kept = (
        f" The artifact was kept at {result.output} (--keep-failed)."
        if keep_failed
        else " No artifact was written."
    )
    failures = getattr(report, "failures", None)  # a quantized artifact's task measures
    how = (
        f"on {'; '.join(failures())}"
        if failures is not None
        else f"beyond atol (max abs diff {report.max_abs_diff():.3g})"
    )
    error = ValidationError(f"{what} disagrees with the model {how}; see the validation log above.{kept}")
    error.report = report  # type: ignore[attr-defined]
    error.result = result  # type: ignore[attr-defined]
    return error


def run_pipeline(
    graph: Any,
    pipeline: str,
    *,
    debug_inputs: dict[str, Any] | None = None,
    progress: Progress | None = None,
    after_pass: Any = None,
) -> Any:
    """Parse `pipeline` and run it over `graph` in place; returns the PassManager's result.

    With `debug_inputs`, the interpreter runs on them before and after every pass and the
    first pass that changes the results is named (translation validation). `after_pass(record,
    graph)` runs after each pass (`irc.passes.printing.IRPrinter` dumps the IR).
    """
    from irc.passes import PassManager, parse_pipeline

    progress = Progress.for_call(progress)
    passes = parse_pipeline(pipeline)
    with progress.stage("passes", pipeline or "(none)"):
        manager = PassManager(
            passes, debug=debug_inputs is not None, debug_inputs=debug_inputs, after_pass=after_pass
        )
        return manager.run(graph)


def _client_files(plan: ExportPlan, staging: Path) -> dict[str, Any]:
    """config.json, generation_config.json, tokenizer and processor files (and genai_config.json for
    decoders with past) beside the artifact, so that runtimes load the folder as it is."""
    from irc.exporter.client_files import write_client_files

    parts = plan.parts
    specs = {p.component: p.specs for p in parts}
    return write_client_files(staging, parts[0].loaded, specs, plan.backend.name)


def _check_loaded(loaded: Any, sequence_length: int, backend: Any, bucketed: bool) -> None:
    from irc.exporter.plan import check_bucketed_load

    if bucketed:
        check_bucketed_load(loaded, backend.name)
    _check_positions(loaded, sequence_length)


def _check_positions(loaded: Any, sequence_length: int) -> None:
    """A sequence length past the model's positions is refused before tracing, naming the limit."""
    from irc.frontend.limits import check_sequence_length
    from irc.frontend.traced import OTHER_TRACE_SIZES
    from irc.validate import validation_sizes

    def cases(length: int) -> list[dict[str, int]]:  # the trace's sizes, then validation's
        traced = {"sequence": length}
        if loaded.task.with_past:
            traced["past_sequence"] = OTHER_TRACE_SIZES["past_sequence"]
        return [traced, *validation_sizes(traced)]

    check_sequence_length(loaded.config, loaded.model_type, sequence_length, cases)
