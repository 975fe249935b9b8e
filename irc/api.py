"""The Python API: `irc.trace` and `irc.export`.

>>> import irc
>>> graph = irc.trace(model, task="causal-lm")          # an irc.ir.Graph
>>> result = irc.export(model, task="causal-lm", output="out/")
>>> result.report.passed, result.artifact                # validation report, model.onnx path
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    component: str = "model"
    """The artifact file stem; encoder-decoders with past export several components."""
    wrap: Any = None
    """The frontend's module builder for this component (None: the task's own)."""

    def make_inputs(self, sizes: dict[str, int], seed: int = 0, pad: bool = True) -> dict[str, Any]:
        from irc.frontend.dummy import make_inputs

        return make_inputs(self.specs, self.loaded.config, sizes, seed=seed, pad=pad)

    def debug_inputs(self) -> dict[str, Any]:
        """Inputs at the traced sizes for the pass manager's debug mode (valid ids, padded masks)."""
        return self.make_inputs(self.sizes, seed=7)

    def reference(self, inputs: dict[str, Any]) -> dict[str, Any]:
        from irc.frontend.trace import call_reference

        return call_reference(self.loaded, inputs, self.wrap)


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


def trace_components(
    model: Any,
    task: str | None = None,
    *,
    component: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    sequence_length: int = DEFAULT_SEQUENCE,
    trust_remote_code: bool = False,
    progress: Progress = QUIET,
    single: bool = False,
) -> list[Traced]:
    """Load (if a path) and trace `model` for `task` (None: the checkpoint's own head): one
    Traced per artifact file, usually one (`model`); `seq2seq-lm-with-past` has four, of which
    `component` picks one. With `single`, a task of several models and no `component` is an
    IrcError, raised before anything is traced."""
    from irc.frontend.loading import load

    _check_sizes(batch_size, sequence_length)
    with progress.stage("load", str(model) if isinstance(model, (str, Path)) else type(model).__name__):
        loaded = load(model, task, trust_remote_code)
    _check_positions(loaded, sequence_length)
    if loaded.task.with_past and getattr(loaded.config, "is_encoder_decoder", False):
        from irc.frontend.seq2seq import components

        parts = [(c.name, c.inputs, c.wrap) for c in components(loaded)]
    else:
        parts = [("model", loaded.inputs, None)]
    names = [name for name, _, _ in parts]
    if component is not None and component not in names:
        raise IrcError(
            f"{loaded.task.name} has no component {component!r}; its components are {', '.join(names)}."
        )
    if single and component is None and len(names) > 1:
        raise IrcError(
            f"{loaded.task.name} exports the components {', '.join(names)}; name one with --component."
        )
    return [
        _trace_one(loaded, name, specs, wrap, batch_size, sequence_length, progress)
        for name, specs, wrap in parts
        if component in (None, name)
    ]


def trace_model(
    model: Any,
    task: str | None = None,
    *,
    component: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    sequence_length: int = DEFAULT_SEQUENCE,
    trust_remote_code: bool = False,
    progress: Progress = QUIET,
) -> Traced:
    """The traced model for `task`; for multi-model tasks, `component` names which one."""
    (traced,) = trace_components(
        model,
        task,
        component=component,
        batch_size=batch_size,
        sequence_length=sequence_length,
        trust_remote_code=trust_remote_code,
        progress=progress,
        single=True,
    )
    return traced


def _trace_one(
    loaded: Any,
    component: str,
    specs: tuple[Any, ...],
    wrap: Any,
    batch_size: int,
    sequence_length: int,
    progress: Progress,
) -> Traced:
    from irc.frontend.dummy import make_inputs
    from irc.frontend.trace import trace as trace_loaded

    named = {a for s in specs for a in s.axes if isinstance(a, str) and a.isidentifier()}
    wanted = {"batch": batch_size, "sequence": sequence_length, **OTHER_TRACE_SIZES}
    sizes = {k: v for k, v in wanted.items() if k in named}
    shown = ", ".join(f"{k}={v}" for k, v in sizes.items())
    what = loaded.task.name if component == "model" else f"{loaded.task.name} {component}"
    with progress.stage("trace", f"{loaded.model_type} {what} at {shown}"):
        dummy = make_inputs(specs, loaded.config, sizes)
        graph = trace_loaded(loaded, specs, dummy, wrap)
    if component != "model":
        graph.metadata["component"] = component
    return Traced(graph, loaded, specs, sizes, component, wrap)


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


