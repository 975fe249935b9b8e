"""What the quantize-* passes rewrite: matmuls by a constant 2-D weight, found in one place.

    aten.linear(%x, %w[N, K], %b?)       weight as it is
    aten.mm(%x, %w[K, N]), aten.matmul   weight transposed to [N, K]
    aten.addmm(%b, %x, %w[K, N])         (beta = alpha = 1) weight transposed, bias %b

A site's weight is a float param (parameter, buffer or constant) that nothing writes; the passes
replace the node by one quantized matmul that reads new params, keeping the output Value's name
and the node's provenance, and drop the float weight when nothing else reads it (a tied
embedding keeps it: `aten.embedding` still gathers from the float table).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from irc.ir.core import Graph, Node, Param, Value
from irc.ir.types import TensorType

LM_HEAD_MODULES = ("lm_head", "embed_out", "output_projection")
"""Module names (the last part of a node's module path) of language-model heads."""


@dataclass
class Site:
    """One matmul by a constant weight."""

    node: Node
    x: Value
    weight: Param
    bias: Value | None
    transposed: bool
    """The param is [K, N] (mm, matmul, addmm): its transpose is the [N, K] weight."""

    def weight_nk(self) -> Any:
        """The float32 weight as [N, K] (out features, in features)."""
        import torch

        tensor = self.weight.tensor().to(torch.float32)
        return tensor.t().contiguous() if self.transposed else tensor

    @property
    def module(self) -> str:
        return str(self.node.meta.get("module") or "")

    def matches(self, globs: Sequence[str]) -> bool:
        """Whether a glob names this site's weight param or module (`*.mlp.down_proj*`)."""
        return any(fnmatch.fnmatchcase(n, g) for g in globs for n in (self.weight.name, self.module))

    def is_lm_head(self, graph: Graph) -> bool:
        """The language-model head: by module name, by a weight the embedding also reads (tied),
        or as the matmul that makes the `logits` output."""
        if self.module.rsplit(".", 1)[-1] in LM_HEAD_MODULES:
            return True
        if self.node.output.is_graph_output() and self.node.output.name == "logits":
            return True
        return _tied_to_embedding(graph, self.weight)


def find_sites(graph: Graph) -> Iterator[Site]:
    """The graph's matmuls by constant float weights, in node order."""
    for node in graph.nodes:
        site = _site(node)
        if site is not None:
            yield site


def _site(node: Node) -> Site | None:
    if node.kwargs or len(node.outputs) != 1:
        return None
    args = node.args
    if node.op == "aten.linear" and len(args) in (2, 3):
        bias = args[2] if len(args) == 3 else None
        return _make(node, args[0], args[1], bias, transposed=False)
    if node.op in ("aten.mm", "aten.matmul") and len(args) == 2:
        return _make(node, args[0], args[1], None, transposed=True)
    if node.op == "aten.addmm" and len(args) == 3:
        return _make(node, args[1], args[2], args[0], transposed=True)
    return None


def _make(node: Node, x: Any, weight: Any, bias: Any, *, transposed: bool) -> Site | None:
    if not isinstance(x, Value) or not isinstance(weight, Param):
        return None
    if not _float_tensor(x) or not _float_tensor(weight) or weight.tensor_type.rank != 2:
        return None
    if weight.data is None:
        return None
    if bias is not None and not (
        isinstance(bias, Value) and _float_tensor(bias) and bias.tensor_type.rank == 1
    ):
        return None
    return Site(node, x, weight, bias, transposed)


def _float_tensor(value: Value) -> bool:
    return isinstance(value.type, TensorType) and value.type.dtype.is_floating


def _tied_to_embedding(graph: Graph, weight: Param) -> bool:
    group = weight.tie_group
    members = graph.tie_groups().get(group, []) if group is not None else [weight]
    return any(n.op == "aten.embedding" for p in members for n in p.uses())


def new_param(graph: Graph, base: str, tensor: Any, like: Param) -> Param:
    """A constant param holding `tensor`, named after `base`, with `like`'s provenance."""
    from irc.ir.dtypes import DType

    dtype = DType.from_torch(tensor.dtype)
    name = graph.unique_name(base)
    return graph.add_param(
        Param(name, TensorType(dtype, tuple(tensor.shape)), "constant", tensor, meta=dict(like.meta))
    )


def replace_site(graph: Graph, site: Site, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
    """Put a node of `op` where the site's node was: same output name, type and provenance."""
    old = site.node
    out = old.output
    node = Node(op, args, kwargs, [graph.new_value(f"{out.name}_q", out.type)], dict(old.meta))
    graph.insert_before(old, node)
    name = out.name
    graph.replace_all_uses(out, node.output, before=old)
    if not out.is_used():
        graph.erase(old)
        if node.output.name != name and not node.output.is_graph_output():
            graph.rename(node.output, name)
    if not site.weight.is_used():
        graph.remove_param(site.weight)
    return node
