"""Runs a pipeline of passes over a graph, checking the graph after every pass.

    >>> result = PassManager("dce,cse,fold-constants", debug=True).run(graph)
    >>> [(r.name, r.changed) for r in result.records]

Before anything runs, the manager checks that each pass's `requires` is met by the initial
properties or by an earlier pass's `ensures`, and `check_requirements` checks what the consumer of
the result (a backend's `requires`) needs of the whole pipeline, without a graph. After each pass it runs the verifier. In debug mode
it also runs the interpreter before the pipeline and after each pass on the same inputs
(translation validation), and checks that a pass reporting no change left the text unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from irc.errors import IRError, PassError
from irc.ir.core import Graph
from irc.ir.dims import SymDim
from irc.ir.types import ScalarType, TensorType, Type
from irc.passes.base import Pass
from irc.passes.pipeline import as_passes, format_pipeline
from irc.passes.rewriter import Explain, RewritePass

DEBUG_SIZES = {"batch": 2}
"""Sizes of symbolic dims in generated debug inputs; any other dim gets `DEBUG_DEFAULT_SIZE`."""
DEBUG_DEFAULT_SIZE = 5


@dataclass(frozen=True)
class PassRecord:
    """What one pass did."""

    name: str
    changed: bool
    seconds: float


@dataclass
class PipelineResult:
    """One record per pass, in the order they ran."""

    records: list[PassRecord] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(r.changed for r in self.records)

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.records)


class PassManager:
    """Runs `passes` (instances or a pipeline string) in order.

    `initial` names properties the input graph has beyond what the manager sees itself
    (`static-shapes` when every type is static, `untied` when no tie group is left).
    `debug_inputs` are the interpreter's inputs in debug mode; without them, inputs are drawn
    from the graph input types (see `debug_inputs_for`). Debug mode also gives parameters and
    buffers that have no data (a graph parsed from text) seeded random data, so the graph can run.
    `after_pass` is called with each pass's record and the graph once the pass has run and been
    checked (`irc.passes.printing.IRPrinter` prints the IR there). `explain` receives each reason
    a rewrite pattern of a `RewritePass` gave for not matching (`irc-opt --explain-rewrites`).
    """

    def __init__(
        self,
        passes: str | Sequence[Pass],
        *,
        verify: bool = True,
        debug: bool = False,
        debug_inputs: dict[str, Any] | None = None,
        initial: frozenset[str] = frozenset(),
        after_pass: Callable[[PassRecord, Graph], Any] | None = None,
        explain: Explain | None = None,
    ) -> None:
        self.passes = as_passes(passes)
        self.after_pass = after_pass
        self.explain = explain
        self.verify = verify
        self.debug = debug
        self.debug_inputs = debug_inputs
        self.initial = initial

    def __repr__(self) -> str:
        return f"PassManager({format_pipeline(self.passes)!r})"

    def check_order(self, properties: frozenset[str] = frozenset()) -> None:
        """Raise PassError if some pass requires a property no earlier pass ensures."""
        have = self.initial | properties
        for i, p in enumerate(self.passes):
            missing = p.requires - have
            if missing:
                before = [q.name for q in self.passes[:i]]
                raise PassError(
                    f"pass {p.name} requires {', '.join(sorted(missing))}, which neither the input graph "
                    f"nor the passes before it ({', '.join(before) or 'none'}) ensure. Put a pass that "
                    f"ensures it earlier in the pipeline."
                )
            have |= p.ensures

    def check_requirements(self, requires: frozenset[str], consumer: str, advice: str = "") -> None:
        """Raise PassError if `consumer` (`the torchscript backend`), which takes the pipeline's
        result, requires a property that neither `initial` nor any pass ensures. It needs no graph,
        so an export checks its backend's `requires` this way before loading the model."""
        ensured = self.initial.union(*(p.ensures for p in self.passes))
        missing = sorted(requires - ensured)
        if missing:
            names = ", ".join(p.name for p in self.passes) or "none"
            raise PassError(
                f"{consumer} requires {', '.join(missing)}, which the pipeline does not ensure "
                f"(its passes: {names}). {advice}".rstrip()
            )

    def run(self, graph: Graph) -> PipelineResult:
        """Run every pass on `graph` in place; PassError names the pass that failed."""
        self.check_order(graph_properties(graph))
        if self.verify:
            self._verify_input(graph)
        debug = _Debugger(graph, self.debug_inputs) if self.debug else None
        result = PipelineResult()
        for i, p in enumerate(self.passes):
            before = [q.name for q in self.passes[:i]]
            text = debug.text(graph) if debug else None
            start = time.perf_counter()
            changed = self._run_one(p, graph, before)
            record = PassRecord(p.name, changed, time.perf_counter() - start)
            result.records.append(record)
            if debug:
                debug.check(p, graph, before, changed, text)
            if self.after_pass is not None:
                self.after_pass(record, graph)
        return result

    def _verify_input(self, graph: Graph) -> None:
        from irc.ir.verifier import verify

        try:
            verify(graph)
        except IRError as exc:
            raise PassError(f"the input graph is invalid before any pass ran: {exc}") from exc

    def _run_one(self, p: Pass, graph: Graph, before: list[str]) -> bool:
        try:
            if self.explain is not None and isinstance(p, RewritePass):
                changed = p.run(graph, explain=self.explain)
            else:
                changed = p.run(graph)
            if self.verify:
                from irc.ir.verifier import verify

                verify(graph)
        except Exception as exc:
            raise PassError(f"pass {p.name} failed after [{', '.join(before)}]: {exc}") from exc
        if not isinstance(changed, bool):
            raise PassError(f"pass {p.name} returned {changed!r} instead of True/False (changed?)")
        return changed