def run_pipeline(
    graph: Any,
    pipeline: str,
    *,
    debug_inputs: dict[str, Any] | None = None,
    progress: Progress = QUIET,
    after_pass: Any = None,
) -> Any:
    """Parse `pipeline` and run it over `graph` in place; returns the PassManager's result.

    With `debug_inputs`, the interpreter runs on them before and after every pass and the
    first pass that changes the results is named (translation validation). `after_pass(record,
    graph)` runs after each pass (`irc.passes.printing.IRPrinter` dumps the IR).
    """
    from irc.passes import PassManager, parse_pipeline

    passes = parse_pipeline(pipeline)
    with progress.stage("passes", pipeline or "(none)"):
        manager = PassManager(
            passes, debug=debug_inputs is not None, debug_inputs=debug_inputs, after_pass=after_pass
        )
        return manager.run(graph)


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
    progress: Progress = QUIET,
    on_validation_case: Any = None,
    buckets: Sequence[int] | None = None,
    neuron_target: str | None = None,
    dtype: str | None = None,
) -> ExportResult:
    """Trace, transform, lower and validate; the artifact folder appears only when all succeeded.

    Raises ValidationError (with `.report`) when the artifact disagrees with the model; with
    `keep_failed` the artifact is published anyway, for inspection. `backend="neuron"` goes to
    `export_neuron` (`batch_size` is then the static batch, default 1; `buckets` and
    `neuron_target` are its options). `trust_remote_code` lets a checkpoint's own model code
    (its config's `auto_map`) run; without it such a folder is refused. `ort_fusions` (ONNX only)
    adds the `ort-fusions` pass to the default pipeline and lets its ops lower to ONNX Runtime's
    com.microsoft kernels: faster in ONNX Runtime, unusable elsewhere. `dtype` ("float16" or
    "bfloat16") appends `convert-dtype{dtype=...}` to the pipeline and validates at that dtype's
    tolerance (`irc.passes.convert_dtype.ATOL`) unless `atol` is given.
    """
    from irc.artifact import check_output, checkpoint_record_soon, publish, staging_folder, write_manifest
    from irc.backends import get_backend
    from irc.exporter.client_files import write_client_files
    from irc.frontend.limits import check_atol
    from irc.memory import prefer_mmap
    from irc.passes import parse_pipeline

    prefer_mmap()
    check_atol(atol)

    if backend == "neuron" and dtype not in (None, "float32"):
        raise IrcError(
            "--dtype is not supported by the neuron backend yet; neuron-cc casts itself (--auto-cast)."
        )
    if backend == "neuron":
        return export_neuron(
            model, task, output, buckets=buckets, batch_size=batch_size, target=neuron_target,
            atol=atol, passes=passes, validate=validate, debug_passes=debug_passes, force=force,
            keep_failed=keep_failed, progress=progress, on_validation_case=on_validation_case,
            trust_remote_code=trust_remote_code,
        )  # fmt: skip
    if buckets is not None or neuron_target is not None:
        raise IrcError("--buckets and --target are options of the neuron backend (--backend neuron).")
    batch_size = DEFAULT_BATCH if batch_size is None else batch_size
    out = Path(output)
    check_output(out, force)
    target = get_backend(backend)
    pipeline = target.default_pipeline if passes is None else passes
    options: dict[str, Any] = {} if opset is None else {"opset": opset}
    if external_data:
        options["external_data"] = True
    if ort_fusions:
        if backend != "onnx":
            raise IrcError(f"--ort-fusions is an option of the onnx backend, not of {backend}.")
        from irc.backends.onnx import OnnxBackend

        pipeline = OnnxBackend.ort_pipeline if passes is None else passes
        options["ort_fusions"] = True
    pipeline, tolerance = with_dtype(pipeline, dtype, backend, atol)
    parse_pipeline(pipeline)  # a malformed pipeline fails before the slow load and trace

    checkpoint = checkpoint_record_soon(str(Path(model))) if isinstance(model, (str, Path)) else None
    parts = trace_components(
        model,
        task,
        batch_size=batch_size,
        sequence_length=sequence_length,
        trust_remote_code=trust_remote_code,
        progress=progress,
    )
    for part in parts:
        debug_inputs = part.debug_inputs() if debug_passes else None
        run_pipeline(part.graph, pipeline, debug_inputs=debug_inputs, progress=progress)
    with staging_folder(out) as staging:
        with progress.stage("lower", f"to {backend}"):
            for part in parts:
                target.check(part.graph)
            artifacts = {p.component: _lower(target, p, staging, options) for p in parts}
        report = None
        if validate:
            with progress.stage("validate"):
                report = _validate(parts, target, staging, tolerance.atol, on_validation_case)
                report.tolerance_source = tolerance.source
        manifest = _manifest(parts, backend, pipeline, options, report, checkpoint)
        manifest["dtype"] = dtype or "float32"
        specs = {p.component: p.specs for p in parts}
        manifest["client_files"] = write_client_files(staging, parts[0].loaded, specs, backend)
        write_manifest(staging, manifest)
        failed = report is not None and not report.passed
        if not failed or keep_failed:
            publish(staging, out)
    files = {name: out / path.name for name, path in artifacts.items()}
    result = ExportResult(
        out,
        next(iter(files.values())),
        parts[0].graph,
        report,
        dict(progress.timings),
        manifest,
        files,
        {p.component: p.graph for p in parts},
    )
    if failed:
        raise _disagrees(f"the {backend} artifact", result, keep_failed)
    return result


