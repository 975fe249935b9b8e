"""Projections that read the same input packed into one matmul: Q, K and V of attention, gate and
up of a gated MLP.

%q = aten.linear(%x, %wq, %bq); %k = aten.linear(%x, %wk, %bk); %v = aten.linear(%x, %wv, %bv)
->  %qkv = aten.linear(%x, %wq|wk|wv, %bq|bk|bv); %q, %k, %v = aten.split_with_sizes(%qkv, [Q, K, V], -1)

One matmul over the concatenated weights reads the input once and runs one kernel instead of
three; at one token per step (decoding) a step is a chain of small kernels, so each one saved
counts. The packed weight is a new param whose data concatenates the originals when the backend
writes it (nothing is read at rewrite time); the originals go when nothing else reads them. Only
params are packed (a computed weight is left alone), all with a bias or all without. A packed
Q|K|V whose three parts only feed `ort-gqa`'s attention goes into it whole, without the split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from irc.ir.core import Node, Param, Value
from irc.ir.types import TensorType
from irc.passes.rewriter import PatternRewriter, RewritePass, RewritePattern


class LazyConcat:
    """A `LazyData` that concatenates its parts' tensors along dim 0 when loaded."""

    def __init__(self, parts: list[Any]) -> None:
        self.parts = parts

    def load(self) -> Any:
        import torch

        return torch.cat([part.load() if hasattr(part, "load") else part for part in self.parts], 0)

    def __repr__(self) -> str:
        return f"LazyConcat({self.parts!r})"


class PackLinears(RewritePattern):
    """linear(%x, %w1), linear(%x, %w2), ...  ->  split(linear(%x, %w1|w2|...))"""

    ops = ("aten.linear",)

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        x = node.args[0]
        if not isinstance(x, Value) or not _packable(node):
            return rewriter.fail("not linear(%x, param weight[, param bias])")
        group = [
            n for n in dict.fromkeys(x.uses()) if n.op == "aten.linear" and n.args[0] is x and _packable(n)
        ]
        group = [n for n in group if len(n.args) == len(node.args)]
        if len(group) < 2 or group[0] is not node:
            return rewriter.fail("no other linear of the same input to pack with (or not the first)")
        weights = [n.args[1] for n in group]
        dtypes = {w.tensor_type.dtype for w in weights}  # type: ignore[union-attr]
        if len(dtypes) != 1 or any(w.data is None for w in weights):  # type: ignore[union-attr]
            return rewriter.fail("the weights differ in dtype or have no data")
        sizes = [int(w.tensor_type.shape[0]) for w in weights]  # type: ignore[union-attr]
        args: list[Any] = [x, _packed(rewriter, weights)]  # type: ignore[arg-type]
        if len(node.args) == 3:
            args.append(_packed(rewriter, [n.args[2] for n in group]))  # type: ignore[misc]
        out_type = node.output.tensor_type
        packed_type = TensorType(out_type.dtype, (*out_type.shape[:-1], sum(sizes)))
        packed = rewriter.create("aten.linear", tuple(args), types=[packed_type])
        split = rewriter.create(
            "aten.split_with_sizes", (packed.output, sizes, -1), types=[n.output.type for n in group]
        )
        for member, part in zip(group, split.outputs, strict=True):
            rewriter.replace_node(member, [part])


class PackedQkvAttention(RewritePattern):
    """group_query_attention(split(%qkv, [Q, K, V], -1)...)  ->  group_query_attention(%qkv, None, None, ...):
    ORT's GroupQueryAttention reads packed Q|K|V itself, which saves the Split kernel."""

    ops = ("irc.group_query_attention",)

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        query, key, value, past_key, *rest = node.args
        split = query.producer if isinstance(query, Value) else None
        if split is None or split.op != "aten.split_with_sizes" or list(split.outputs) != [query, key, value]:
            return rewriter.fail("query, key and value are not the three parts of one split")
        if int(split.args[2]) not in (-1, split.args[0].tensor_type.rank - 1):  # type: ignore[union-attr]
            return rewriter.fail("the split is not along the last dim")
        heads, kv_heads = node.kwargs["num_heads"], node.kwargs["kv_num_heads"]
        head_size = past_key.tensor_type.shape[-1]  # type: ignore[union-attr]
        if list(split.args[1]) != [heads * head_size, kv_heads * head_size, kv_heads * head_size]:  # type: ignore[arg-type]
            return rewriter.fail("the split's sizes are not [N*H, KV*H, KV*H]")
        if any(len(part.uses()) != 1 for part in split.outputs):
            return rewriter.fail("a part of the split has another reader")
        gqa = rewriter.create(
            node.op, (split.args[0], None, None, past_key, *rest), dict(node.kwargs),
            types=[o.type for o in node.outputs],
        )  # fmt: skip
        rewriter.replace_node(node, list(gqa.outputs))


def _packable(node: Node) -> bool:
    if node.kwargs or len(node.args) not in (2, 3):
        return False
    weight = node.args[1]
    if not isinstance(weight, Param) or weight.tensor_type.rank != 2:
        return False
    if len(node.args) == 3:
        bias = node.args[2]
        return isinstance(bias, Param) and bias.tensor_type.rank == 1 and bias.data is not None
    return True


def _packed(rewriter: PatternRewriter, params: list[Param]) -> Param:
    graph = rewriter.graph
    first = params[0].tensor_type
    rows = sum(int(p.tensor_type.shape[0]) for p in params)
    name = graph.unique_name(f"{params[0].name}.packed")
    param = Param(name, TensorType(first.dtype, (rows, *first.shape[1:])), kind=params[0].kind,
                  data=LazyConcat([p.data for p in params]))  # fmt: skip
    return graph.add_param(param)


@dataclass(frozen=True)
class PackProjections(RewritePass):
    """Pack linears of one input (Q/K/V, gate/up) into one linear over concatenated weights, then
    split its output."""

    name = "pack-projections"
    patterns = (PackLinears(), PackedQkvAttention())
