"""Give every member of a tie group its own weights.

param %wte : f32[99, 32] parameter tie "wte"        param %wte : f32[99, 32] parameter
param %lm_head : f32[99, 32] parameter tie "wte" ->  param %lm_head : f32[99, 32] parameter
                                                     metadata {untied = {wte = ["wte", "lm_head"]}}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from irc.ir.core import Graph
from irc.passes.base import Pass

UNTIED_KEY = "untied"
"""`graph.metadata[UNTIED_KEY]`: tie-group label -> the names of the params that were its members."""


@dataclass(frozen=True)
class UntieWeights(Pass):
    """Separate tied params (GPT-2's embedding and LM head): each member gets its own data and
    loses its tie label.

    The first member of a group keeps its data; every other member gets a copy, so no two params
    share storage afterwards. Lazy data stays lazy: a copy of it is read (and cloned) only when a
    backend asks for the tensor. Data-less params (parsed from text) stay data-less. What was
    untied is recorded in `graph.metadata["untied"]` (label -> member names), so that an artifact's
    manifest can say which weights must be trained together. Only groups of two or more members
    count as ties (`Graph.tie_groups`); a lone label left by `dce` stays.
    """

    name = "untie-weights"
    ensures = frozenset({"untied"})

    def run(self, graph: Graph) -> bool:
        groups = graph.tie_groups()
        if not groups:
            return False
        record: dict[str, list[str]] = dict(graph.metadata.get(UNTIED_KEY) or {})
        for label, members in groups.items():
            for i, param in enumerate(members):
                param.tie_group = None
                if i > 0:
                    param.data = copy_data(param.data)
            record[label] = [p.name for p in members]
        graph.metadata[UNTIED_KEY] = record
        return True


class LazyCopy:
    """A `LazyData` that reads `source` when loaded and returns a copy of it, so that the copy
    never shares storage with the tensor another param loads from the same source."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def load(self) -> Any:
        return self.source.load().clone()

    def __repr__(self) -> str:
        return f"LazyCopy({self.source!r})"


def copy_data(data: Any) -> Any:
    """A copy of a param's data: a clone of a tensor, a `LazyCopy` of lazy data, None for None."""
    if data is None:
        return None
    if hasattr(data, "load"):
        return LazyCopy(data)
    return data.clone()
