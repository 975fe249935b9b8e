"""The TorchScript backend: lowers each named Graph to generated module code, scripted into
`<name>.pt`.

    >>> backend = TorchScriptBackend()
    >>> files = backend.lower({"model": graph}, out_dir, NoOptions())   # out_dir/model.pt
    >>> with backend.load(out_dir, "model") as runner:
    ...     runner.run(inputs)["logits"]

The module is irc's own code (one line per IR node), not the transformers model, so the artifact
loads with `torch.jit.load` in a process that never imports transformers. Symbolic dims stay
symbolic (`x.size(1)`, int arithmetic), so one `model.pt` serves every batch size and sequence
length. Tied weights must be separated first: the backend requires `untied`, which
`untie-weights` (in the default pipeline) ensures.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from irc.backends.base import Backend, Runner
from irc.errors import LoweringError

if TYPE_CHECKING:
    from irc.ir.core import Graph


class TorchScriptBackend(Backend):
    """TorchScript module (model.pt) with untied weights, loadable without transformers."""

    name = "torchscript"
    label = "TorchScript"
    requires = frozenset({"untied"})
    default_pipeline = "untie-weights,simplify,dce,cse,fold-constants"

    def supported_ops(self) -> set[str]:
        from irc.backends.torchscript.registry import emitters

        return set(emitters())

    def check(self, graph: Graph) -> None:
        """The ops check of every backend, then: no tie group may be left."""
        super().check(graph)
        groups = graph.tie_groups()
        if groups:
            names = "; ".join(f"{label}: {', '.join(p.name for p in ps)}" for label, ps in groups.items())
            raise LoweringError(
                f"the torchscript backend takes untied weights, but the graph has {len(groups)} tie group(s) "
                f"({names}). Put untie-weights in the pipeline (the backend's default pipeline, "
                f"{self.default_pipeline!r}, starts with it)."
            )

    def lower(self, graphs: Mapping[str, Graph], out_dir: Path, options: Any) -> dict[str, Path]:
        """Write `out_dir/<name>.pt` per graph (scripted, with the signature and generated source
        as extra files) and return their paths."""
        from irc.backends.torchscript.translate import build, save

        for graph in graphs.values():
            self.check(graph)
        files = {}
        for name, graph in graphs.items():
            scripted, source = build(graph)
            files[name] = save(scripted, source, graph, Path(out_dir), name)
        return files

    def load(self, out_dir: Path, name: str = "model") -> Runner:
        from irc.backends.torchscript.runner import TorchScriptRunner

        return TorchScriptRunner(Path(out_dir) / f"{name}.pt")
