"""`gelu-to-erf`: exact GELU written out with erf, as a rewrite pattern."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from irc.ir.core import Node
from irc.passes.match import check_args, check_type
from irc.passes.rewriter import PatternRewriter, RewritePass, RewritePattern


class ExpandGelu(RewritePattern):
    """%y = aten.gelu(%x)  ->  %y = 0.5 * %x * (1 + erf(%x / sqrt(2)))"""

    ops = ("aten.gelu",)

    def __init__(self, min_rank: int) -> None:
        self.min_rank = min_rank

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        x = node.args[0]
        if why := check_args(node, approximate="none"):
            return rewriter.fail(why)
        if why := check_type(x):
            return rewriter.fail(why)
        if x.type.rank < self.min_rank:
            return rewriter.fail(f"rank {x.type.rank} < {self.min_rank}")
        t = [x.type]
        scaled = rewriter.create("aten.mul.Tensor", (x, 1 / math.sqrt(2)), types=t, name="gelu_in")
        erf = rewriter.create("aten.erf", (scaled.output,), types=t, name="gelu_erf")
        one = rewriter.create("aten.add.Tensor", (erf.output, 1.0), types=t, name="gelu_cdf")
        half = rewriter.create("aten.mul.Tensor", (x, 0.5), types=t, name="gelu_half")
        out = rewriter.create("aten.mul.Tensor", (half.output, one.output), types=t)
        rewriter.replace_node(node, [out.output])


@dataclass(frozen=True)
class GeluToErf(RewritePass):
    """Write exact GELU as erf arithmetic, for targets without a GELU op."""

    name = "gelu-to-erf"

    min_rank: int = 1
    """Only rewrite GELUs whose input has at least this rank."""

    def rewrite_patterns(self) -> Sequence[RewritePattern]:
        return [ExpandGelu(self.min_rank)]
