"""`demo-interp`: a minimal backend whose artifact is the IR text plus its weights, run by irc's
interpreter. It shows the two halves every backend has: `lower` writes each of the export
plan's named graphs into a folder (`<name>.irc`, `<name>.weights.pt`), `load` returns a runner
for one of them with the validator's call signature. Its one option, `weights`, shows a typed
option: `--backend "demo-interp{weights=false}"` leaves the weights out of the folder."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from irc.backends.base import Backend, Runner
from irc.errors import BackendError, LoweringError
from irc.ir.core import Graph
from irc.ir.ops import get_op


@dataclass(frozen=True)
class InterpreterOptions:
    weights: bool = True
    """Write the weights beside the IR text (false: the runner fills them with zeros)."""


class InterpreterBackend(Backend):
    """IR text and weights, run by irc's interpreter (a demo plugin)."""

    name = "demo-interp"
    label = "Interpreter"
    Options = InterpreterOptions
    default_pipeline = "dce,cse"

    def supported_ops(self) -> set[str]:
        return set()  # every op the interpreter resolves; see check()

    def check(self, graph: Graph) -> None:
        for node in graph.nodes:
            try:
                get_op(node.op)
            except Exception as exc:
                raise LoweringError(f"demo-interp cannot run {node.op} at {node.provenance}: {exc}") from exc

    def lower(
        self, graphs: Mapping[str, Graph], out_dir: Path, options: InterpreterOptions
    ) -> dict[str, Path]:
        import torch

        from irc.ir.printer import print_graph

        files = {}
        for name, graph in graphs.items():
            files[name] = out_dir / f"{name}.irc"
            files[name].write_text(print_graph(graph))
            weights = {
                k: p.tensor() for k, p in graph.params.items() if p.data is not None and options.weights
            }
            torch.save(weights, out_dir / f"{name}.weights.pt")
        return files

    def load(self, out_dir: Path, name: str = "model") -> Runner:
        return InterpreterRunner(out_dir, name)


class InterpreterRunner(Runner):
    def __init__(self, folder: Path, name: str = "model") -> None:
        super().__init__()
        self.folder = folder
        self.name = name
        self.graph: Graph | None = None

    def activate(self) -> None:
        import torch

        from irc.ir.parser import parse_graph

        path = self.folder / f"{self.name}.irc"
        if not path.is_file():
            raise BackendError(f"{path} does not exist; lower a graph named {self.name} into {self.folder}.")
        self.graph = parse_graph(path.read_text())
        weights = torch.load(self.folder / f"{self.name}.weights.pt")
        for name, param in self.graph.params.items():
            param.data = (
                weights[name] if name in weights else torch.zeros([int(d) for d in param.tensor_type.shape])
            )

    def infer(self, inputs: dict[str, Any]) -> dict[str, Any]:
        from irc.ir.interpreter import interpret

        assert self.graph is not None
        missing = [v.name for v in self.graph.inputs if v.name not in inputs]
        if missing:
            raise BackendError(f"no value given for input(s) {', '.join(missing)} of {self.folder}.")
        return interpret(self.graph, {v.name: inputs[v.name] for v in self.graph.inputs})

    def deactivate(self) -> None:
        self.graph = None
