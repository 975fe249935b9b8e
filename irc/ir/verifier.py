"""The verifier: checks the structural invariants every pass must keep.

`verify(graph)` collects every problem before raising, so one run shows all that a pass broke:
SSA and order, unique names, defined outputs, node ownership, use lists, known ops, tie groups
with one type, and symbolic dims that the graph inputs can bind.
"""

from __future__ import annotations

import re
from collections import Counter

from irc.errors import IRError
from irc.ir.core import PARAM_KINDS, Graph, Node, Param, Value, flatten_args
from irc.ir.dims import SymDim
from irc.ir.ops import get_op
from irc.ir.types import ScalarType, TensorType, Type

DATA_DEPENDENT = re.compile(r"u\d+")
"""Symbols torch.export makes for data-dependent sizes (`u0`): no graph input binds them."""


def verify(graph: Graph) -> None:
    """Raise `IRError` listing every problem in `graph`, one per line; return if there is none."""
    problems = _Checker(graph).run()
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise IRError(f"graph @{graph.name} is malformed ({len(problems)} problem(s)):\n{lines}")


def _where(node: Node) -> str:
    outs = ", ".join(f"%{v.name}" for v in node.outputs)
    return f"{node.op}{f' -> {outs}' if outs else ''} at {node.provenance}"


class _Checker:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.problems: list[str] = []
        self.names: dict[str, Value] = {}
        self.defined: set[Value] = set()
        self.symbols: frozenset[str] = frozenset()
        self._type_symbols: dict[Type, frozenset[str]] = {}
        self._ops: dict[str, str | None] = {}

    def run(self) -> list[str]:
        self.check_inputs()
        self.check_params()
        nodes = self.graph.nodes
        for node in nodes:
            self.check_node(node)
        self.check_uses(nodes)
        self.check_outputs()
        self.check_ties()
        return self.problems

    # -- definitions ----------------------------------------------------------------------
    def define(self, value: Value, what: str) -> None:
        other = self.names.get(value.name)
        if other is not None:
            self.problems.append(f"{what}: the name %{value.name} is also used by {_describe(other)}")
        else:
            self.names[value.name] = value
        if value.name not in self.graph._names:
            self.problems.append(f"{what}: %{value.name} is not registered with the graph (use Graph.rename)")
        if value in self.defined:
            self.problems.append(f"{what}: %{value.name} is defined twice")
        self.defined.add(value)
        if not isinstance(value.type, (TensorType, ScalarType)):
            self.problems.append(f"{what}: %{value.name} has no IR type ({value.type!r})")

    def check_inputs(self) -> None:
        symbols: set[str] = set()
        for value in self.graph.inputs:
            self.define(value, f"input %{value.name}")
            if value.producer is not None:
                self.problems.append(f"input %{value.name} claims to be produced by {_where(value.producer)}")
            symbols |= self.type_symbols(value.type)
        self.symbols = frozenset(symbols)
        for value in self.graph.inputs:
            self.check_symbols(value, f"input %{value.name}")

    def check_params(self) -> None:
        for key, param in self.graph.params.items():
            what = f"param %{param.name}"
            self.define(param, what)
            if key != param.name:
                self.problems.append(f"{what} is registered under the name {key!r}")
            if not isinstance(param, Param) or param.kind not in PARAM_KINDS:
                self.problems.append(f"{what} is not a Param of a known kind")
            elif not isinstance(param.type, TensorType):
                self.problems.append(f"{what} has type {param.type}, not a tensor type")
            if param.producer is not None:
                self.problems.append(f"{what} claims to be produced by {_where(param.producer)}")
            self.check_symbols(param, what)

    # -- nodes ----------------------------------------------------------------------------
    def check_node(self, node: Node) -> None:
        where = _where(node)
        if node.graph is not self.graph:
            self.problems.append(f"{where}: node.graph is not this graph")
        self.check_op(node.op, where)
        expected = tuple(flatten_args((*node.args, *node.kwargs.values())))
        if expected != node.inputs:  # Values compare by identity
            self.problems.append(f"{where}: node.inputs disagree with its args (edit args with set_args)")
        for value in node.inputs:
            if value not in self.defined:
                self.problems.append(f"{where}: input %{value.name} is not defined before this node")
        for i, value in enumerate(node.outputs):
            if value.producer is not node or value.index != i:
                self.problems.append(
                    f"{where}: output %{value.name} does not point back to this node as #{i}"
                )
            self.define(value, where)
            self.check_symbols(value, where)

    def check_op(self, op: str, where: str) -> None:
        if op not in self._ops:
            try:
                get_op(op)
                self._ops[op] = None
            except IRError as exc:
                self._ops[op] = str(exc)
        error = self._ops[op]
        if error is not None:
            self.problems.append(f"{where}: {error}")

    def check_uses(self, nodes: list[Node]) -> None:
        """Each value's use list holds exactly the graph nodes that read it, once per read."""
        expected: dict[Value, Counter[int]] = {}
        for node in nodes:
            for value in node.inputs:
                expected.setdefault(value, Counter())[id(node)] += 1
        in_graph = {id(node) for node in nodes}
        for value in self.defined:
            actual = Counter(id(user) for user in value._uses)
            if actual == expected.get(value, Counter()):
                continue
            stale = [user for user in value._uses if id(user) not in in_graph]
            if stale:
                self.problems.append(
                    f"%{value.name} is still used by {len(stale)} node(s) not in the graph "
                    f"({', '.join(_where(n) for n in stale[:3])})"
                )
            else:
                self.problems.append(f"%{value.name}: its use list disagrees with the nodes' args")

    def check_outputs(self) -> None:
        seen: set[Value] = set()
        for value in self.graph.outputs:
            if value not in self.defined:
                self.problems.append(f"output %{value.name} is not defined in the graph")
            if value in seen:
                self.problems.append(f"output %{value.name} is listed twice")
            seen.add(value)

    def check_ties(self) -> None:
        for label, params in self.graph.tie_groups().items():
            types = {str(p.type) for p in params}
            if len(types) > 1:
                members = ", ".join(f"%{p.name} : {p.type}" for p in params)
                self.problems.append(f"tie group {label!r} mixes types: {members}")

    # -- dims -----------------------------------------------------------------------------
    def type_symbols(self, type: Type) -> frozenset[str]:
        cached = self._type_symbols.get(type)
        if cached is not None:
            return cached
        if isinstance(type, TensorType):
            symbols = type.symbols
        elif isinstance(type, ScalarType) and isinstance(type.value, SymDim):
            symbols = type.value.symbols
        else:
            symbols = frozenset()
        self._type_symbols[type] = symbols
        return symbols

    def check_symbols(self, value: Value, what: str) -> None:
        unbound = [s for s in self.type_symbols(value.type) - self.symbols if not DATA_DEPENDENT.fullmatch(s)]
        if unbound:
            self.problems.append(
                f"{what}: %{value.name} : {value.type} uses dim(s) {', '.join(sorted(unbound))} "
                "that no graph input has"
            )


def _describe(value: Value) -> str:
    if value.producer is not None:
        return _where(value.producer)
    return "a param" if isinstance(value, Param) else "a graph input"
