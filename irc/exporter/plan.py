"""The export plan: the named graphs an export lowers and the models it validates.

One traced model gives one graph, `model`; an encoder-decoder with past gives four
(`encoder_model`, `decoder_model`, ...); a backend that lowers static buckets (Neuron) gives one
copy of the traced graph per bucket (`sequence-32`, `sequence-128`), each with `pad-static` at its
sizes in front of the pipeline, validated together as one model through the backend's runner.

    >>> plan = make_plan(parts, backend, options, "dce,cse", Tolerance(None))
    >>> [(g.name, g.pipeline) for g in plan.graphs]
    [('model', 'dce,cse')]
    >>> [(c.name, c.sizes) for c in plan.checks]
    [('model', [{'batch': 1, 'sequence': 3}, {'batch': 5, 'sequence': 11}])]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from irc.backends.base import Backend
from irc.errors import IrcError
from irc.frontend.traced import Traced
from irc.ir.core import Graph

BUCKET_DIMS = ("batch", "sequence")
"""The dims a bucketed export fixes: the batch once, the sequence once per bucket."""


@dataclass(frozen=True)
class Tolerance:
    """The validation atol (None: the task's) and where it came from, for the report."""

    atol: float | None
    source: str = ""


@dataclass
class PlannedGraph:
    """One graph the backend lowers: its file stem, the pipeline run on it first and its atol."""

    name: str
    graph: Graph
    pipeline: str
    part: Traced
    """The traced model it was made from (its inputs and reference)."""
    atol: float
    sizes: dict[str, int] = field(default_factory=dict)
    """The sizes it is fixed at (a bucket's); empty: as traced."""

    def debug_inputs(self) -> dict[str, Any]:
        """Inputs for the pass manager's debug mode: at the bucket's sizes, else the traced ones."""
        return self.part.make_inputs(self.sizes, seed=7) if self.sizes else self.part.debug_inputs()


@dataclass
class Check:
    """One model the validator runs: `backend.load(folder, name)` against `part`'s reference."""

    name: str
    part: Traced
    sizes: list[dict[str, int]]
    atol: float
    lowered: Graph
    """The (first) graph lowered for it, whose tie groups the manifest records."""


@dataclass
class ExportPlan:
    """What an export does once traced: the `graphs` the backend lowers (one per traced part, or
    per bucket), the `checks` the validator runs, with the backend, its options and the tolerance."""

    backend: Backend
    options: Any
    graphs: list[PlannedGraph]
    checks: list[Check]
    tolerance: Tolerance
    bucketed: bool = False

    @property
    def parts(self) -> list[Traced]:
        """The traced models the checks validate against, one per check."""
        return [c.part for c in self.checks]

    @property
    def pipelines(self) -> str | list[str]:
        """The pipeline, or one per bucket for a bucketed export."""
        if self.bucketed:
            return [g.pipeline for g in self.graphs]
        return self.graphs[0].pipeline

    def describe(self) -> str:
        """How the lower stage's progress line names the target."""
        if not self.bucketed:
            return f"to {self.backend.name}"
        target = getattr(self.options, "target", None)
        shown = ", ".join(str(g.sizes["sequence"]) for g in self.graphs)
        where = f" ({target})" if target else ""
        return f"to {self.backend.name}{where}, sequence buckets {shown}"


def make_plan(
    parts: list[Traced], backend: Backend, options: Any, pipeline: str, tolerance: Tolerance
) -> ExportPlan:
    """The plan for the traced `parts` on `backend`: one graph per part, or per bucket."""
    from irc.validate import validation_sizes

    buckets = backend.bucket_sizes(options)
    if buckets is not None:
        return _bucket_plan(parts, backend, options, pipeline, tolerance, buckets)
    graphs, checks = [], []
    for part in parts:
        atol = _atol(part, tolerance)
        graphs.append(PlannedGraph(part.component, part.graph, pipeline, part, atol))
        checks.append(Check(part.component, part, validation_sizes(part.sizes), atol, part.graph))
    return ExportPlan(backend, options, graphs, checks, tolerance)


def _bucket_plan(
    parts: list[Traced],
    backend: Any,
    options: Any,
    pipeline: str,
    tolerance: Tolerance,
    buckets: list[dict[str, int]],
) -> ExportPlan:
    from irc.ir.copy import copy_graph
    from irc.validate import bucket_validation_sizes

    (traced,) = parts
    check_bucketed_task(traced, backend.name, buckets)
    atol = _atol(traced, tolerance)
    graphs = []
    for sizes in buckets:
        graph = copy_graph(traced.graph)
        graph.metadata["pad_values"] = pad_values(traced)
        name = bucket_name(sizes)
        graphs.append(
            PlannedGraph(name, graph, backend.bucket_pipeline(sizes, pipeline), traced, atol, sizes)
        )
    check = Check("model", traced, bucket_validation_sizes(buckets), atol, graphs[0].graph)
    return ExportPlan(backend, options, graphs, [check], tolerance, bucketed=True)


def bucket_name(sizes: dict[str, int]) -> str:
    """`sequence-32` (the batch is the same in every bucket of an export), or `batch-1`."""
    parts = [f"{k}-{v}" for k, v in sizes.items() if k != "batch"]
    return "_".join(parts) if parts else f"batch-{sizes.get('batch', 'static')}"


def check_bucketed_load(loaded: Any, backend: str) -> None:
    """An encoder-decoder or vision-language model with its cache is refused by a bucketed backend
    before tracing: its models have a cache dim besides batch and sequence."""
    from irc.frontend.tasks import ENCODER_DECODER_PAST, IMAGE_TEXT_TASK

    task = loaded.task.name
    if task == IMAGE_TEXT_TASK:  # no task without the cache to point to: a VLM decodes through it
        raise IrcError(
            f"with-past tasks are not supported on the {backend} backend, which buckets the batch and "
            f"sequence dims only: {task} exports a vision encoder, a text embedding and a decoder with "
            "a key/value cache (past_sequence dim). Use --backend onnx or torchscript, whose dims stay "
            "symbolic."
        )
    if task in ENCODER_DECODER_PAST:
        raise IrcError(
            f"the {backend} backend buckets the batch and sequence dims only, and {task} exports an "
            "encoder and decoders with a key/value cache (past_sequence and encoder dims). Export "
            f"{task.removesuffix('-with-past')} (one model, no cache), or use --backend onnx / "
            "torchscript, whose dims stay symbolic."
        )


def check_bucketed_task(traced: Traced, backend: str, buckets: list[dict[str, int]]) -> None:
    """A bucketed export fixes the batch and sequence dims only, at most the model's positions."""
    if "samples" in traced.sizes:
        from irc.frontend.audio import NEURON_REFUSAL

        task, model_type = traced.loaded.task.name, traced.loaded.model_type
        raise IrcError(NEURON_REFUSAL.format(backend=backend, task=task, model_type=model_type))
    extra = sorted(set(traced.sizes) - set(BUCKET_DIMS))
    if extra or "sequence" not in traced.sizes:
        what = f"also has the dim(s) {', '.join(extra)}" if extra else "has no sequence dim"
        raise IrcError(
            f"the {backend} backend buckets the batch and sequence dims only, and task "
            f"{traced.loaded.task.name} of {traced.loaded.model_type} {what}. Export a task without "
            "a cache or extra dims (e.g. causal-lm rather than causal-lm-with-past), or use "
            "--backend onnx / torchscript, whose dims stay symbolic."
        )
    config = traced.loaded.config
    limit = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
    longest = max(s["sequence"] for s in buckets)
    if isinstance(limit, int) and longest > limit:
        raise IrcError(
            f"bucket {longest} is longer than the {limit} positions {traced.loaded.model_type} has "
            f"(max_position_embeddings); choose --buckets of at most {limit}."
        )


def pad_values(traced: Traced) -> dict[str, float]:
    """What a padding runner fills each input with: the pad token for ids, else 0."""
    config = traced.loaded.config
    text_config = getattr(config, "text_config", None) or config
    pad = getattr(text_config, "pad_token_id", None)
    token = pad if isinstance(pad, int) else 0
    return {spec.name: token if spec.kind == "ids" else 0 for spec in traced.specs}


def _atol(part: Traced, tolerance: Tolerance) -> float:
    return part.loaded.task.atol if tolerance.atol is None else tolerance.atol
