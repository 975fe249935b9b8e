"""Sizes and size arithmetic: `aten.sym_size.int` becomes `x.size(i)`, `sym.*` ops Python
operators on ints (floats, bools), so symbolic dims stay symbolic in the generated code and one
artifact serves every size. Also `irc.identity`, which needs no code at all.
"""

from __future__ import annotations

from typing import Any

from irc.backends.torchscript.codegen import Codegen, out_dtype
from irc.backends.torchscript.registry import TABLE, emitter
from irc.ir.core import Node, Value
from irc.ir.dtypes import DType

Arg = Any


@emitter("aten.sym_size.int")
def sym_size(g: Codegen, node: Node, self: Value, dim: int) -> str:
    """sym_size.int(Tensor self, int dim) -> SymInt"""
    return f"{g.name(self)}.size({dim})"


@emitter("aten.sym_numel")
def sym_numel(g: Codegen, node: Node, self: Value) -> str:
    """sym_numel(Tensor self) -> SymInt"""
    return f"{g.name(self)}.numel()"


@emitter("aten.item")
def item(g: Codegen, node: Node, self: Value) -> str:
    """item(Tensor self) -> Scalar, typed as the IR's scalar (TorchScript's `item()` is untyped)."""
    kind = {DType.BOOL: "bool", DType.F64: "float"}.get(out_dtype(node), "int")
    return f"{kind}({g.name(self)}.item())"


@emitter("irc.identity")
def identity(g: Codegen, node: Node, self: Value) -> str:
    """identity(Tensor self) -> Tensor: the input, under the output's name."""
    return g.name(self)


# TorchScript's int `//` and `%` round toward negative infinity, as Python's do (checked by the
# per-op tests with negative operands), so the operators carry over unchanged.
_BINARY = {
    "sym.add": "+",
    "sym.sub": "-",
    "sym.mul": "*",
    "sym.floordiv": "//",
    "sym.truediv": "/",
    "sym.mod": "%",
    "sym.eq": "==",
    "sym.ne": "!=",
    "sym.lt": "<",
    "sym.le": "<=",
    "sym.gt": ">",
    "sym.ge": ">=",
}


def _binary(symbol: str) -> Any:
    def emit(g: Codegen, node: Node, a: Arg, b: Arg) -> str:
        return f"({g.arg(a)} {symbol} {g.arg(b)})"

    emit.__doc__ = f"(Scalar a, Scalar b) -> Scalar: a {symbol} b"
    return emit


TABLE.register_each(_BINARY, _binary)


@emitter("sym.pow")
def sym_pow(g: Codegen, node: Node, a: Arg, b: Arg) -> str:
    """(Scalar a, Scalar b) -> Scalar: a ** b. TorchScript's `int ** int` is a float, so an int
    result (what the IR says Python gave) is converted back."""
    text = f"({g.arg(a)} ** {g.arg(b)})"
    return f"int{text}" if out_dtype(node) is DType.I64 else text


@emitter("sym.min", "sym.max")
def sym_min_max(g: Codegen, node: Node, a: Arg, b: Arg) -> str:
    """(Scalar a, Scalar b) -> Scalar: min(a, b) or max(a, b), as torch.sym_min/sym_max."""
    return f"{node.op.removeprefix('sym.')}({g.arg(a)}, {g.arg(b)})"


@emitter("sym.not")
def sym_not(g: Codegen, node: Node, a: Arg) -> str:
    """(SymBool a) -> SymBool: not a"""
    return f"(not {g.arg(a)})"


@emitter("sym.neg")
def sym_neg(g: Codegen, node: Node, a: Arg) -> str:
    """(Scalar a) -> Scalar: -a"""
    return f"(-{g.arg(a)})"
