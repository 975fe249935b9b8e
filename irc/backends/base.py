"""What every backend provides: a name and display label, typed options, a default pipeline,
the graph properties it requires, the ops it lowers, `lower` over the plan's named graphs, an
optional compile step, and a runner.

A backend turns named Graphs into an artifact folder and loads each back as a `Runner`, which
takes and returns tensors by name, like the validator's reference:

    >>> backend = get_backend("onnx")
    >>> options = backend.parse_options("opset=18,external_data=true")   # OnnxOptions(...)
    >>> backend.check(graph)                      # LoweringError naming every op it cannot take
    >>> files = backend.lower({"model": graph}, out_dir, options)   # {"model": out_dir/model.onnx}
    >>> with backend.load(out_dir, "model") as runner:
    ...     outputs = runner.run({"input_ids": ids, "attention_mask": mask})

The export flow (`irc.exporter.flow`) drives every backend the same way: it checks that the pass
pipeline ensures `requires` before anything is traced, runs the pipeline per named graph, calls
`check` and `lower` once with all the plan's graphs, loads each validated graph with `load`, and
calls `compile` when validation passed.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from irc.errors import BackendError, LoweringError

if TYPE_CHECKING:
    import torch

    from irc.ir.core import Graph, Node


class Runner(ABC):
    """A loaded artifact, used as a context manager (Polygraphy style): load on enter, release
    on exit. `run` takes inputs by graph input name and returns outputs by graph output name."""

    def __init__(self) -> None:
        self.active = False

    def __enter__(self) -> Runner:
        self.activate()
        self.active = True
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.active = False
        self.deactivate()

    def run(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if not self.active:
            raise BackendError(f"{type(self).__name__} is not loaded: use it inside a `with` block.")
        return self.infer(inputs)

    @abstractmethod
    def activate(self) -> None:
        """Load the artifact (create the session)."""

    @abstractmethod
    def infer(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Run once; outputs by graph output name."""

    @abstractmethod
    def deactivate(self) -> None:
        """Release what `activate` acquired."""


@dataclass(frozen=True)
class NoOptions:
    """The options of a backend that takes none."""


class NotCompiled(BackendError):
    """The artifact was written and validated, but the backend's compile step could not run
    (its SDK is missing, say). The export flow still publishes the folder, then raises this
    (through `Backend.not_compiled`) with `.result` and `.report` set."""