def graph_properties(graph: Graph) -> frozenset[str]:
    """The properties the manager can see in `graph` itself."""
    found = set()
    if all(_is_static(v.type) for v in graph.values()):
        found.add("static-shapes")
    if not graph.tie_groups():
        found.add("untied")
    return frozenset(found)


def _is_static(type: Type) -> bool:
    if isinstance(type, TensorType):
        return type.is_static
    return not isinstance(type, ScalarType) or not isinstance(type.value, SymDim)


def debug_inputs_for(graph: Graph, seed: int = 0) -> dict[str, Any]:
    """Seeded random inputs for the graph's input types: each symbolic dim at its
    `DEBUG_SIZES` size (else `DEBUG_DEFAULT_SIZE`), ints in [0, 2) (valid token ids and mask
    values), floats standard normal, bools random."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    return {value.name: _random_tensor(value.tensor_type, gen) for value in graph.inputs}


def _fill_missing_weights(graph: Graph, seed: int = 0) -> None:
    """Give parameters and buffers parsed from text (no data) seeded random data, so that a
    graph read from an `.irc` file can run; constants are left alone, since folding reads them."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    for param in graph.params.values():
        if param.data is None and param.kind != "constant":
            param.data = _random_tensor(param.tensor_type, gen)


def _random_tensor(ttype: TensorType, gen: Any) -> Any:
    import torch

    shape = [dim if isinstance(dim, int) else dim.evaluate(_bindings(dim.symbols)) for dim in ttype.shape]
    if ttype.dtype.is_floating:
        return torch.randn(shape, generator=gen).to(ttype.dtype.to_torch())
    return torch.randint(0, 2, shape, generator=gen).to(ttype.dtype.to_torch())


def _bindings(symbols: frozenset[str]) -> dict[str, int]:
    return {s: DEBUG_SIZES.get(s, DEBUG_DEFAULT_SIZE) for s in symbols}


class _Debugger:
    """Translation validation: the interpreter's outputs after each pass must match the ones
    before the pipeline."""

    def __init__(self, graph: Graph, inputs: dict[str, Any] | None) -> None:
        self.inputs = inputs if inputs is not None else debug_inputs_for(graph)
        _fill_missing_weights(graph)
        self.expected = self._interpret(graph, "the input graph")
        self.atol: float | None = None
        """The loosest `result_atol` of the passes run so far: a lossy pass loosens every later check."""

    def _interpret(self, graph: Graph, what: str) -> dict[str, Any]:
        from irc.ir.interpreter import interpret

        try:
            return interpret(graph, self.inputs)
        except Exception as exc:
            raise PassError(f"debug mode could not run {what} in the interpreter: {exc}") from exc

    def text(self, graph: Graph) -> str:
        from irc.ir.printer import print_graph

        return print_graph(graph)

    def check(self, p: Pass, graph: Graph, before: list[str], changed: bool, text: str | None) -> None:
        if not changed and self.text(graph) != text:
            raise PassError(
                f"pass {p.name} reported no change after [{', '.join(before)}] but changed the graph's text"
            )
        import torch

        actual = self._interpret(graph, f"the graph after pass {p.name}")
        atol = p.result_atol()
        if atol is not None:
            self.atol = max(atol, self.atol or 0.0)
        atol, rtol = (None, None) if self.atol is None else (self.atol, 0.0)
        try:
            torch.testing.assert_close(actual, self.expected, equal_nan=True, atol=atol, rtol=rtol)
        except AssertionError as exc:
            raise PassError(
                f"pass {p.name} changed the results of the graph after [{', '.join(before)}]: {exc}"
            ) from None
