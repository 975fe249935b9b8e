"""Attention over a key/value cache into ONNX Runtime's GroupQueryAttention, part of the decoder
fusions (plain, grouped-query and multi-query heads alike).

%pk = aten.cat([%past_key_values.N.key, transpose(view(%k, [B, S, KV, H]), 1, 2)], -2)   (and %pv)
%a = aten.scaled_dot_product_attention(transpose(view(%q)), repeat_kv(%pk), repeat_kv(%pv), %mask)
%y = aten.reshape(aten.transpose.int(%a, 1, 2), [B, S, N*H])
->  %y, %pk, %pv = irc.group_query_attention(%q, %k, %v, %past_key, %past_value, %mask, ...)

`repeat_kv` is transformers' unsqueeze / expand / reshape of the cache to N heads (or nothing, when
KV == N, or `enable_gqa`). The mask stays the model's bool mask [B or 1, 1, S, P + S], so padding
and sliding windows keep their meaning; ORT's causal flag is on as well (GroupQueryAttention takes
a batch of multi-token steps over a cache only so), which changes nothing for the causal masks
transformers builds for a decoder with a cache (validation runs the artifact against the model).
Left alone, with the reason: head sizes that are not a multiple of 8 (ORT's kernel refuses them),
dropout, `is_causal` without a mask, per-head masks, float masks, caches that are not a graph
input concatenated with the new keys, and other layouts.

Rotary (`ort-rotary`'s irc.rotary_embedding of the query and key, same tables) then moves inside
the attention (ORT's do_rotary) when the head size is a multiple of 16; `pack-projections` later
hands it the packed Q|K|V matmul output directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from irc.ir.core import Node, Param, Value
from irc.passes.match import check_type, check_uses, get_arg, producer
from irc.passes.ort_attention import VIEWS, head_split, merged_output
from irc.passes.rewriter import PatternRewriter, RewritePass, RewritePattern

END = 9223372036854775807


class GroupQueryAttention(RewritePattern):
    """sdpa(split(%q), repeat_kv(cat([past, split(%k)])), ...) -> merge  ->  irc.group_query_attention"""

    ops = ("aten.scaled_dot_product_attention",)

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        query, key, value = node.args[:3]
        mask = get_arg(node, "attn_mask")
        if get_arg(node, "dropout_p", 0.0) or get_arg(node, "is_causal", False):
            return rewriter.fail("dropout_p is not 0 or is_causal is set")
        out = node.output
        if str(out.tensor_type.dtype) not in ("f32", "f16"):
            return rewriter.fail(f"dtype {out.tensor_type.dtype}: ORT's kernel takes f32 or f16")
        if why := _check_mask(mask, query):
            return rewriter.fail(why)
        query = _drop_empty_concat(query)
        q_split = head_split(query) if isinstance(query, Value) else None
        if q_split is None or check_uses(query, 1):
            return rewriter.fail("the query is not transpose(view(%q [B, S, N*H]), 1, 2) read once")
        _, num_heads, _, head_size = query.tensor_type.shape
        caches = [_cache(operand, bool(get_arg(node, "enable_gqa", False))) for operand in (key, value)]
        if caches[0] is None or caches[1] is None:
            return rewriter.fail("key/value are not (repeated) cat([past input, split(%k)], -2) caches")
        (present_key, past_key, new_key), (present_value, past_value, new_value) = caches
        kv_num_heads = present_key.tensor_type.shape[1]
        if (
            not isinstance(kv_num_heads, int)
            or num_heads % kv_num_heads
            or present_key.tensor_type.shape[3] != head_size
        ):
            return rewriter.fail("the cache's heads do not divide the query's, or head sizes differ")
        if head_size % 8:
            return rewriter.fail(f"head size {head_size}: ORT's GroupQueryAttention takes multiples of 8")
        merged = merged_output(out, num_heads * head_size)
        if merged is None:
            return rewriter.fail("the output is not reshape(transpose(%a, 1, 2), [B, S, N*H]) read once")
        scale = get_arg(node, "scale")
        gqa = rewriter.create(
            "irc.group_query_attention",
            (q_split[1], new_key, new_value, past_key, past_value, mask),
            {
                "num_heads": num_heads,
                "kv_num_heads": kv_num_heads,
                "scale": 1 / math.sqrt(head_size) if scale is None else float(scale),
            },
            types=[merged.output.type, present_key.type, present_value.type],
        )
        concats = [present_key.producer, present_value.producer]
        rewriter.replace_value(present_key, gqa.outputs[1])
        rewriter.replace_value(present_value, gqa.outputs[2])
        rewriter.replace_node(merged, [gqa.outputs[0]])
        rewriter.erase(node)  # sdpa is not `pure` (its dropout is random): erased by hand
        for concat in concats:
            if concat is not None and concat.graph is rewriter.graph:
                rewriter.erase(concat)


class RotaryIntoGqa(RewritePattern):
    """group_query_attention(rotary(%q, cos, sin), rotary(%k, cos, sin), ...)  ->
    group_query_attention(%q, %k, ..., cos, sin): ORT's do_rotary, one kernel instead of three.
    The tables stay the model's per-token ones (positions from the graph, exact under left padding
    and any rope scaling); ORT's rotary wants a head size that is a multiple of 16."""

    ops = ("irc.group_query_attention",)

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        if len(node.args) != 6 or node.args[1] is None:
            return rewriter.fail("the attention already has rotary, or its query is packed")
        query, key, *rest = node.args
        rotaries = [producer(x, "irc.rotary_embedding") for x in (query, key)]
        if rotaries[0] is None or rotaries[1] is None or check_uses(query, 1) or check_uses(key, 1):
            return rewriter.fail("query and key are not rotary_embedding outputs read once")
        (xq, cos, sin), (xk, *tables) = rotaries[0].args, rotaries[1].args
        if tables != [cos, sin]:
            return rewriter.fail("query and key are rotated by different tables")
        head_size = rest[2].tensor_type.shape[-1]  # past_key [B, KV, P, H]
        if not isinstance(head_size, int) or head_size % 16:
            return rewriter.fail(f"head size {head_size}: ORT's do_rotary takes multiples of 16")
        gqa = rewriter.create(
            node.op, (xq, xk, *rest, cos, sin), dict(node.kwargs), types=[o.type for o in node.outputs]
        )
        rewriter.replace_node(node, list(gqa.outputs))


