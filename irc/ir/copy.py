"""Copying a graph: a new graph with its own values and nodes, sharing the weights' data."""

from __future__ import annotations

from irc.ir.core import Graph
from irc.ir.parser import parse_graph
from irc.ir.printer import print_graph


def copy_graph(graph: Graph) -> Graph:
    """An independent copy of `graph` through the text form (which round-trips exactly): passes
    can rewrite it without touching `graph`. Params share their data with the original, since
    passes replace data (untie-weights, fold-constants) rather than write into it."""
    copy = parse_graph(print_graph(graph))
    for name, param in copy.params.items():
        original = graph.params[name]
        param.data = original.data
        param.meta = dict(original.meta)
    return copy
