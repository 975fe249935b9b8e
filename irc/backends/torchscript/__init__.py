"""The TorchScript backend: lowers a Graph to generated module code, scripted into `model.pt`.

    >>> backend = TorchScriptBackend()
    >>> path = backend.lower(graph, out_dir)                 # out_dir/model.pt
    >>> with backend.load(out_dir) as runner:
    ...     runner.run(inputs)["logits"]

The module is irc's own code (one line per IR node), not the transformers model, so the artifact
loads with `torch.jit.load` in a process that never imports transformers. Symbolic dims stay
symbolic (`x.size(1)`, int arithmetic), so one `model.pt` serves every batch size and sequence
length. Tied weights must be separated first (`untie-weights`, in the default pipeline).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from irc.backends.base import Backend, Runner
from irc.errors import BackendError, LoweringError

if TYPE_CHECKING:
    from irc.ir.core import Graph


class TorchScriptBackend(Backend):
    """TorchScript module (model.pt) with untied weights, loadable without transformers."""

    name = "torchscript"
    default_pipeline = "untie-weights,dce,cse,fold-constants"

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

    def lower(self, graph: Graph, out_dir: Path, **options: Any) -> Path:
        """Write `out_dir/model.pt` (scripted, with the signature and generated source as extra
        files) and return its path. Its one option, `name`, changes the file stem (multi-model
        exports such as `decoder_model.pt`)."""
        from irc.backends.torchscript.translate import build, save

        name = options.pop("name", "model")
        if options:
            raise BackendError(
                f"unknown option(s) {', '.join(sorted(options))} for the torchscript backend; it takes none."
            )
        self.check(graph)
        scripted, source = build(graph)
        return save(scripted, source, graph, Path(out_dir), name)

    def load(self, out_dir: Path, name: str = "model") -> Runner:
        from irc.backends.torchscript.runner import TorchScriptRunner

        return TorchScriptRunner(Path(out_dir) / f"{name}.pt")
