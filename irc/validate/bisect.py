"""Find the first IR node whose backend output diverges from the interpreter's.

The strategy is a binary search over node prefixes (`first_failing`); the check it calls cuts
the graph after k nodes (`irc.validate.surgery.prefix`), lowers and runs that prefix with the
backend, runs it in the interpreter (the reference: the un-lowered IR), and compares every
tensor crossing the cut. The smallest failing prefix ends at the culprit: all values live
before it agree, and one of its outputs does not.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from irc.ir.core import Graph, Node
from irc.validate.compare import OutputResult, compare_outputs
from irc.validate.surgery import prefix


def first_failing(count: int, fails: Callable[[int], bool]) -> int | None:
    """The smallest k in 1..count with `fails(k)`, or None when `fails(count)` is False.

    `fails(0)` is taken as False (no node ran). When `fails` is monotone (a prefix that
    diverges keeps diverging as it grows) this is the first divergence; when it is not, the
    k found still satisfies `fails(k) and not fails(k - 1)`, so node k-1 diverges on inputs
    that agree. Calls `fails` about log2(count) + 1 times.
    """
    if count == 0 or not fails(count):
        return None
    good, bad = 0, count
    while bad - good > 1:
        mid = (good + bad) // 2
        if fails(mid):
            bad = mid
        else:
            good = mid
    return bad


@dataclass
class Divergence:
    """The first node whose backend result differs from the reference."""

    index: int
    node: Node
    results: list[OutputResult]
    """The comparison of the node's outputs (failing ones first)."""
    error: str | None = None
    """Set when the backend could not lower or run the prefix ending at this node."""

    @property
    def max_abs_diff(self) -> float:
        return max((r.max_abs_diff for r in self.results), default=float("inf"))

    def format(self) -> str:
        node = self.node
        outs = ", ".join(f"%{v.name}" for v in node.outputs)
        lines = [f"First diverging node: #{self.index} {outs} = {node.op}"]
        lines.append(f"  module: {node.meta.get('module') or '<top>'}")
        lines.append(f"  source: {node.meta.get('source') or 'unknown'}")
        if self.error:
            lines.append(f"  the backend failed on it: {self.error}")
        for r in self.results:
            shapes = f"{r.reference_shape} vs {r.actual_shape}"
            lines.append(f"  %{r.name}: max abs diff {r.max_abs_diff:.3g} (atol {r.atol:g}), shapes {shapes}")
        return "\n".join(lines)


@dataclass
class BisectResult:
    backend: str
    nodes: int
    divergence: Divergence | None
    checks: list[int] = field(default_factory=list)
    """The prefix lengths that were lowered and run, in order."""

    def format(self) -> str:
        runs = f"{len(self.checks)} run{'s' if len(self.checks) != 1 else ''} over {self.nodes} nodes"
        if self.divergence is None:
            return (
                f"The {self.backend} lowering agrees with the IR interpreter at every node checked ({runs})."
            )
        return f"{self.divergence.format()}\n({runs})"


def bisect_graph(
    graph: Graph,
    backend: Any,
    inputs: dict[str, Any],
    atol: float,
    options: dict[str, Any] | None = None,
) -> BisectResult:
    """Bisect `graph` (as it is lowered: after the pipeline) with `backend` on `inputs`."""
    checked: dict[int, tuple[list[OutputResult], str | None]] = {}

    def fails(count: int) -> bool:
        results, error = _check(prefix(graph, count), backend, inputs, atol, options or {})
        checked[count] = (results, error)
        return error is not None or not all(results)

    result = BisectResult(backend.name, len(graph), None)
    found = first_failing(len(graph), fails)
    result.checks = list(checked)
    if found is None:
        return result
    node = graph.nodes[found - 1]
    results, error = checked[found]
    own = {v.name for v in node.outputs}
    mine = sorted((r for r in results if r.name in own), key=bool)
    result.divergence = Divergence(found - 1, node, mine, error)
    return result


def _check(
    cut: Graph, backend: Any, inputs: dict[str, Any], atol: float, options: dict[str, Any]
) -> tuple[list[OutputResult], str | None]:
    from irc.ir.interpreter import interpret

    if not cut.outputs:
        return [], None
    expected = interpret(cut, inputs)
    with tempfile.TemporaryDirectory(prefix="irc-bisect-") as folder:
        try:
            backend.lower({"model": cut}, Path(folder), backend.make_options(**options))
            with backend.load(Path(folder)) as runner:
                actual = runner.run(inputs)
        except Exception as exc:  # a lowering that breaks the artifact is a divergence too
            return [], f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return compare_outputs(expected, actual, atol), None
