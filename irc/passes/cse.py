"""Common subexpression elimination.

%a = aten.add.Tensor(%x, %y); %b = aten.add.Tensor(%x, %y); %c = aten.mul.Tensor(%a, %b)
->  %a = aten.add.Tensor(%x, %y); %c = aten.mul.Tensor(%a, %a)
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from irc.ir.core import Graph, Node, Value
from irc.ir.ops import get_op
from irc.passes.base import Pass


@dataclass(frozen=True)
class CommonSubexpressionElimination(Pass):
    """Merge pure nodes that apply the same op to the same arguments; the first one stays.

    Arguments match when their Values are the same objects and their literals are equal with
    the same type (`1` is not `1.0` nor `True`; floats compare by repr, so `nan` matches `nan`
    and `0.0` does not match `-0.0`). When the later node produces a graph output, the kept
    node's output takes over the output's name; when both produce graph outputs, neither merges,
    since one Value cannot carry two output names.
    """

    name = "cse"

    def run(self, graph: Graph) -> bool:
        seen: dict[Hashable, Node] = {}
        changed = False
        for node in graph.nodes:
            key = _key(node)
            if key is None:
                continue
            first = seen.setdefault(key, node)
            if first is not node and _merge(graph, keep=first, drop=node):
                changed = True
        return changed


def _key(node: Node) -> Hashable | None:
    """What makes two nodes interchangeable, or None for a node that must never merge."""
    if not node.outputs or not get_op(node.op).pure:
        return None
    kwargs = tuple(sorted((k, _literal_key(v)) for k, v in node.kwargs.items()))
    types = tuple(out.type for out in node.outputs)
    return (node.op, _literal_key(node.args), kwargs, types)


def _literal_key(arg: Any) -> Hashable:
    if isinstance(arg, Value):
        return ("%", id(arg))
    if isinstance(arg, (list, tuple)):
        return (type(arg).__name__, tuple(_literal_key(a) for a in arg))
    if isinstance(arg, float):
        return ("float", repr(arg))
    if arg is None or isinstance(arg, (bool, int, str)):
        return (type(arg).__name__, arg)
    # torch dtypes, devices, layouts and memory formats print uniquely.
    return (type(arg).__qualname__, repr(arg))


def _merge(graph: Graph, *, keep: Node, drop: Node) -> bool:
    """Replace `drop`'s results by `keep`'s (`Graph.replace_all_uses`: a graph output keeps its
    name) and erase `drop`; refused when a pair of results are both graph outputs."""
    pairs = list(zip(keep.outputs, drop.outputs, strict=True))
    if any(kept.is_graph_output() and dropped.is_graph_output() for kept, dropped in pairs):
        return False
    for kept, dropped in pairs:
        graph.replace_all_uses(dropped, kept)
    graph.erase(drop)
    return True