class Backend(ABC):
    """A lowering target. Subclasses set `name` (and `label`, `default_pipeline`, `requires`,
    `Options` as needed) and implement `supported_ops`, `lower` and `load`."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    """How validation logs write the backend (`ONNX`, `TorchScript`); default: `name` capitalized."""
    default_pipeline: ClassVar[str] = ""
    """The pass pipeline (`"dce,cse,fold-constants"`) run before lowering unless the user gives one."""
    requires: ClassVar[frozenset[str]] = frozenset()
    """Graph properties (`untied`, `static-shapes`) the pipeline must ensure; checked before tracing."""
    Options: ClassVar[type] = NoOptions
    """The backend's options: a frozen dataclass whose fields are written like a pass's options."""

    @classmethod
    def summary(cls) -> str:
        """The first paragraph of the subclass's own docstring, on one line."""
        doc = cls.__dict__.get("__doc__") or ""
        return " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())

    @classmethod
    def display(cls) -> str:
        return cls.label or cls.name.capitalize()

    def parse_options(self, text: str = "") -> Any:
        """`Options` from option text in the pipeline grammar: `opset=18,external_data=true`."""
        from irc.backends.options import parse_option_text

        return self.make_options(**parse_option_text(self.name, text, option_fields(self.Options)))

    def make_options(self, **values: Any) -> Any:
        """`Options` from typed values (lists become tuples); a BackendError names an unknown or
        mistyped option and lists the ones the backend takes."""
        from irc.backends.options import build_options

        return build_options(self.name, self.Options, values)

    def pipeline(self, options: Any) -> str:
        """The default pipeline for `options` (the ONNX backend's `ort_fusions` adds passes)."""
        return self.default_pipeline

    def bucket_sizes(self, options: Any) -> list[dict[str, int]] | None:
        """The static sizes to lower one copy of each traced graph at (Neuron's buckets), each
        through `pad-static` first; None (the default): lower the graphs as traced."""
        return None

    def bucket_pipeline(self, sizes: dict[str, int], pipeline: str | None = None) -> str:
        """`pad-static` at a bucket's `sizes`, then `pipeline` (default: the backend's)."""
        from irc.passes.pad_static import PadStatic

        rest = self.default_pipeline if pipeline is None else pipeline
        if "pad-static" in rest:
            raise BackendError(
                f"the {self.name} backend runs pad-static itself, once per bucket; leave it out of --passes "
                "and give the sizes with --buckets and --batch-size."
            )
        pad = PadStatic(**sizes)  # type: ignore[arg-type]
        options = ",".join(f"{k}={v}" for k, v in sizes.items())
        text = f"{pad.name}{{{options}}}"
        return f"{text},{rest}" if rest else text

    @abstractmethod
    def supported_ops(self) -> set[str]:
        """The IR ops this backend has a lowering for."""

    def check(self, graph: Graph) -> None:
        """Raise a LoweringError listing every op of `graph` with no lowering, with the
        provenance of every node that uses it; return quietly when all ops are supported."""
        missing = missing_ops(graph, self.supported_ops())
        if missing:
            raise LoweringError(format_missing(self.name, missing))

    @abstractmethod
    def lower(self, graphs: Mapping[str, Graph], out_dir: Path, options: Any) -> dict[str, Path]:
        """Write the artifact for every named graph into `out_dir` (which exists): each name is
        the file stem the export plan chose (`model`, `decoder_model`, a bucket). Return the
        files to show the user by name, the artifact's main file first."""

    @abstractmethod
    def load(self, out_dir: Path, name: str = "model") -> Runner:
        """A runner for the graph `lower` wrote as `name` into `out_dir` (not yet activated)."""

    def compile(self, out_dir: Path, options: Any) -> None:
        """Compile what `lower` wrote (after validation passed); the default does nothing.
        Raise `NotCompiled` when the compiler is missing: the folder is published anyway."""
        return None

    def not_compiled(self, error: NotCompiled, out_dir: Path, validated: bool) -> NotCompiled:
        """The error to raise once the uncompiled folder is published at `out_dir`."""
        return error

    def manifest(self, out_dir: Path) -> dict[str, Any]:
        """Entries this backend adds to the artifact's `irc.json` (read from `out_dir`)."""
        return {}

    def lower_one(self, graph: Graph, out_dir: Path, name: str = "model", **options: Any) -> Path:
        """Lower one graph as `name`, options given as keyword values (tests, notebooks)."""
        return self.lower({name: graph}, Path(out_dir), self.make_options(**options))[name]

    @classmethod
    def check_interface(cls) -> None:
        """Raise a BackendError when the subclass was written against irc's old interface,
        `lower(graph, out_dir, **options) -> Path`, saying what changed."""
        params = list(inspect.signature(cls.lower).parameters.values())[1:]
        old = params[:1] and params[0].name == "graph"
        if not old and all(p.kind != inspect.Parameter.VAR_KEYWORD for p in params):
            return
        raise BackendError(
            f"the {cls.name} backend ({cls.__module__}.{cls.__qualname__}) implements the old interface "
            "lower(graph, out_dir, **options) -> Path. A backend now implements "
            "lower(graphs: Mapping[str, Graph], out_dir, options) -> dict[str, Path] (graphs by file stem, "
            "`options` an instance of its `Options` dataclass) and load(out_dir, name='model'); see "
            "docs/tutorial-backend.md. Update the backend or its distribution."
        )


def option_fields(options_type: type) -> dict[str, Any]:
    """Field name -> resolved type of an options dataclass."""
    hints = typing.get_type_hints(options_type)
    return {f.name: hints[f.name] for f in dataclasses.fields(options_type)}


def missing_ops(graph: Graph, supported: set[str]) -> dict[str, list[Node]]:
    """Op -> the nodes using it, for each op of `graph` not in `supported`, in graph order."""
    missing: dict[str, list[Node]] = {}
    for node in graph.nodes:
        if node.op not in supported:
            missing.setdefault(node.op, []).append(node)
    return missing


def format_missing(backend: str, missing: dict[str, list[Node]]) -> str:
    """One paragraph: every missing op with where each node using it came from, then what to do."""
    parts = []
    for op, nodes in missing.items():
        counts: dict[str, int] = {}
        for node in nodes:
            counts[node.provenance] = counts.get(node.provenance, 0) + 1
        places = "; ".join(where + (f" x{count}" if count > 1 else "") for where, count in counts.items())
        parts.append(f"{op} ({len(nodes)} node(s), at {places})")
    return (
        f"the {backend} backend cannot lower {len(missing)} op(s) used by this graph: {', '.join(parts)}. "
        f"Add a lowering for each (one decorated function per op in irc/backends/{backend}/), add a pass "
        "to the pipeline that rewrites them into supported ops, or report the model type with this message."
    )
