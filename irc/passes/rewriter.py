"""Pattern rewriting: rules that match a node and rewrite around it, applied to a fixed point.

    class DropEvalDropout(RewritePattern):
        \"\"\"%y = aten.dropout(%x, p, false)  ->  %x\"\"\"

        ops = ("aten.dropout",)

        def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
            if get_arg(node, "train") is not False:
                return rewriter.fail("train is not false")
            rewriter.replace_node(node, [node.args[0]])

    @dataclass(frozen=True)
    class Simplify(RewritePass):
        \"\"\"Remove ops that do nothing.\"\"\"

        name = "simplify"
        patterns = (DropEvalDropout(),)

A pattern looks at one node (guard clauses first, `irc.passes.match` has the constraints) and
makes every edit through the `PatternRewriter`, which copies the matched node's provenance to
the nodes it creates, keeps graph output names, erases producers left dead by a replacement,
and records whether anything changed. `apply_patterns` sweeps the graph, trying the patterns
in order on each node, until a sweep changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ClassVar

from irc.errors import PassError
from irc.ir.core import Arg, Graph, Node, Param, Value
from irc.ir.ops import get_op
from irc.ir.types import Type
from irc.passes.base import Pass

PROVENANCE = ("module", "source")
"""The `Node.meta` keys a rewrite copies from the matched node to the nodes it creates."""


class RewritePattern:
    """One rule. `ops` lists the op names it can match (empty: any op), so the walker skips the
    other nodes without calling it; the docstring's first line reads `before -> after`."""

    ops: ClassVar[tuple[str, ...]] = ()

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        """Check `node` and, if it matches, rewrite through `rewriter`; otherwise return
        `rewriter.fail("why")` (or just return) and leave the graph alone."""
        raise NotImplementedError(f"{type(self).__name__} has no match_and_rewrite()")

    def __repr__(self) -> str:
        return type(self).__name__


@dataclass
class Failure:
    """Why a pattern did not match a node (for `explain`)."""

    pattern: RewritePattern
    node: Node
    reason: str

    def __str__(self) -> str:
        outs = ", ".join(f"%{v.name}" for v in self.node.outputs)
        return f"{self.pattern!r} on {outs} = {self.node.op}: {self.reason}"


@dataclass
class PatternRewriter:
    """The edits a pattern may make while matching `node`; all of them go through here."""

    graph: Graph
    node: Node
    """The matched node; new nodes are inserted before it unless told otherwise."""
    changed: bool = False
    created: list[Node] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def fail(self, reason: str) -> None:
        """Record why the pattern does not match; `return rewriter.fail("rank != 4")`."""
        self.failures.append(reason)

    def create(
        self,
        op: str,
        args: tuple[Arg, ...],
        kwargs: dict[str, Arg] | None = None,
        *,
        types: Sequence[Type],
        name: str | None = None,
        before: Node | None = None,
    ) -> Node:
        """A new node inserted before `before` (the matched node by default), with one output
        per type named after `name` (the matched node's first output by default) and the
        matched node's provenance."""
        base = name or (self.node.outputs[0].name if self.node.outputs else "v")
        outputs = [self.graph.new_value(base, t) for t in types]
        return self.insert_before(Node(op, args, kwargs or {}, outputs), before)

    def insert_before(self, new: Node, before: Node | None = None) -> Node:
        """Insert a node built by the pattern; provenance it does not set is the matched node's."""
        for key in PROVENANCE:
            if key in self.node.meta and key not in new.meta:
                new.meta[key] = self.node.meta[key]
        self.graph.insert_before(before or self.node, new)
        self.created.append(new)
        self.changed = True
        return new

    def replace_value(self, old: Value, new: Value) -> None:
        """Make every reader of `old` (graph outputs included) read `new`. A graph output keeps
        its name: `new` is renamed, or an `irc.identity` node carries the name when `new` is an
        input, a param, or already an output."""
        if old is new:
            return
        old.replace_all_uses_with(new)
        self.changed = True
        if old not in self.graph.outputs:
            return
        carrier = new
        if new.producer is None or new in self.graph.outputs or isinstance(new, Param):
            identity = self.create("irc.identity", (new,), types=[old.type], name=f"{old.name}.id")
            carrier = identity.output
        outputs = self.graph.outputs
        outputs[:] = [carrier if v is old else v for v in outputs]
        # The old value gives up its name now; its node is erased right after.
        name = old.name
        self.graph.rename(old, self.graph.unique_name(f"{name}.replaced"))
        self.graph.rename(carrier, name)

    def replace_node(self, node: Node, values: Sequence[Value]) -> None:
        """Replace each output of `node` by the matching value, then erase `node` and any
        producers of its inputs that nothing reads any more. A value made by a node this
        rewrite created takes the name of the output it replaces."""
        if len(values) != len(node.outputs):
            raise PassError(f"{node!r} has {len(node.outputs)} outputs, given {len(values)} values")
        created = {id(n) for n in self.created}
        renames = {
            id(new): (new, old.name)
            for old, new in zip(node.outputs, values, strict=True)
            if id(new.producer) in created and old not in self.graph.outputs
        }
        for old, new in zip(node.outputs, values, strict=True):
            self.replace_value(old, new)
        self.erase(node)
        for new, name in renames.values():
            self.graph.rename(new, name)

    def set_args(self, node: Node, args: tuple[Arg, ...], kwargs: dict[str, Arg] | None = None) -> None:
        """Change a node's arguments in place."""
        node.set_args(args, node.kwargs if kwargs is None else kwargs)
        self.changed = True

    def erase(self, node: Node) -> None:
        """Erase `node` (its outputs must be unread), then producers left dead by it."""
        inputs = list(node.inputs)
        self.graph.erase(node)
        self.changed = True
        for value in inputs:
            self._erase_if_dead(value)

    def _erase_if_dead(self, value: Value) -> None:
        producer = value.producer
        if producer is None or producer.graph is not self.graph or not get_op(producer.op).pure:
            return
        if any(out.uses() or out in self.graph.outputs for out in producer.outputs):
            return
        self.erase(producer)


