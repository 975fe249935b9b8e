"""`demo-interp`: a minimal backend whose artifact is the IR text plus its weights, run by irc's
interpreter. It shows the two halves every backend has: `lower` writes a folder, `load` returns
a runner with the validator's call signature."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from irc.backends.base import Backend, Runner
from irc.errors import LoweringError
from irc.ir.core import Graph
from irc.ir.ops import get_op


class InterpreterBackend(Backend):
    """IR text and weights, run by irc's interpreter (a demo plugin)."""

    name = "demo-interp"
    default_pipeline = "dce,cse"

    def supported_ops(self) -> set[str]:
        return set()  # every op the interpreter resolves; see check()

    def check(self, graph: Graph) -> None:
        for node in graph.nodes:
            try:
                get_op(node.op)
            except Exception as exc:
                raise LoweringError(f"demo-interp cannot run {node.op} at {node.provenance}: {exc}") from exc

    def lower(self, graph: Graph, out_dir: Path, **options: Any) -> Path:
        import torch

        from irc.ir.printer import print_graph

        path = out_dir / "model.irc"
        path.write_text(print_graph(graph))
        weights = {name: p.tensor() for name, p in graph.params.items() if p.data is not None}
        torch.save(weights, out_dir / "weights.pt")
        return path

    def load(self, out_dir: Path) -> Runner:
        return InterpreterRunner(out_dir)


class InterpreterRunner(Runner):
    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.graph: Graph | None = None

    def activate(self) -> None:
        import torch

        from irc.ir.parser import parse_graph

        self.graph = parse_graph((self.folder / "model.irc").read_text())
        weights = torch.load(self.folder / "weights.pt")
        for name, param in self.graph.params.items():
            if name in weights:
                param.data = weights[name]

    def infer(self, inputs: dict[str, Any]) -> dict[str, Any]:
        from irc.ir.interpreter import interpret

        assert self.graph is not None
        return interpret(self.graph, inputs)

    def deactivate(self) -> None:
        self.graph = None
