"""int8 dynamic quantization for encoders: int8 weights, activations quantized at run time.

param %w : f32[N, K] parameter            param %w.i8 : i8[K, N] constant
%y = aten.linear(%x, %w, %b)         ->   param %w.scale : f32[N] constant
                                          %y = irc.dynamic_quant_linear(%x, %w.i8, %w.scale, %b)

%a = irc.attention(%x, %wqkv, %bqkv, %mask)   (`ort-fusions`' packed self-attention)
->  %qkv = irc.dynamic_quant_linear(%x, %wqkv.i8, %wqkv.scale); %a = irc.qkv_attention(%qkv, %bqkv, %mask)

A matmul that reads an activation function's output (the feed-forward's down projection)
becomes `irc.matmul_nbits` with 8 bits per block instead, whose kernel quantizes the activation
per row and block rather than per tensor.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass

from irc.errors import PassError
from irc.ir.core import Graph, Node, Param, Value
from irc.ir.types import TensorType
from irc.passes.base import Pass
from irc.passes.quantize_blocks import quantize_blocks
from irc.passes.quantize_sites import Site, find_sites, new_param, replace_site

ACTIVATIONS = ("gelu", "relu", "silu", "gelu_tanh", "fast_gelu", "bias_gelu")
BLOCKS = (0, 16, 32, 64, 128, 256)


@dataclass(frozen=True)
class QuantizeDynamic(Pass):
    """Quantize matmuls by constant weights (linear, mm, matmul, addmm, and the packed QKV
    projection of `irc.attention`) to int8 with activations quantized at run time (ONNX only).

    Most become irc.dynamic_quant_linear (ORT's DynamicQuantizeMatMul): a symmetric scale per
    output channel of the weight (max |w| / 127), one uint8 scale and zero point per activation
    tensor. A matmul that reads an activation function's output (`blockwise_after`: the
    feed-forward's down projection, whose input has outliers that make one scale per tensor
    coarse) becomes irc.matmul_nbits with 8 bits per `block` values of K (ORT's MatMulNBits,
    accuracy_level 4: the activation quantized to int8 per row and block inside the kernel);
    `block=0` leaves it float. Measured on the real all-MiniLM-L6-v2 weights, 16 sentences, lowest
    sentence-embedding cosine: every matmul per tensor 0.989; down projections per block of 128
    0.994; down projections float 0.995 (but on BERT-base, batch 1, 0.63x of torch.onnx's latency
    against 0.42x). Matmuls whose weight param or module matches a `skip` glob stay float.
    Results change: exports that run this pass are validated on task measures.
    """

    name = "quantize-dynamic"
    ensures = frozenset({"quantized"})

    skip: tuple[str, ...] = ()
    """Globs of weight param names or module paths left in float (`classifier*`)."""
    blockwise_after: tuple[str, ...] = ACTIVATIONS
    """Ops (aten or irc name, any overload) whose output, read by a matmul, makes it block-wise."""
    block: int = 128
    """Values of K per scale of the block-wise matmuls; 0 leaves them float."""

    def __post_init__(self) -> None:
        if self.block not in BLOCKS:
            raise PassError(
                f"quantize-dynamic: block must be one of {', '.join(map(str, BLOCKS))}, not {self.block}"
            )

    def result_atol(self) -> float:
        return math.inf  # judged on task measures, as quantize-weights

    def run(self, graph: Graph) -> bool:
        changed = split_packed_attention(graph, self.skip)
        for site in list(find_sites(graph)):
            if site.matches(self.skip):
                continue
            if not self._after_activation(site):
                _rewrite(graph, site)
            elif self.block:
                _rewrite_blockwise(graph, site, self.block)
            else:
                continue
            changed = True
        if changed:
            graph.metadata["quantized"] = "int8-dynamic"
        return changed

    def _after_activation(self, site: Site) -> bool:
        producer = site.x.producer
        if producer is None:
            return False
        packet = producer.op.split(".")[1] if producer.op.count(".") else producer.op
        return packet in self.blockwise_after


def _rewrite(graph: Graph, site: Site) -> None:
    import torch

    weight = site.weight_nk()
    scale = weight.abs().amax(dim=1) / 127.0
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)
    codes = torch.clamp(torch.round(weight / scale.unsqueeze(1)), -127, 127).to(torch.int8)
    base = site.weight.name
    packed = new_param(graph, f"{base}.i8", codes.t().contiguous(), site.weight)
    scales = new_param(graph, f"{base}.scale", scale.to(site.x.tensor_type.dtype.to_torch()), site.weight)
    replace_site(graph, site, "irc.dynamic_quant_linear", (site.x, packed, scales, site.bias), {})


def _rewrite_blockwise(graph: Graph, site: Site, block: int) -> None:
    weight = site.weight_nk()
    n, k = weight.shape
    blocks = quantize_blocks(weight, 8, block, True)
    base = site.weight.name
    packed = new_param(graph, f"{base}.q8", blocks.packed, site.weight)
    scales = new_param(
        graph, f"{base}.scales", blocks.scales.to(site.x.tensor_type.dtype.to_torch()), site.weight
    )
    kwargs = {"K": k, "N": n, "bits": 8, "block_size": block, "accuracy_level": 4}
    replace_site(graph, site, "irc.matmul_nbits", (site.x, packed, scales, None, site.bias), kwargs)


def split_packed_attention(graph: Graph, skip: tuple[str, ...] = ()) -> bool:
    """Each `irc.attention` whose packed weight is a param (not matched by a `skip` glob) becomes
    `aten.matmul(%x, %wqkv)` + `irc.qkv_attention`: ORT's Attention runs its projection in
    float32 only, so the matmul is taken out where a quantize pass can find it."""
    changed = False
    for node in [n for n in graph.nodes if n.op == "irc.attention"]:
        x, weight, *rest = node.args
        if not isinstance(weight, Param) or weight.data is None or not isinstance(x, Value):
            continue
        module = str(node.meta.get("module") or "")
        if any(fnmatch.fnmatchcase(name, g) for g in skip for name in (weight.name, module)):
            continue
        bias, mask = (list(rest) + [None, None])[:2]
        out = node.output
        qkv_type = TensorType(x.tensor_type.dtype, (*x.tensor_type.shape[:-1], weight.tensor_type.shape[1]))
        matmul = Node(
            "aten.matmul", (x, weight), {}, [graph.new_value(f"{out.name}_qkv", qkv_type)], dict(node.meta)
        )
        graph.insert_before(node, matmul)
        args = (matmul.output, bias) if mask is None else (matmul.output, bias, mask)
        fused = Node(
            "irc.qkv_attention",
            args,
            dict(node.kwargs),
            [graph.new_value(out.name, out.type)],
            dict(node.meta),
        )
        graph.insert_before(node, fused)
        name = out.name
        graph.replace_all_uses(out, fused.output)
        graph.erase(node)
        if not fused.output.is_graph_output():
            graph.rename(fused.output, name)
        changed = True
    return changed