Explain = Callable[[Failure], Any]

_EXPLAIN: ContextVar[Explain | None] = ContextVar("irc_rewrite_explain", default=None)


@contextmanager
def explaining(explain: Explain) -> Iterator[None]:
    """Within the block, every `apply_patterns` call without its own `explain` reports its
    failed matches to `explain` (`irc-opt --explain-rewrites` prints them)."""
    token = _EXPLAIN.set(explain)
    try:
        yield
    finally:
        _EXPLAIN.reset(token)


def apply_patterns(
    graph: Graph,
    patterns: Sequence[RewritePattern],
    *,
    max_sweeps: int = 100,
    explain: Explain | None = None,
) -> bool:
    """Apply `patterns` to `graph` until none matches; True if anything changed.

    Each sweep visits the nodes in order and tries the patterns in their list order on each
    (the first that changes the graph wins for that node). `explain` receives a `Failure` for
    every reason a pattern gave for not matching. A PassError names the patterns still firing
    after `max_sweeps` sweeps (two rules undoing each other, usually).
    """
    explain = explain or _EXPLAIN.get()
    changed = False
    recent: list[list[RewritePattern]] = []
    for _ in range(max_sweeps):
        fired = _sweep(graph, patterns, explain)
        if not fired:
            return changed
        changed = True
        recent = [*recent[-1:], fired]  # two rules undoing each other alternate sweeps
    names = ", ".join(sorted({repr(p) for sweep in recent for p in sweep}))
    raise PassError(
        f"rewrite patterns did not reach a fixed point in {max_sweeps} sweeps; still firing: {names}. "
        f"Check that no rule undoes another."
    )


def _sweep(graph: Graph, patterns: Sequence[RewritePattern], explain: Explain | None) -> list[RewritePattern]:
    fired: list[RewritePattern] = []
    for node in graph.nodes:
        for pattern in patterns:
            if node.graph is not graph:
                break  # erased by an earlier rewrite in this sweep
            if pattern.ops and node.op not in pattern.ops:
                continue
            rewriter = PatternRewriter(graph, node)
            pattern.match_and_rewrite(node, rewriter)
            if explain is not None:
                for reason in rewriter.failures:
                    explain(Failure(pattern, node, reason))
            if rewriter.changed:
                fired.append(pattern)
                break
    return fired


@dataclass(frozen=True)
class RewritePass(Pass):
    """A pass that is a list of rewrite patterns, applied to a fixed point. Subclasses set
    `patterns` (or override `rewrite_patterns` when the options choose the rules)."""

    patterns: ClassVar[tuple[RewritePattern, ...]] = ()

    def rewrite_patterns(self) -> Sequence[RewritePattern]:
        """The rules this pass applies, in order (the class's `patterns` by default)."""
        return self.patterns

    def run(self, graph: Graph, explain: Explain | None = None) -> bool:
        """Apply the rules to a fixed point; `explain` gets each reason a rule did not match."""
        return apply_patterns(graph, self.rewrite_patterns(), explain=explain)