def _disagrees(what: str, result: ExportResult, keep_failed: bool) -> ValidationError:
    """The error for a failed validation, carrying the report and the result."""
    report = result.report
    assert report is not None
    kept = (
        f" The artifact was kept at {result.output} (--keep-failed)."
        if keep_failed
        else " No artifact was written."
    )
    error = ValidationError(
        f"{what} disagrees with the model beyond atol (max abs diff {report.max_abs_diff():.3g}); "
        f"see the validation log above.{kept}"
    )
    error.report = report  # type: ignore[attr-defined]
    error.result = result  # type: ignore[attr-defined]
    return error


@dataclass(frozen=True)
class Tolerance:
    """The validation atol (None: the task's) and where it came from, for the report."""

    atol: float | None
    source: str = ""


def with_dtype(pipeline: str, dtype: str | None, backend: str, atol: float | None) -> tuple[str, Tolerance]:
    """`pipeline` with `convert-dtype{dtype=...}` appended, and the tolerance to validate at:
    `atol` when given, else the dtype's (`irc.passes.convert_dtype.ATOL`)."""
    from irc.passes.convert_dtype import ATOL

    if dtype is None or dtype == "float32":
        return pipeline, Tolerance(atol, "" if atol is None else "--atol")
    if dtype not in ATOL:
        raise IrcError(f"--dtype {dtype!r} is not one of float32, {', '.join(ATOL)}.")
    if dtype == "bfloat16" and backend == "onnx":
        raise IrcError(
            "--dtype bfloat16 --backend onnx: ONNX Runtime's CPU provider has no bfloat16 kernel for "
            "most ops (not even Add), so the artifact could not be run or validated. "
            "Use --backend torchscript for bfloat16, or --dtype float16 for ONNX."
        )
    pipeline = ",".join(filter(None, [pipeline, f"convert-dtype{{dtype={dtype}}}"]))
    if atol is not None:
        return pipeline, Tolerance(atol, "--atol")
    return pipeline, Tolerance(ATOL[dtype], f"--dtype {dtype}")


