"""Rotary position embedding (rotate-half form) into ONNX Runtime's RotaryEmbedding, part of the
decoder fusions.

%t = aten.transpose.int(aten.view(%x, [B, S, N, H]), 1, 2)
%y = aten.add.Tensor(aten.mul.Tensor(%t, unsqueeze(%cos, 1)),
                     aten.mul.Tensor(cat([neg(%t[..., H/2:]), %t[..., :H/2]], -1), unsqueeze(%sin, 1)))
->  %y = aten.transpose.int(aten.view(irc.rotary_embedding(%x, %cos, %sin, num_heads=N), [B, S, N, H]), 1, 2)

The rotation moves before the head split, on the projection's [B, S, N*H] output, so that the
attention fusion after it still finds `transpose(view(%x))`. `%cos` and `%sin` are the model's own
per-token tables [B, S, H] (whatever rope scaling made them): the lowering hands them to ORT as a
cache of B*S rows indexed by token, so the positions stay the ones the graph computed from
`position_ids` (left padding included). Only tables that are `cos`/`sin` of `cat([f, f], -1)` are
taken (their halves are equal, which ORT's half-width cache assumes); partial rotary (a slice of
the head) is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from irc.ir.core import Node, Value
from irc.passes.match import check_type, get_arg, producer
from irc.passes.ort_attention import head_split
from irc.passes.rewriter import PatternRewriter, RewritePass, RewritePattern

END = 9223372036854775807
"""The `end` of a slice to the end of a dim."""
TABLE_STEPS = ("aten.mul.Tensor", "aten.to.dtype", "aten._to_copy", "aten.unsqueeze", "aten.clone")
"""Ops between `cos(cat([f, f]))` and the table the model multiplies by, each keeping equal halves
(a scalar scale, a dtype change)."""


class RotaryEmbedding(RewritePattern):
    """t * cos + rotate_half(t) * sin on t = transpose(view(%x))  ->  rotary_embedding(%x) split into heads"""

    ops = ("aten.add.Tensor",)

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        if len(node.args) != 2 or get_arg(node, "alpha", 1) != 1:
            return rewriter.fail("not a plain two-tensor add")
        found = _terms(node)
        if found is None:
            return rewriter.fail("not t * cos + cat([-t[..., H/2:], t[..., :H/2]], -1) * sin")
        heads, cos, sin = found
        split = head_split(heads)
        if split is None:
            return rewriter.fail("t is not transpose(view(%x [B, S, N*H], [B, S, N, H]), 1, 2)")
        view, x = split
        _, num_heads, _, head_size = heads.tensor_type.shape
        for table in (cos, sin):
            if (
                check_type(table, rank=3, dtype=x.tensor_type.dtype)
                or table.tensor_type.shape[2] != head_size
            ):
                return rewriter.fail("cos/sin are not [B, S, H] tables of the input's dtype")
            if table.tensor_type.shape[:2] != x.tensor_type.shape[:2]:
                return rewriter.fail("cos/sin do not have one row per token of the input")
            if not _equal_halves(table):
                return rewriter.fail(f"%{table.name} is not cos/sin of cat([f, f], -1)")
        rotated = rewriter.create(
            "irc.rotary_embedding", (x, cos, sin), {"num_heads": num_heads}, types=[x.type], name=x.name
        )
        split_view = rewriter.create(
            view.op, (rotated.output, *view.args[1:]), dict(view.kwargs), types=[view.output.type]
        )
        moved = rewriter.create("aten.transpose.int", (split_view.output, 1, 2), types=[heads.type])
        rewriter.replace_node(node, [moved.output])


def _terms(node: Node) -> tuple[Value, Value, Value] | None:
    """(t, cos, sin) of `t * unsqueeze(cos, 1) + rotate_half(t) * unsqueeze(sin, 1)`."""
    for first, second in (node.args, node.args[::-1]):
        straight, turned = producer(first, "aten.mul.Tensor"), producer(second, "aten.mul.Tensor")
        if straight is None or turned is None:
            continue
        t, cos = _operand_and_table(straight)
        half_turn, sin = _operand_and_table(turned)
        if t is None or cos is None or half_turn is None or sin is None:
            continue
        if _rotate_half_of(half_turn) is t:
            return t, cos, sin
    return None


def _operand_and_table(mul: Node) -> tuple[Value | None, Value | None]:
    for operand, table in (mul.args, mul.args[::-1]):
        unsqueeze = producer(table, "aten.unsqueeze")
        if unsqueeze is not None and int(unsqueeze.args[1]) == 1 and isinstance(operand, Value):
            return operand, unsqueeze.args[0]  # type: ignore[return-value]
    return None, None


def _rotate_half_of(value: Value) -> Value | None:
    """t when `value` is `cat([neg(t[..., H/2:]), t[..., :H/2]], -1)`."""
    cat = producer(value, "aten.cat")
    if cat is None or len(cat.args) < 2 or int(cat.args[1]) not in (-1, 3) or len(cat.args[0]) != 2:
        return None
    neg = producer(cat.args[0][0], "aten.neg")
    high = producer(neg.args[0], "aten.slice.Tensor") if neg is not None else None
    low = producer(cat.args[0][1], "aten.slice.Tensor")
    if high is None or low is None or high.args[0] is not low.args[0]:
        return None
    t = low.args[0]
    assert isinstance(t, Value)
    half = t.tensor_type.shape[-1] // 2
    if tuple(high.args[1:]) not in ((3, half, END), (-1, half, END)):
        return None
    if tuple(low.args[1:]) not in ((3, 0, half), (-1, 0, half)):
        return None
    return t


def _equal_halves(table: Value) -> bool:
    """`table` is cos or sin of `cat([f, f], -1)`, through scalar scales and dtype changes."""
    node = table.producer
    while node is not None and node.op in TABLE_STEPS:
        if node.op == "aten.mul.Tensor" and not isinstance(node.args[1], (int, float)):
            return False
        node = producer(node.args[0])
    if node is None or node.op not in ("aten.cos", "aten.sin"):
        return False
    cat = producer(node.args[0], "aten.cat")
    if cat is None or len(cat.args[0]) != 2 or cat.args[0][0] is not cat.args[0][1]:
        return False
    return int(cat.args[1]) in (-1, cat.output.tensor_type.rank - 1)


@dataclass(frozen=True)
class OrtRotary(RewritePass):
    """Rewrite rotate-half rotary embeddings on a head split into irc.rotary_embedding (ORT's
    RotaryEmbedding), before the split."""

    name = "ort-rotary"
    patterns = (RotaryEmbedding(),)
