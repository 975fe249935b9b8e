"""Attention into ONNX Runtime's MultiHeadAttention (com.microsoft), part of `ort-fusions`.

%qh = aten.transpose.int(aten.view(%q, [B, S, N, H]), 1, 2)
%a = aten.scaled_dot_product_attention(%qh, %k, %v, %mask, scale=s)
%y = aten.reshape(aten.transpose.int(%a, 1, 2), [B, S, N*H])
->  %y = irc.multi_head_attention(%q, %k, %v, %mask, num_heads=N, scale=s)

The query goes in as [B, S, N*H] (the projection's output, before the head split), the key and
value as they are ([B, N, L, H], which MultiHeadAttention's CPU kernel takes as BNSH, so a cache
concatenated before the op stays where it is), and the output comes out merged. The mask is
ORT's `attention_bias` (a bool mask becomes 0 / -inf); the backend zeroes the rows where every key
is masked, as torch does. Left alone, with the reason: dropout, causal flags (torch aligns them
top-left, ORT's `unidirectional` does not say so for L != S), grouped-query heads, per-head
masks, and layouts other than the head split above.
"""

from __future__ import annotations

import math

from irc.ir.core import Node, Value
from irc.passes.match import check_type, check_uses, get_arg, producer
from irc.passes.rewriter import PatternRewriter, RewritePattern

VIEWS = ("aten.view", "aten.reshape", "aten._unsafe_view")


class MultiHeadAttention(RewritePattern):
    """transpose(view(%q)) -> sdpa -> transpose -> reshape  ->  irc.multi_head_attention(%q, %k, %v, %mask)"""

    ops = ("aten.scaled_dot_product_attention",)

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        query, key, value = node.args[:3]
        mask = get_arg(node, "attn_mask")
        if get_arg(node, "dropout_p", 0.0):
            return rewriter.fail("dropout_p is not 0")
        if get_arg(node, "is_causal", False):
            return rewriter.fail(
                "is_causal: MultiHeadAttention's causal alignment differs from torch's for L != S"
            )
        if get_arg(node, "enable_gqa", False):
            return rewriter.fail("grouped-query attention (enable_gqa)")
        out = node.output
        if str(out.tensor_type.dtype) not in ("f32", "f16"):
            return rewriter.fail(f"dtype {out.tensor_type.dtype}: ORT's kernel takes f32 or f16")
        for operand in (query, key, value):
            if why := check_type(operand, rank=4, dtype=out.tensor_type.dtype):
                return rewriter.fail(why)
        assert isinstance(query, Value) and isinstance(key, Value) and isinstance(value, Value)
        batch, heads, sequence, head_size = query.tensor_type.shape
        if not isinstance(heads, int) or not isinstance(head_size, int):
            return rewriter.fail("the head count and head size are not static")
        if key.tensor_type.shape[1] != heads or value.tensor_type.shape[1] != heads:
            return rewriter.fail("key/value heads differ from the query's (grouped-query attention)")
        if key.tensor_type.shape[3] != head_size or value.tensor_type.shape[3] != head_size:
            return rewriter.fail("key/value head sizes differ from the query's")
        if why := _check_mask(mask, heads):
            return rewriter.fail(why)
        q3 = _split_source(query)
        if q3 is None:
            return rewriter.fail("the query is not transpose(view(%q [B, S, N*H], [B, S, N, H]), 1, 2)")
        merged = merged_output(out, heads * head_size)
        if merged is None:
            return rewriter.fail("the output is not reshape(transpose(%a, 1, 2), [B, S, N*H])")
        scale = get_arg(node, "scale")
        scale = 1 / math.sqrt(head_size) if scale is None else float(scale)
        args = (q3, key, value) if mask is None else (q3, key, value, mask)
        mha = rewriter.create(
            "irc.multi_head_attention",
            args,
            {"num_heads": heads, "scale": scale},
            types=[merged.output.type],
        )
        rewriter.replace_node(merged, [mha.output])
        # sdpa is not `pure` (its dropout is random), so the rewriter keeps it unless told.
        rewriter.erase(node)


def _check_mask(mask: object, heads: int) -> str | None:
    if mask is None:
        return None
    if why := check_type(mask, rank=4):
        return f"attn_mask: {why}"
    assert isinstance(mask, Value)
    if mask.tensor_type.shape[1] != 1:
        # ORT's attention_bias may have N heads, but zeroing a fully masked row per head would
        # need the output split again; HF models broadcast the mask over heads.
        return "attn_mask differs per head"
    return None


def _split_source(query: Value) -> Value | None:
    """`%q` when `query` is `transpose(view(%q, [B, S, N, H]), 1, 2)` of a [B, S, N*H] `%q`, each
    step read once."""
    split = head_split(query)
    return None if split is None or check_uses(query, 1) else split[1]


def head_split(heads: Value) -> tuple[Node, Value] | None:
    """(the view, %x) when `heads` is `transpose(view(%x, [B, S, N, H]), 1, 2)` of a [B, S, N*H] %x
    whose view is read once."""
    transpose = producer(heads, "aten.transpose.int")
    if transpose is None or transpose_dims(transpose) != {1, 2}:
        return None
    view = producer(transpose.args[0], *VIEWS)
    if view is None or check_uses(view.output, 1):
        return None
    x = view.args[0]
    if check_type(x, rank=3) or not isinstance(x, Value):
        return None
    b, s, width = x.tensor_type.shape
    vb, vs, n, h = view.output.tensor_type.shape
    if (b, s) != (vb, vs) or not all(isinstance(d, int) for d in (width, n, h)) or width != n * h:
        return None
    return view, x


def merged_output(out: Value, width: int) -> Node | None:
    """The reshape of `transpose(out, 1, 2)` to [B, S, N*H] (`width`), when that is `out`'s only
    reader."""
    transpose = only_reader(out)
    if transpose is None or transpose.op != "aten.transpose.int" or transpose_dims(transpose) != {1, 2}:
        return None
    merge = only_reader(transpose.output)
    if merge is None or merge.op not in VIEWS:
        return None
    batch, _, sequence, _ = out.tensor_type.shape
    return merge if merge.output.tensor_type.shape == (batch, sequence, width) else None


def only_reader(value: Value) -> Node | None:
    readers = value.uses()
    return readers[0] if readers and value.use_count() == 1 else None


def transpose_dims(transpose: Node) -> set[int]:
    rank = transpose.output.tensor_type.rank
    return {int(d) % rank for d in transpose.args[1:3]}