def _lower(target: Any, part: Traced, folder: Path, options: dict[str, Any]) -> Path:
    # Backends name their file `model.*` unless told otherwise; plugins need not know `name`.
    if part.component == "model":
        return target.lower(part.graph, folder, **options)
    return target.lower(part.graph, folder, name=part.component, **options)


def _load(target: Any, part: Traced, folder: Path) -> Any:
    if part.component == "model":
        return target.load(folder)
    return target.load(folder, name=part.component)


def _validate(parts: list[Traced], target: Any, folder: Path, atol: float | None, on_case: Any) -> Any:
    """Reference first, artifact second: the reference's outputs (and generated tokens) are
    recorded for every component, its memory-mapped weights go back to the kernel, and only
    then do the artifact's models load, so the model and the artifact's runtime never hold the
    weights at the same time."""
    from contextlib import ExitStack

    from irc.memory import mappings_held, page_out_tensors
    from irc.validate import ValidationReport, validate, validation_sizes

    task = parts[0].loaded.task
    tolerance = task.atol if atol is None else atol
    cases = []
    for part in parts:
        make = _case_inputs(part)
        sizes = validation_sizes(part.sizes)
        cases.append((part, make, sizes, _Recorded.run(part.reference, make, sizes)))
    expected = _expected_generation(parts) if task.with_past and "logits" in task.outputs else None
    with mappings_held():  # the model, and so its mappings, outlives this call
        page_out_tensors(parts[0].loaded.module.state_dict().values())
    report = ValidationReport(target.name)
    with ExitStack() as stack:
        runners = {p.component: stack.enter_context(_load(target, p, folder)).run for p in parts}
        for part, make, sizes, recorded in cases:
            report.cases += validate(
                recorded.replay,
                runners[part.component],
                make,
                sizes,
                tolerance,
                target.name,
                on_case,
                component="" if part.component == "model" else part.component,
            ).cases
        if expected is not None:
            report.generation = check_generation(parts, runners, tolerance, expected)
    return report


def _case_inputs(part: Traced) -> Any:
    def make(case: dict[str, int], seed: int) -> dict[str, Any]:
        return part.make_inputs(case, seed=seed, pad=True)

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


GENERATED_TOKENS = 20
_PROMPT = {"batch": 3, "sequence": 11, "past_sequence": 0}  # left-padded to lengths 3, 7, 11


@dataclass
class _Expected:
    """`model.generate`'s side of the generation check, computed before the artifact loads."""

    ids: Any
    mask: Any
    tokens: Any
    logits: Any
    eos: tuple[int, ...]
    start: int | None = None
    """The decoder start token of an encoder-decoder."""


def _expected_generation(parts: list[Traced], new_tokens: int = GENERATED_TOKENS) -> _Expected:
    """Plain greedy `model.generate` on the check's prompt: tokens and each step's logits."""
    from irc.frontend.config_fields import generation_settings
    from irc.validate.generate import left_padded_prompt

    first = parts[0]
    model = first.loaded.module
    if len(parts) == 1:
        pad = generation_settings(model).pad
        ids, mask = left_padded_prompt(first.make_inputs(_PROMPT, seed=11)["input_ids"], pad_id=pad)
        tokens, logits, eos = _plain_generate(model, ids, mask, new_tokens, {})
        return _Expected(ids, mask, tokens[:, ids.shape[1] :], logits, eos)
    inputs = first.make_inputs({"batch": 2, "sequence": 7}, seed=11)  # the encoder's
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    start = generation_settings(model).start  # generation_config.json, then config.json
    tokens, logits, eos = _plain_generate(model, ids, mask, new_tokens, {"decoder_start_token_id": start})
    return _Expected(ids, mask, tokens[:, 1:], logits, eos, start)  # less the start token


