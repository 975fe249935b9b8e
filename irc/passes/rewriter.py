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
and records whether anything changed and which nodes the edit touched. `apply_patterns` drives
the patterns from a worklist, as xDSL's `PatternRewriteWalker` does: a first sweep tries them on
every node in order; after that only the nodes an edit touched (the nodes it inserted or changed,
the readers of the values it replaced, the producers of the operands of the nodes it erased) are
tried again, in graph order, until none fires; a last sweep over every node confirms the fixed
point.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from irc.errors import IrcError, PassError
from irc.ir.core import Arg, Graph, Node, Value
from irc.ir.types import Type
from irc.passes.base import Pass
from irc.passes.dce import is_dead

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
        return f"{self.pattern!r} on {describe(self.node)}: {self.reason}"


def describe(node: Node) -> str:
    """`%a, %b = op`, how a failure or an error names the node."""
    outs = ", ".join(f"%{v.name}" for v in node.outputs)
    return f"{outs} = {node.op}" if outs else node.op


@dataclass
class PatternRewriter:
    """The edits a pattern may make while matching `node`; all of them go through here."""

    graph: Graph
    node: Node
    """The matched node; new nodes are inserted before it unless told otherwise."""
    changed: bool = False
    created: list[Node] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    touched: list[Node] = field(default_factory=list)
    """Nodes an edit inserted or changed, readers of replaced values, producers of the operands
    of erased nodes: what the walker tries the patterns on again."""

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
        for key, value in self._provenance().items():
            new.meta.setdefault(key, value)
        self.graph.insert_before(before or self.node, new)
        self._created(new)
        return new

    def _provenance(self) -> dict[str, Any]:
        return {key: self.node.meta[key] for key in PROVENANCE if key in self.node.meta}

    def _created(self, node: Node) -> None:
        self.created.append(node)
        self.touched.append(node)
        self.changed = True

    def replace_value(self, old: Value, new: Value) -> None:
        """Make every reader of `old` (graph outputs included) read `new`. A graph output keeps
        its name: `new` is renamed, or an `irc.identity` node carries the name when `new` is an
        input, a param, or already an output (`Graph.replace_all_uses`)."""
        if old is new:
            return
        self.touched += old.uses()
        identity = self.graph.replace_all_uses(old, new, before=self.node, meta=self._provenance())
        if identity is not None:
            self._created(identity)
        self.changed = True

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
            if id(new.producer) in created and not old.is_graph_output()
        }
        for old, new in zip(node.outputs, values, strict=True):
            self.replace_value(old, new)
        self.erase(node)
        for new, name in renames.values():
            self.graph.rename(new, name)

    def set_args(self, node: Node, args: tuple[Arg, ...], kwargs: dict[str, Arg] | None = None) -> None:
        """Change a node's arguments in place."""
        node.set_args(args, node.kwargs if kwargs is None else kwargs)
        self.touched.append(node)
        self.changed = True

    def erase(self, node: Node) -> None:
        """Erase `node` (its outputs must be unread), then producers left dead by it."""
        inputs = list(node.inputs)
        self.graph.erase(node)
        self.changed = True
        for value in inputs:
            producer = value.producer
            if producer is None or producer.graph is not self.graph:
                continue
            if is_dead(producer):
                self.erase(producer)
            else:
                self.touched.append(producer)


Explain = Callable[[Failure], Any]
"""Receives each reason a pattern gave for not matching a node (`irc-opt --explain-rewrites`)."""


def apply_patterns(
    graph: Graph,
    patterns: Sequence[RewritePattern],
    *,
    max_sweeps: int = 100,
    explain: Explain | None = None,
) -> bool:
    """Apply `patterns` to `graph` until none matches; True if anything changed.

    The first sweep visits every node in order; each later sweep visits, in order, only the
    nodes that the edits of the sweep before touched, and a last sweep over every node confirms
    that nothing fires. On each node the patterns are tried in their list order (the first that
    changes the graph wins for that node). `explain` receives a `Failure` for every reason a
    pattern gave for not matching. A PassError names the patterns still firing after
    `max_sweeps` sweeps that changed the graph (two rules undoing each other, usually); an
    exception inside a pattern becomes a PassError naming the pattern and the node.
    """
    walker = _Walker(graph, tuple(patterns), explain)
    changed = False
    recent: list[list[RewritePattern]] = []
    queued: set[Node] | None = None  # None: every node
    while True:
        fired = walker.sweep(queued)
        if fired:
            changed = True
            recent = [*recent[-1:], fired]  # two rules undoing each other alternate sweeps
            if walker.firing_sweeps >= max_sweeps:
                break
            queued = walker.touched
        elif queued is None:
            return changed
        else:
            queued = None  # the worklist is empty: confirm the fixed point on every node
    names = ", ".join(sorted({repr(p) for sweep in recent for p in sweep}))
    raise PassError(
        f"rewrite patterns did not reach a fixed point in {max_sweeps} sweeps; still firing: {names}. "
        f"Check that no rule undoes another."
    )


class _Walker:
    """Tries the patterns on nodes in graph order and collects what their edits touched."""

    def __init__(self, graph: Graph, patterns: tuple[RewritePattern, ...], explain: Explain | None) -> None:
        self.graph = graph
        self.patterns = patterns
        self.explain = explain
        self.firing_sweeps = 0
        self.touched: set[Node] = set()
        """Nodes to try again in the next sweep: touched after this sweep visited them."""
        self._queued: set[Node] | None = None

    def sweep(self, queued: set[Node] | None) -> list[RewritePattern]:
        """Visit the `queued` nodes (every node when None) in graph order. A node touched in
        this sweep before its turn is visited in its turn; one touched after, or created, waits
        for the next sweep."""
        self._queued, self.touched = queued, set()
        fired: list[RewritePattern] = []
        for node in self.graph.nodes:
            if node.graph is not self.graph:
                continue  # erased by an earlier rewrite in this sweep
            if queued is not None and node not in queued:
                continue
            self.touched.discard(node)
            pattern = self._visit(node)
            if pattern is not None:
                fired.append(pattern)
        self.firing_sweeps += bool(fired)
        return fired

    def _visit(self, node: Node) -> RewritePattern | None:
        for pattern in self.patterns:
            if node.graph is not self.graph:
                return None  # erased by an earlier pattern on its own operands
            if pattern.ops and node.op not in pattern.ops:
                continue
            rewriter = PatternRewriter(self.graph, node)
            _call(pattern, node, rewriter)
            if self.explain is not None:
                for reason in rewriter.failures:
                    self.explain(Failure(pattern, node, reason))
            if rewriter.changed:
                self._touch([node, *rewriter.touched])
                return pattern
        return None

    def _touch(self, nodes: Iterable[Node]) -> None:
        for node in nodes:
            if node.graph is not self.graph:
                continue
            # A pattern may look at the producers of its node's operands: the readers of what
            # changed are tried again too.
            for reader in [node, *(user for out in node.outputs for user in out.uses())]:
                self.touched.add(reader)
                if self._queued is not None:
                    self._queued.add(reader)


def _call(pattern: RewritePattern, node: Node, rewriter: PatternRewriter) -> None:
    """Run one pattern; whatever it raises names the pattern and the node."""
    try:
        pattern.match_and_rewrite(node, rewriter)
    except Exception as exc:
        detail = str(exc) if isinstance(exc, IrcError) else f"{type(exc).__name__}: {exc}"
        raise PassError(
            f"rewrite pattern {pattern!r} failed on {describe(node)} at {node.provenance}: {detail}"
        ) from exc


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
