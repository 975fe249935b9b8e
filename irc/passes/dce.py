"""Dead code elimination.

%a = aten.relu(%x); %b = aten.neg(%x); return %a   ->   %a = aten.relu(%x); return %a
"""

from __future__ import annotations

from dataclasses import dataclass

from irc.ir.core import Graph, Node, Value
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
        outputs = set(graph.outputs)
        changed = False
        for node in reversed(graph.nodes):
            if _is_dead(node, outputs):
                graph.erase(node)
                changed = True
        for param in list(graph.params.values()):
            if param.uses() or param in outputs:
                continue
            graph.remove_param(param)
            changed = True
        return changed


def _is_dead(node: Node, outputs: set[Value]) -> bool:
    if not node.outputs:
        return False  # a node without results exists for its effect (an assertion, say)
    if any(out.uses() or out in outputs for out in node.outputs):
        return False
    return get_op(node.op).pure