def check_generation(
    parts: list[Traced], runners: dict[str, Any], atol: float, expected: _Expected | None = None
) -> Any:
    """Greedy-decode through the artifact's runners and compare with `model.generate`: tokens,
    and each step's logits within `atol`. An encoder-decoder decodes twice, through encoder,
    decoder and decoder with past, then through encoder and merged decoder; the first loop that
    disagrees is the one reported."""
    from irc.validate.generate import GenerationResult, greedy_decode, greedy_decode_seq2seq

    want = _expected_generation(parts) if expected is None else expected
    # generate() stops early when every row has ended; the loops still run the full length.
    new_tokens = GENERATED_TOKENS

    def result(tokens: Any, logits: Any, via: str = "") -> Any:
        return GenerationResult(want.tokens, tokens, want.eos, via, want.logits, logits, atol)

    if len(parts) == 1:
        batch = want.ids.shape[0]
        positions = any(s.name == "position_ids" for s in parts[0].specs)
        past = _empty_past(parts[0], batch)
        tokens, logits = greedy_decode(runners["model"], want.ids, past, new_tokens, want.mask, positions)
        return result(tokens, logits)

    from irc.frontend.seq2seq import DECODER, DECODER_WITH_PAST, ENCODER, MERGED

    merged = next(p for p in parts if p.component == MERGED)
    runs = [
        (f"{ENCODER}, {DECODER}, {DECODER_WITH_PAST}", runners[DECODER], runners[DECODER_WITH_PAST], None),
        (f"{ENCODER}, {MERGED}", runners[MERGED], None, _empty_past(merged, want.ids.shape[0])),
    ]
    outcome = None
    for via, first_step, later, past in runs:
        tokens, logits = greedy_decode_seq2seq(
            runners[ENCODER], first_step, later, want.ids, want.mask, want.start, new_tokens, past
        )
        outcome = result(tokens, logits, via)
        if not outcome:
            break
    return outcome


def _plain_generate(
    model: Any, ids: Any, mask: Any, new_tokens: int, extra: dict[str, Any]
) -> tuple[Any, Any, tuple[int, ...]]:
    """`model.generate` as plain greedy search: its tokens, each step's raw logits and the
    end-of-sequence ids. The checkpoint's own settings (forced end tokens, banned words,
    minimum lengths) are not part of what the artifact computes, so they are turned off;
    generate() fills unset fields from the checkpoint, so they are given explicitly."""
    import torch

    config = model.generation_config
    eos = config.eos_token_id
    eos_ids = tuple(eos) if isinstance(eos, (list, tuple)) else () if eos is None else (eos,)
    pad = config.pad_token_id if config.pad_token_id is not None else next(iter(eos_ids), None)
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=mask,
            do_sample=False,
            num_beams=1,
            max_new_tokens=new_tokens,
            pad_token_id=pad,
            forced_bos_token_id=None,
            forced_eos_token_id=None,
            bad_words_ids=None,
            suppress_tokens=None,
            begin_suppress_tokens=None,
            no_repeat_ngram_size=0,
            repetition_penalty=1.0,
            min_length=0,
            return_dict_in_generate=True,
            output_logits=True,
            **extra,
        )
    return out.sequences, torch.stack(out.logits, dim=1), eos_ids


def _empty_past(part: Traced, batch: int) -> dict[str, Any]:
    """Each `past_key_values.*` input of `part` at past length 0: the first decoding step."""
    import torch

    return {
        spec.name: torch.zeros(
            tuple(0 if a == "past_sequence" else batch if a == "batch" else a for a in spec.axes),
            dtype=getattr(torch, spec.dtype),
        )
        for spec in part.specs
        if spec.kind == "past"
    }


