"""The op registry: each op name maps to its reference implementation (a torch callable).

The reference implementation is the op's semantics: the interpreter calls it, constant folding
calls it, and shape inference runs it on fake tensors. ATen ops need no registration: any
`aten.<name>` or `aten.<name>.<overload>` resolves to `torch.ops.aten`. Other namespaces
(`sym.*` for size arithmetic, `irc.*` for irc's own ops) are registered with `register_op`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from irc.errors import IRError


@dataclass(frozen=True)
class OpDef:
    """An op: its qualified name, reference implementation and whether it may be deduplicated or
    removed when unused (`pure`)."""

    name: str
    target: Callable[..., Any]
    pure: bool = True
    """False for ops with side effects or randomness: DCE keeps them, CSE never merges them."""
    doc: str = ""


_REGISTRY: dict[str, OpDef] = {}


def register_op(name: str, target: Callable[..., Any], *, pure: bool = True, doc: str = "") -> OpDef:
    if name in _REGISTRY:
        raise IRError(f"op {name} is registered twice")
    opdef = OpDef(name, target, pure, doc)
    _REGISTRY[name] = opdef
    return opdef


def op_name_of(target: Any) -> str:
    """The IR name of a torch OpOverload: `aten.linear` for `.default`, else `aten.add.Tensor`."""
    namespace = target.namespace
    packet = target._schema.name.split("::", 1)[1]
    overload = target._overloadname
    return f"{namespace}.{packet}" if overload == "default" else f"{namespace}.{packet}.{overload}"


def get_op(name: str) -> OpDef:
    """The OpDef for `name`; raises IRError for a name no registry or torch namespace knows."""
    opdef = _REGISTRY.get(name)
    if opdef is not None:
        return opdef
    return _torch_op(name)


@cache
def _torch_op(name: str) -> OpDef:
    import torch

    parts = name.split(".")
    if len(parts) not in (2, 3) or parts[0] not in ("aten", "prims"):
        raise IRError(f"unknown op {name}: not registered and not an aten op")
    packet = getattr(getattr(torch.ops, parts[0]), parts[1], None)
    overload = parts[2] if len(parts) == 3 else "default"
    target = getattr(packet, overload, None) if packet is not None else None
    if target is None:
        raise IRError(f"unknown op {name}: torch.ops.{parts[0]} has no {parts[1]}.{overload}")
    tags = getattr(target, "tags", ())
    pure = torch.Tag.nondeterministic_seeded not in tags
    return OpDef(name, target, pure, target._schema.__str__())


def schema_arg_names(name: str) -> list[str] | None:
    """Argument names of an aten op's schema, in order; None for other ops."""
    opdef = get_op(name)
    schema = getattr(opdef.target, "_schema", None)
    return [a.name for a in schema.arguments] if schema is not None else None


def _identity(x: Any) -> Any:
    return x


for _name, _fn in {
    "sym.add": operator.add,
    "sym.sub": operator.sub,
    "sym.mul": operator.mul,
    "sym.floordiv": operator.floordiv,
    "sym.truediv": operator.truediv,
    "sym.mod": operator.mod,
    "sym.neg": operator.neg,
    "sym.eq": operator.eq,
    "sym.ne": operator.ne,
    "sym.lt": operator.lt,
    "sym.le": operator.le,
    "sym.gt": operator.gt,
    "sym.ge": operator.ge,
    "sym.pow": operator.pow,
    "sym.min": min,
    "sym.max": max,
    "sym.not": operator.not_,
}.items():
    register_op(_name, _fn, doc=f"size arithmetic: {_fn.__name__}")

register_op("irc.identity", _identity, doc="the input, unchanged (names an output that is also an input)")


# ONNX Runtime's contrib kernels (`com.microsoft`), made by the `ort-fusions` pass. Their
# references are the math of the ops they replace, so the interpreter, `--debug-passes` and
# constant folding treat them like any other op.
def _fast_gelu(x: Any, bias: Any = None) -> Any:
    import torch

    return torch.nn.functional.gelu(x if bias is None else x + bias, approximate="tanh")


def _bias_gelu(x: Any, bias: Any = None) -> Any:
    import torch

    return torch.nn.functional.gelu(x if bias is None else x + bias)


