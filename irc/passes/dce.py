"""Dead code elimination.

%a = aten.relu(%x); %b = aten.neg(%x); return %a   ->   %a = aten.relu(%x); return %a
"""

from __future__ import annotations

from dataclasses import dataclass

from irc.ir.core import Graph, Node
from irc.ir.ops import get_op
from irc.passes.base import Pass


@dataclass(frozen=True)
class DeadCodeElimination(Pass):
    """Remove pure nodes whose outputs nothing reads, then params nothing reads.

    Nodes are visited from last to first, so a chain of dead nodes goes in one sweep. Impure ops
    (`dropout`, random ops: `OpDef.pure` is False) and nodes without outputs stay. An unused param is
    removed even when it belongs to a tie group; the others keep the group label.
    """

    name = "dce"

    def run(self, graph: Graph) -> bool:
        changed = False
        for node in reversed(graph.nodes):
            if is_dead(node):
                graph.erase(node)
                changed = True
        for param in list(graph.params.values()):
            if not param.is_used():
                graph.remove_param(param)
                changed = True
        return changed


def is_dead(node: Node) -> bool:
    """Whether erasing `node` changes nothing: a pure op none of whose results is read (a graph
    output is a read). A node without results exists for its effect (an assertion, say)."""
    return bool(node.outputs) and not any(out.is_used() for out in node.outputs) and get_op(node.op).pure