def _manifest(
    parts: list[Traced],
    backend: str,
    pipeline: str,
    options: dict[str, Any],
    report: Any,
    checkpoint: Callable[[], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    import irc
    from irc.artifact import checkpoint_record, dynamic_dims
    from irc.backends import get_backend

    first = parts[0]
    graphs = {
        p.component: {
            "inputs": {v.name: str(v.type) for v in p.graph.inputs},
            "outputs": {v.name: str(v.type) for v in p.graph.outputs},
            "dynamic_dims": {**dynamic_dims(p.graph.inputs), **dynamic_dims(p.graph.outputs)},
            "tie_groups": {k: [q.name for q in v] for k, v in p.graph.tie_groups().items()},
            # Separated by untie-weights: each group's members must be trained together.
            "untied": p.graph.metadata.get("untied", {}),
        }
        for p in parts
    }
    single = graphs.pop("model") if list(graphs) == ["model"] else {"components": graphs}
    return {
        "irc_version": irc.__version__,
        "source": first.loaded.source,
        "model_type": first.loaded.model_type,
        "checkpoint": checkpoint() if checkpoint is not None else checkpoint_record(first.loaded.source),
        "task": first.loaded.task.name,
        "backend": backend,
        "pipeline": pipeline,
        "options": options,
        "opset": options.get("opset", getattr(get_backend(backend), "default_opset", None)),
        **single,
        "traced_sizes": first.sizes,
        "validation": report.to_dict() if report is not None else None,
    }


def _check_positions(loaded: Any, sequence_length: int) -> None:
    from irc.frontend.limits import check_sequence_length
    from irc.validate import validation_sizes

    def cases(length: int) -> list[dict[str, int]]:  # the trace's sizes, then validation's
        traced = {"sequence": length}
        if loaded.task.with_past:
            traced["past_sequence"] = OTHER_TRACE_SIZES["past_sequence"]
        return [traced, *validation_sizes(traced)]

    check_sequence_length(loaded.config, loaded.model_type, sequence_length, cases)


def _check_sizes(batch_size: int, sequence_length: int) -> None:
    for name, value in (("--batch-size", batch_size), ("--sequence-length", sequence_length)):
        if not isinstance(value, int) or value < 1:
            raise IrcError(f"{name} must be a positive integer, got {value!r}.")


# -- the Neuron backend: one static artifact per bucket -------------------------------------------

DEFAULT_BUCKETS = (128,)
NEURON_DIMS = ("batch", "sequence")
"""The dims the Neuron export fixes: the batch once, the sequence once per bucket."""


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
    progress: Progress = QUIET,
    on_validation_case: Any = None,
    trust_remote_code: bool = False,
) -> ExportResult:
    """Trace once; per sequence bucket, copy the graph, run `pad-static{batch=B,sequence=S}`
    and the pipeline, and lower it to static TorchScript; write the operator report; validate
    through the padding runner at lengths under each bucket against the unpadded model; then
    compile with the Neuron SDK. Where the SDK does not import, the folder is still published
    and `NeuronSdkMissing` (exit 2) says what to install; its `.result` is the ExportResult.
    """
    from irc.artifact import check_output, publish, staging_folder, write_manifest
    from irc.backends import get_backend
    from irc.backends.neuron import DEFAULT_TARGET
    from irc.backends.neuron.compile import NeuronSdkMissing
    from irc.backends.neuron.report import load_list
    from irc.ir.copy import copy_graph

    out = Path(output)
    check_output(out, force)
    backend: Any = get_backend("neuron")
    target = target or DEFAULT_TARGET
    load_list(target)  # an unknown target fails before tracing
    sizes_list = _bucket_sizes(buckets, 1 if batch_size is None else batch_size)
    traced = trace_model(model, task, trust_remote_code=trust_remote_code, progress=progress)
    _check_neuron_task(traced, sizes_list)
    graphs, pipelines = [], []
    for sizes in sizes_list:
        graph = copy_graph(traced.graph)
        pipeline = backend.bucket_pipeline(sizes, passes)
        debug = traced.make_inputs(sizes, seed=7) if debug_passes else None
        run_pipeline(graph, pipeline, debug_inputs=debug, progress=progress)
        graphs.append(graph)
        pipelines.append(pipeline)
    missing: NeuronSdkMissing | None = None
    with staging_folder(out) as staging:
        shown = ", ".join(str(s["sequence"]) for s in sizes_list)
        with progress.stage("lower", f"to neuron ({target}), sequence buckets {shown}"):
            artifact = backend.lower_buckets(graphs, staging, target=target, pad_values=_pad_values(traced))
        report = None
        if validate:
            with progress.stage("validate"):
                report = _validate_buckets(traced, backend, staging, atol, sizes_list, on_validation_case)
        failed = report is not None and not report.passed
        if not failed:
            try:
                with progress.stage("compile", target):
                    backend.compile(staging)
            except NeuronSdkMissing as exc:
                missing = exc
        manifest = _manifest([traced], "neuron", pipelines[0], {"target": target}, report)
        manifest.update(_neuron_manifest(staging, graphs[0], pipelines))
        write_manifest(staging, manifest)
        if not failed or keep_failed:
            publish(staging, out)
    result = ExportResult(out, out / artifact.name, graphs[-1], report, dict(progress.timings), manifest)
    if failed:
        raise _disagrees(
            "the neuron artifact (static TorchScript through the padding runner)", result, keep_failed
        )
    if missing is not None:
        written = ", ".join(b["model"] for b in manifest["buckets"])
        checked = "validated on the CPU through the padding runner, " if report is not None else ""
        not_compiled = NeuronSdkMissing(
            f"the static artifacts ({written}) and the operator report (op-report.txt) were written to "
            f"{out} and {checked}but not compiled: {missing}",
            missing.package,
            missing.reason,
        )
        not_compiled.report = report  # type: ignore[attr-defined]
        not_compiled.result = result  # type: ignore[attr-defined]
        raise not_compiled
    return result


def _bucket_sizes(buckets: Sequence[int] | None, batch: int) -> list[dict[str, int]]:
    lengths = list(DEFAULT_BUCKETS if buckets is None else buckets)
    bad = [b for b in lengths if not isinstance(b, int) or isinstance(b, bool) or b < 1]
    if not lengths or bad:
        raise IrcError(
            f"--buckets takes positive sequence lengths, e.g. --buckets 32,128; got {list(lengths)!r}."
        )
    if not isinstance(batch, int) or batch < 1:
        raise IrcError(f"--batch-size must be a positive integer, got {batch!r}.")
    return [{"batch": batch, "sequence": length} for length in sorted(set(lengths))]


def _check_neuron_task(traced: Traced, sizes_list: list[dict[str, int]]) -> None:
    extra = sorted(set(traced.sizes) - set(NEURON_DIMS))
    if extra or "sequence" not in traced.sizes:
        what = f"also has the dim(s) {', '.join(extra)}" if extra else "has no sequence dim"
        raise IrcError(
            f"the neuron backend buckets the batch and sequence dims only, and task "
            f"{traced.loaded.task.name} of {traced.loaded.model_type} {what}. Export a task without "
            "a cache or extra dims (e.g. causal-lm rather than causal-lm-with-past), or use "
            "--backend onnx / torchscript, whose dims stay symbolic."
        )
    config = traced.loaded.config
    limit = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
    longest = max(s["sequence"] for s in sizes_list)
    if isinstance(limit, int) and longest > limit:
        raise IrcError(
            f"bucket {longest} is longer than the {limit} positions {traced.loaded.model_type} has "
            f"(max_position_embeddings); choose --buckets of at most {limit}."
        )


def _pad_values(traced: Traced) -> dict[str, float]:
    """What the padding runner fills each input with: the pad token for ids, else 0."""
    config = traced.loaded.config
    text_config = getattr(config, "text_config", None) or config
    pad = getattr(text_config, "pad_token_id", None)
    token = pad if isinstance(pad, int) else 0
    return {spec.name: token if spec.kind == "ids" else 0 for spec in traced.specs}


def _validate_buckets(
    traced: Traced, backend: Any, folder: Path, atol: float | None, sizes: list[dict[str, int]], on_case: Any
) -> Any:
    from irc.validate import bucket_validation_sizes, validate

    tolerance = traced.loaded.task.atol if atol is None else atol
    with backend.load(folder) as runner:
        return validate(
            traced.reference,  # the model itself runs unpadded, at the caller's length
            runner.run,
            lambda case, seed: traced.make_inputs(case, seed=seed, pad=True),
            bucket_validation_sizes(sizes),
            tolerance,
            "neuron",
            on_case,
        )


def _neuron_manifest(folder: Path, graph: Any, pipelines: list[str]) -> dict[str, Any]:
    import json

    neuron = json.loads((folder / "neuron.json").read_text())
    return {
        "pipeline": pipelines,
        "buckets": neuron["buckets"],
        "neuron": {
            "target": neuron["target"],
            "sdk_package": neuron["sdk_package"],
            "compiled": all(b["compiled"] for b in neuron["buckets"]),
            "report": neuron["report"],
        },
        # The buckets' graphs went through untie-weights; the traced one did not.
        "tie_groups": {k: [p.name for p in v] for k, v in graph.tie_groups().items()},
        "untied": graph.metadata.get("untied", {}),
    }


def _reload(
    artifact: str | Path,
    model: str | Path | None,
    component: str | None,
    progress: Progress,
    trust_remote_code: bool = False,
) -> tuple[Any, Traced, dict[str, Any]]:
    """The backend, the re-traced model (after the artifact's pipeline) and the manifest of an
    artifact folder; `model` replaces the manifest's source when that is not a folder here, and
    `component` picks one model of a multi-model artifact."""
    import json

    from irc.artifact import MANIFEST
    from irc.backends import get_backend

    path = Path(artifact) / MANIFEST
    if not path.is_file():
        raise IrcError(f"{artifact} has no {MANIFEST}: give an artifact folder that `irc export` wrote.")
    manifest = json.loads(path.read_text())
    source = model if model is not None else manifest.get("source")
    if source is None or not Path(source).is_dir():
        raise IrcError(
            f"the model this artifact came from ({manifest.get('source')!r} in {MANIFEST}) is not a folder "
            "here; pass the checkpoint folder with --model."
        )
    components = list(manifest.get("components", {}))
    if components and component is None:
        raise IrcError(
            f"{artifact} holds several models ({', '.join(components)}); name one with --component."
        )
    sizes = manifest.get("traced_sizes", {})
    traced = trace_model(
        source,
        manifest["task"],
        component=component,
        batch_size=sizes.get("batch", DEFAULT_BATCH),
        sequence_length=sizes.get("sequence", DEFAULT_SEQUENCE),
        trust_remote_code=trust_remote_code,
        progress=progress,
    )
    run_pipeline(traced.graph, manifest.get("pipeline", ""), progress=progress)
    return get_backend(manifest["backend"]), traced, manifest


def bisect(
    artifact: str | Path,
    *,
    model: str | Path | None = None,
    component: str | None = None,
    atol: float | None = None,
    trust_remote_code: bool = False,
    progress: Progress = QUIET,
) -> Any:
    """Name the first IR node whose output differs between the artifact's backend and the IR
    interpreter, re-lowering the model as its manifest (`irc.json`) says; an
    `irc.validate.bisect.BisectResult`. `component` picks one model of a multi-model artifact
    (`decoder_with_past_model`, say); `trust_remote_code` as for `export`, for a checkpoint that
    brings its own model code."""
    from irc.validate import validation_sizes
    from irc.validate.bisect import bisect_graph

    target, traced, manifest = _reload(artifact, model, component, progress, trust_remote_code)
    inputs = traced.make_inputs(validation_sizes(traced.sizes)[0], seed=1)
    tolerance = traced.loaded.task.atol if atol is None else atol
    with progress.stage("bisect", f"{len(traced.graph)} nodes on {target.name}"):
        return bisect_graph(traced.graph, target, inputs, tolerance, manifest.get("options") or {})
