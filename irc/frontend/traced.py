"""A model traced for export: one `Traced` per artifact file (usually one, `model`; the four
components of an encoder-decoder with past), with what validation needs to rebuild inputs and
rerun the original model.

>>> (traced,) = trace_components(model, "causal-lm")
>>> traced.graph, traced.make_inputs({"batch": 1, "sequence": 5}), traced.component
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from irc.errors import IrcError
from irc.progress import Progress

DEFAULT_BATCH = 2
DEFAULT_SEQUENCE = 8
OTHER_TRACE_SIZES = {
    "num_choices": 3,
    "decoder_sequence": 6,
    "past_sequence": 5,
    "frames": 40,
    "encoder_sequence": 9,
    "samples": 16000,
}
"""Trace sizes of the dims the CLI has no flag for; distinct from the defaults above so that
torch.export cannot mistake one dim for another. Raw audio (`samples`) is traced at one second
at 16 kHz, the rate of wav2vec2-style checkpoints."""


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


def trace_components(
    model: Any,
    task: str | None = None,
    *,
    component: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    sequence_length: int = DEFAULT_SEQUENCE,
    trust_remote_code: bool = False,
    progress: Progress | None = None,
    single: bool = False,
    check_loaded: Callable[[Any], None] | None = None,
) -> list[Traced]:
    """Load (if a path) and trace `model` for `task` (None: the checkpoint's own head): one
    Traced per artifact file, usually one (`model`); `seq2seq-lm-with-past` has four, of which
    `component` picks one. With `single`, a task of several models and no `component` is an
    IrcError, raised before anything is traced. `check_loaded(loaded)` runs after loading, before
    tracing (the export flow checks the sequence length against the model's positions there)."""
    from irc.frontend.loading import load
    from irc.frontend.tasks import splits_vision_language
    from irc.frontend.unsupported import refuse_unsupported

    progress = progress or Progress(enabled=False)
    _check_sizes(batch_size, sequence_length)
    with progress.stage("load", str(model) if isinstance(model, (str, Path)) else type(model).__name__):
        loaded = load(model, task, trust_remote_code)
    refuse_unsupported(loaded.config, loaded.model_type)
    if check_loaded is not None:
        check_loaded(loaded)
    if loaded.task.with_past and getattr(loaded.config, "is_encoder_decoder", False):
        from irc.frontend.seq2seq import components

        parts = [(c.name, c.inputs, c.wrap) for c in components(loaded)]
    elif splits_vision_language(loaded.task.name, loaded.config, type(loaded.module)):
        from irc.frontend.vision_language import components as vlm_components

        parts = [(c.name, c.inputs, c.wrap) for c in vlm_components(loaded)]
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


def trace_model(model: Any, task: str | None = None, **options: Any) -> Traced:
    """The traced model for `task`; for multi-model tasks, the `component` option names which
    one. `options` are trace_components' keywords (component, batch_size, sequence_length,
    trust_remote_code, progress)."""
    (traced,) = trace_components(model, task, single=True, **options)
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

    # Names inside expressions too: a pure state-space decoder's mask is its only input over
    # `past_sequence + sequence` (its cache has no per-token part).
    named = {n for s in specs for a in s.axes if isinstance(a, str) for n in re.findall(r"[A-Za-z_]\w*", a)}
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


def _check_sizes(batch_size: int, sequence_length: int) -> None:
    for name, value in (("--batch-size", batch_size), ("--sequence-length", sequence_length)):
        if not isinstance(value, int) or value < 1:
            raise IrcError(f"{name} must be a positive integer, got {value!r}.")
