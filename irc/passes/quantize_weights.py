"""Block-wise int4 / int8 weights: matmuls by constant weights become `irc.matmul_nbits`
(ONNX Runtime's MatMulNBits).

param %w : f32[N, K] parameter            param %w.q4 : u8[N, K/32, 16] constant
%y = aten.linear(%x, %w, %b)         ->   param %w.scales : f32[N*K/32] constant
                                          %y = irc.matmul_nbits(%x, %w.q4, %w.scales, None, %b,
                                                 K=K, N=N, bits=4, block_size=32, accuracy_level=4)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from irc.errors import PassError
from irc.ir.core import Graph, Node, Param
from irc.passes.base import Pass
from irc.passes.quantize_blocks import quantize_blocks
from irc.passes.quantize_sites import Site, find_sites, new_param, replace_site

BLOCKS = (16, 32, 64, 128, 256)
HEAD_BITS = ("8", "4", "none")


@dataclass(frozen=True)
class QuantizeWeights(Pass):
    """Quantize the weights of matmuls by constant weights (linear, mm, matmul, addmm) to `bits`
    per block of `block` values along K, as irc.matmul_nbits (ORT's MatMulNBits; ONNX only).

    The language-model head (module `lm_head` / `embed_out`, a weight tied to the embedding, or
    the matmul that makes `logits`) gets `lm_head_bits`: int8 by default, as
    its error lands on the logits with nothing after it to average it out. A tied embedding gathers
    from the head's quantized table (symmetric blocks that tile K; else it keeps its float table). Matmuls whose weight param or module matches a `skip` glob stay
    float. Results change: exports that run this pass are validated on task measures
    (`irc.validate.measures`), not on a float32 atol.
    """

    name = "quantize-weights"
    ensures = frozenset({"quantized"})

    bits: int = 4
    """Bits per weight: 4 or 8."""
    block: int = 32
    """Values of K per scale: 16, 32, 64, 128 or 256."""
    symmetric: bool = True
    """No zero points (the largest |w| maps to the lowest code); false: one zero point per block."""
    skip: tuple[str, ...] = ()
    """Globs of weight param names or module paths left in float (`*.down_proj*|*.0.*`)."""
    lm_head_bits: str = "8"
    """Bits of the language-model head: 8, 4, or none (left in float)."""
    accuracy_level: int = 4
    """MatMulNBits' accuracy_level: 4 quantizes activations to int8 per block (fast); 0 is float."""

    def __post_init__(self) -> None:
        if self.bits not in (4, 8):
            raise PassError(f"quantize-weights: bits must be 4 or 8, not {self.bits}")
        if self.block not in BLOCKS:
            raise PassError(
                f"quantize-weights: block must be one of {', '.join(map(str, BLOCKS))}, not {self.block}"
            )
        if self.lm_head_bits not in HEAD_BITS:
            raise PassError(f"quantize-weights: lm_head_bits must be 8, 4 or none, not {self.lm_head_bits!r}")
        if self.accuracy_level not in (0, 1, 2, 3, 4):
            raise PassError(f"quantize-weights: accuracy_level must be 0 to 4, not {self.accuracy_level}")

    def result_atol(self) -> float:
        # Quantized weights move every result; debug mode still runs the graph, and the export
        # judges the numbers on task measures instead.
        return math.inf

    def run(self, graph: Graph) -> bool:
        changed = False
        for site in list(find_sites(graph)):
            bits = self._bits_for(graph, site)
            if bits is None:
                continue
            self._rewrite(graph, site, bits)
            changed = True
        if changed:
            graph.metadata["quantized"] = f"int{self.bits}"
        return changed

    def _bits_for(self, graph: Graph, site: Site) -> int | None:
        if site.matches(self.skip):
            return None
        if not site.is_lm_head(graph):
            return self.bits
        return None if self.lm_head_bits == "none" else int(self.lm_head_bits)

    def _rewrite(self, graph: Graph, site: Site, bits: int) -> None:
        weight = site.weight_nk()
        n, k = weight.shape
        blocks = quantize_blocks(weight, bits, self.block, self.symmetric)
        base = site.weight.name
        packed = new_param(graph, f"{base}.q{bits}", blocks.packed, site.weight)
        scales = new_param(
            graph, f"{base}.scales", blocks.scales.to(site.x.tensor_type.dtype.to_torch()), site.weight
        )
        zeros = (
            None
            if blocks.zero_points is None
            else new_param(graph, f"{base}.zero_points", blocks.zero_points, site.weight)
        )
        kwargs = {
            "K": k,
            "N": n,
            "bits": bits,
            "block_size": self.block,
            "accuracy_level": self.accuracy_level,
        }
        members = _tie_members(graph, site.weight)
        if zeros is None and k % self.block == 0:
            _gather_from_quantized(graph, members, packed, scales, kwargs)
        replace_site(graph, site, "irc.matmul_nbits", (site.x, packed, scales, zeros, site.bias), kwargs)
        for member in members:
            if member.name in graph.params and not member.is_used():
                graph.remove_param(member)


def _tie_members(graph: Graph, weight: Param) -> list[Param]:
    group = weight.tie_group
    return list(graph.tie_groups().get(group, [weight])) if group is not None else [weight]


def _gather_from_quantized(
    graph: Graph, members: list[Param], packed: Param, scales: Param, kwargs: dict[str, int]
) -> None:
    """A tied embedding gathers its rows from the head's quantized table (irc.gather_nbits, ORT's
    GatherBlockQuantized), as the model builder's int4 files do: the float table would otherwise
    stay on disk beside the quantized one (545 MB of Qwen2-0.5B's 922 MB int4 file). Symmetric
    blocks that tile K only: GatherBlockQuantized's default zero point is MatMulNBits' then."""
    attrs = {key: kwargs[key] for key in ("K", "N", "bits", "block_size")}
    for member in members:
        for node in list(member.uses()):
            if node.op != "aten.embedding" or node.args[0] is not member or len(node.outputs) != 1:
                continue
            out = node.output
            gather = Node("irc.gather_nbits", (packed, node.args[1], scales), dict(attrs),
                          [graph.new_value(f"{out.name}_q", out.type)], dict(node.meta))  # fmt: skip
            graph.insert_before(node, gather)
            graph.replace_all_uses(out, gather.output, before=node)
            graph.erase(node)
