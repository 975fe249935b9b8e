"""Runs a graph with torch: the semantics every pass must preserve.

    >>> outputs = Interpreter(graph).run({"input_ids": ids, "attention_mask": mask})
    >>> outputs["logits"].shape

`run_node` can be overridden (to record intermediates, say); values are freed after their last
use, so running a large graph holds no more activations than eager PyTorch would.
"""

from __future__ import annotations

from typing import Any

from irc.errors import IrcError, IRError
from irc.ir.core import Graph, Node, Value, map_args
from irc.ir.ops import get_op


class InterpreterError(IrcError):
    """An op failed while the interpreter ran it."""


class Interpreter:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.env: dict[Value, Any] = {}

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Outputs by name for `inputs` given by name; params supply their own data."""
        graph = self.graph
        missing = [v.name for v in graph.inputs if v.name not in inputs]
        if missing:
            raise IRError(f"no value given for graph input(s) {', '.join(missing)}")
        self.env = {v: inputs[v.name] for v in graph.inputs}
        for param in graph.params.values():
            if param.is_used():
                self.env[param] = param.tensor()
        last_use = self._last_uses()
        for i, node in enumerate(graph.nodes):
            results = self.run_node(node)
            for out, result in zip(node.outputs, results, strict=False):
                self.env[out] = result
            for value in last_use.get(i, ()):
                if not value.is_graph_output():
                    self.env.pop(value, None)
        return {v.name: self.env[v] for v in graph.outputs}

    def run_node(self, node: Node) -> list[Any]:
        """Computes the node's outputs from `self.env`; returns one result per output."""
        opdef = get_op(node.op)
        args = map_args(node.args, self.env.__getitem__)
        kwargs = map_args(node.kwargs, self.env.__getitem__)
        try:
            result = opdef.target(*args, **kwargs)
        except Exception as exc:
            raise InterpreterError(f"{node.op} failed at {node.provenance}: {exc}") from exc
        if not node.outputs:
            return []
        if len(node.outputs) == 1 and not isinstance(result, (list, tuple)):
            return [result]
        # A list op's outputs are its elements, even one (a split into one piece).
        return list(result)[: len(node.outputs)]

    def _last_uses(self) -> dict[int, list[Value]]:
        last: dict[Value, int] = {}
        for i, node in enumerate(self.graph.nodes):
            for value in node.inputs:
                last[value] = i
            for value in node.outputs:
                last.setdefault(value, i)
        by_node: dict[int, list[Value]] = {}
        for value, i in last.items():
            by_node.setdefault(i, []).append(value)
        return by_node


def interpret(graph: Graph, inputs: dict[str, Any]) -> dict[str, Any]:
    import torch

    with torch.no_grad():
        return Interpreter(graph).run(inputs)
