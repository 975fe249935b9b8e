"""What every backend provides: a name, a default pipeline, the ops it lowers, and a runner.

A backend turns a Graph into an artifact folder and loads that folder back as a `Runner`, which
takes and returns tensors by name, like the validator's reference:

    >>> backend = get_backend("onnx")
    >>> backend.check(graph)                      # LoweringError naming every op it cannot take
    >>> path = backend.lower(graph, out_dir)      # out_dir/model.onnx
    >>> with backend.load(out_dir) as runner:
    ...     outputs = runner.run({"input_ids": ids, "attention_mask": mask})
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

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


class Backend(ABC):
    """A lowering target. Subclasses set `name` and `default_pipeline` and implement the rest."""

    name: str = ""
    default_pipeline: str = ""
    """The pass pipeline (`"dce,cse,fold-constants"`) run before lowering unless the user gives one."""

    @classmethod
    def summary(cls) -> str:
        """The first paragraph of the subclass's own docstring, on one line."""
        doc = cls.__dict__.get("__doc__") or ""
        return " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())

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
    def lower(self, graph: Graph, out_dir: Path, **options: Any) -> Path:
        """Write the artifact for `graph` into `out_dir` (which exists) and return its main file."""

    @abstractmethod
    def load(self, out_dir: Path) -> Runner:
        """A runner for the artifact that `lower` wrote into `out_dir` (not yet activated)."""


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