register_op("irc.fast_gelu", _fast_gelu, doc="gelu(x + bias, approximate='tanh'): ORT's FastGelu")
register_op("irc.bias_gelu", _bias_gelu, doc="gelu(x + bias) (erf): ORT's BiasGelu, or Gelu without a bias")


def _heads(x: Any, num_heads: int) -> Any:
    """[B, S, N*H] -> [B, N, S, H]"""
    return x.reshape(x.shape[0], x.shape[1], num_heads, -1).transpose(1, 2)


def _merged(out: Any) -> Any:
    """[B, N, S, H] -> [B, S, N*H]"""
    return out.transpose(1, 2).reshape(out.shape[0], out.shape[2], -1)


def _multi_head_attention(q: Any, k: Any, v: Any, mask: Any = None, *, num_heads: int, scale: float) -> Any:
    import torch

    out = torch.nn.functional.scaled_dot_product_attention(_heads(q, num_heads), k, v, mask, scale=scale)
    return _merged(out)


register_op(
    "irc.multi_head_attention",
    _multi_head_attention,
    doc="sdpa(q [B, S, N*H] split into N heads, k, v [B, N, L, H], mask) merged back to [B, S, N*H]: "
    "ORT's MultiHeadAttention",
)


def _attention(
    x: Any, weight: Any, bias: Any = None, mask: Any = None, *, num_heads: int, scale: float
) -> Any:
    import torch

    qkv = torch.nn.functional.linear(x, weight.t(), bias)
    return packed_attention(qkv, mask, num_heads=num_heads, scale=scale)


def packed_attention(qkv: Any, mask: Any = None, *, num_heads: int, scale: float) -> Any:
    """Self-attention of projected query, key and value packed on the last dim ([B, S, 3*N*H])."""
    import torch

    q, k, v = (_heads(t, num_heads) for t in qkv.chunk(3, dim=-1))
    return _merged(torch.nn.functional.scaled_dot_product_attention(q, k, v, mask, scale=scale))


register_op(
    "irc.attention",
    _attention,
    doc="self-attention of x [B, S, D] with packed projections weight [D, 3*N*H], bias [3*N*H] and an "
    "optional mask [B or 1, 1, S or 1, S] (bool, True attends, or additive): ORT's Attention",
)


def _skip_layer_norm(
    x: Any, skip: Any, gamma: Any, beta: Any = None, bias: Any = None, *, epsilon: float
) -> Any:
    import torch

    total = x + skip if bias is None else x + bias + skip
    return torch.nn.functional.layer_norm(total, (total.shape[-1],), gamma, beta, epsilon)


register_op(
    "irc.skip_layer_norm",
    _skip_layer_norm,
    doc="layer_norm(x + bias + skip) over the last dim: ORT's SkipLayerNormalization",
)


def _grouped_mm(input: Any, weight: Any, offs: Any) -> Any:
    """Rows `offs[i - 1]:offs[i]` of `input` times `weight[i]`; rows past `offs[-1]` are zero."""
    output = input.new_zeros(input.size(0), weight.size(2))
    start = 0
    for i, end in enumerate(offs.tolist()):
        if start != end:
            output[start:end] = input[start:end] @ weight[i]
        start = end
    return output


# transformers' mixture-of-experts layers sort (token, expert) pairs by expert and multiply each
# expert's run of rows by its weights in one call of this custom op (its `grouped_mm` experts
# implementation under torch.export); the reference is the op's own loop, minus transformers.
register_op(
    "transformers.grouped_mm_fallback",
    _grouped_mm,
    doc="grouped_mm_fallback(Tensor input [S, K], Tensor weight [E, K, N], Tensor offs [E]) -> Tensor [S, N]: "
    "rows offs[i-1]:offs[i] times weight[i] (offs: cumulative row counts), rows past offs[-1] zero",
)
from irc.ir import ops_decoder  # noqa: E402, F401  (registers the decoder fusions ops)

# The pair-layout DFT that the complex-pairs rewrite makes of torch.fft calls.
from irc.ir import ops_fft as _ops_fft  # noqa: E402, F401

# The quantized matmuls of the quantize-* passes register themselves (their reference math is
# long enough for a module of its own).
from irc.ir import ops_quant as _ops_quant  # noqa: E402, F401
