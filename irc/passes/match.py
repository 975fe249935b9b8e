"""Constraints for rewrite patterns: each returns why it does not hold, or None when it does.

    def match_and_rewrite(self, node, rewriter):
        x = get_arg(node, "self")
        if why := check_type(x, dtype="f32", rank=3, dims=(None, "sequence", None)):
            return rewriter.fail(why)
        if why := check_uses(node.output, 1):
            return rewriter.fail(why)
        ...

The reason strings are what `apply_patterns(..., explain=print)` shows, so they name the value
and what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from irc.ir.core import Arg, Node, Value
from irc.ir.dims import format_dim
from irc.ir.dtypes import DType
from irc.ir.ops import get_op, schema_arg_names
from irc.ir.types import TensorType

_MISSING = object()


def get_arg(node: Node, name: str, default: Any = None) -> Arg:
    """The argument the op's schema calls `name`, given positionally or by keyword, else the
    schema's default; `default` when the op has no such argument or it has no default. Ops
    without a schema (`sym.*`, `irc.*`) take `argN` names."""
    if name in node.kwargs:
        return node.kwargs[name]
    names = schema_arg_names(node.op) or [f"arg{i}" for i in range(len(node.args))]
    if name not in names:
        return default
    index = names.index(name)
    if index < len(node.args):
        return node.args[index]
    return _schema_default(node.op, index, default)


def _schema_default(op: str, index: int, default: Any) -> Any:
    schema = getattr(get_op(op).target, "_schema", None)
    argument = schema.arguments[index] if schema is not None else None
    if argument is None or not argument.has_default_value():
        return default
    return argument.default_value


def producer(value: Arg, *ops: str) -> Node | None:
    """The node that computes `value`, if it is one of `ops` (any op when none are given)."""
    if not isinstance(value, Value) or value.producer is None:
        return None
    if ops and value.producer.op not in ops:
        return None
    return value.producer


def check_op(node: Node, *ops: str) -> str | None:
    if node.op in ops:
        return None
    return f"op is {node.op}, not {' or '.join(ops)}"


def check_args(node: Node, **expected: Any) -> str | None:
    """Each named argument equals the given literal, or satisfies the given predicate."""
    for name, want in expected.items():
        got = get_arg(node, name, _MISSING)
        if got is _MISSING:
            return f"{node.op} has no argument {name}"
        ok = want(got) if callable(want) else _same_literal(got, want)
        if not ok:
            return f"{name} is {got!r}, not {getattr(want, '__name__', repr(want))}"
    return None


def _same_literal(got: Any, want: Any) -> bool:
    # `1 == True == 1.0` in Python; an IR literal's type is part of its meaning.
    if isinstance(got, (list, tuple)) and isinstance(want, (list, tuple)):
        return len(got) == len(want) and all(_same_literal(g, w) for g, w in zip(got, want, strict=True))
    return type(got) is type(want) and got == want


def check_type(
    value: Arg,
    *,
    dtype: DType | str | None = None,
    rank: int | None = None,
    dims: Sequence[int | str | None] | None = None,
    static: bool | None = None,
) -> str | None:
    """`value` is a tensor with this element type, rank, dims (an int, a dim's text such as
    `"batch"` or `"past_sequence + sequence"`, or None for any) and staticness."""
    if not isinstance(value, Value) or not isinstance(value.type, TensorType):
        return f"{_name(value)} is not a tensor"
    ttype = value.type
    if dtype is not None and str(ttype.dtype) != str(dtype):
        return f"{_name(value)} has dtype {ttype.dtype}, not {dtype}"
    if dims is not None:
        rank = len(dims) if rank is None else rank
    if rank is not None and ttype.rank != rank:
        return f"{_name(value)} has rank {ttype.rank}, not {rank}"
    for i, want in enumerate(dims or ()):
        if want is not None and _dim_text(ttype.shape[i]) != _dim_text(want):
            return f"dim {i} of {_name(value)} is {format_dim(ttype.shape[i])}, not {want}"
    if static is not None and ttype.is_static != static:
        return f"{_name(value)} is {'static' if ttype.is_static else 'dynamic'}"
    return None


def _dim_text(dim: Any) -> str:
    return dim if isinstance(dim, str) else format_dim(dim)


def check_same_type(a: Arg, b: Arg) -> str | None:
    if isinstance(a, Value) and isinstance(b, Value) and a.type == b.type:
        return None
    return f"{_name(a)} and {_name(b)} differ in type"


def check_uses(value: Value, count: int = 1) -> str | None:
    """`value` is read exactly `count` times (a graph output counts as a read)."""
    uses = value.use_count()
    if uses == count:
        return None
    return f"%{value.name} has {uses} uses, not {count}"


def _name(value: Arg) -> str:
    return f"%{value.name}" if isinstance(value, Value) else repr(value)