def _check_mask(mask: object, query: object) -> str | None:
    if mask is None:
        return "no mask (ORT's causal alignment differs from torch's is_causal for a cache)"
    if check_type(mask, rank=4, dtype="bool"):
        return "the mask is not a 4-D bool mask"
    assert isinstance(mask, Value) and isinstance(query, Value)
    if mask.tensor_type.shape[1] != 1:
        return "the mask differs per head"
    if mask.tensor_type.shape[2] != query.tensor_type.shape[2]:
        return "the mask does not have one row per query position"
    return None


def _cache(operand: object, grouped: bool) -> tuple[Value, Value, Value] | None:
    """(present, past input, new [B, S, KV*H]) when `operand` is the present cache, repeated to
    the query's heads by transformers' repeat_kv (or as it is)."""
    present = operand if grouped else _unrepeat(operand)
    cat = producer(present, "aten.cat")
    if cat is None or len(cat.args[0]) != 2 or int(cat.args[1]) not in (-2, 2):
        return None
    past, new = cat.args[0]
    new = _drop_empty_concat(new)
    if not isinstance(past, Value) or past.producer is not None or isinstance(past, Param):
        return None  # the past must be a graph input, which GroupQueryAttention reads as past_key
    split = head_split(new) if isinstance(new, Value) else None
    if split is None or check_uses(new, 1):
        return None
    assert isinstance(present, Value)
    if len(present.uses()) != 1:
        return None  # read by the attention (through repeat_kv) only, and maybe as an output
    return present, past, split[1]


def _drop_empty_concat(value: object) -> object:
    """`a` for `cat([a, e], -1)` where `e` is empty: Phi-3's partial-rotary code with a full rotary
    concatenates the rotated heads with a zero-width rest."""
    cat = producer(value, "aten.cat")
    if cat is None or len(cat.args) < 2 or int(cat.args[1]) not in (-1, 3) or len(cat.args[0]) != 2:
        return value
    head, rest = cat.args[0]
    if isinstance(rest, Value) and rest.tensor_type.shape[-1] == 0 and isinstance(head, Value):
        return head if not check_uses(value, 1) else value  # type: ignore[arg-type]
    return value


def _unrepeat(value: object) -> Value | None:
    """The cache under transformers' repeat_kv: reshape(expand(unsqueeze(%c, 2)), [B, N, T, H]),
    full slices skipped; `value` itself when it is not repeated."""
    reshape = producer(value, *VIEWS)
    if reshape is None:
        return value if isinstance(value, Value) else None
    expand = producer(reshape.args[0], "aten.expand")
    unsqueeze = producer(_skip_full_slices(expand.args[0]), "aten.unsqueeze") if expand is not None else None
    if unsqueeze is None or int(unsqueeze.args[1]) != 2:
        return None
    for step in (reshape.args[0], expand.args[0]):  # type: ignore[union-attr]
        if isinstance(step, Value) and check_uses(step, 1):
            return None
    return _skip_full_slices(unsqueeze.args[0])  # type: ignore[return-value]


def _skip_full_slices(value: object) -> object:
    node = producer(value, "aten.slice.Tensor")
    while node is not None and tuple(node.args[2:4]) == (0, END) and len(node.args) <= 4:
        value = node.args[0]
        node = producer(value, "aten.slice.Tensor")
    return value


@dataclass(frozen=True)
class OrtGqa(RewritePass):
    """Rewrite attention over a concatenated key/value cache into irc.group_query_attention (ORT's
    GroupQueryAttention), grouped-query or not."""

    name = "ort-gqa"
    patterns = (GroupQueryAttention(), RotaryIntoGqa())
