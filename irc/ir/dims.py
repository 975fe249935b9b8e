"""Symbolic dimensions: named sizes such as `batch` and expressions such as `past_sequence + sequence`.

A dim is either an `int` or a `SymDim`. A `SymDim` holds a sympy expression over named symbols; it
is immutable, compares by value, and prints in a canonical form that `parse_dim` reads back. The
parser here is a small recursive-descent one: dim text is never evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy

from irc.errors import ParseError


@dataclass(frozen=True)
class SymDim:
    """A symbolic size. `SymDim.named("batch")`; arithmetic with ints and other dims builds expressions."""

    expr: sympy.Expr

    @staticmethod
    def named(name: str) -> SymDim:
        if not _NAME.fullmatch(name):
            raise ParseError(f"dim name {name!r} is not an identifier")
        return SymDim(sympy.Symbol(name, integer=True, positive=True))

    @property
    def symbols(self) -> frozenset[str]:
        return frozenset(str(s) for s in self.expr.free_symbols)

    def evaluate(self, bindings: dict[str, int]) -> int:
        """The size this dim has when each named symbol takes the size in `bindings`."""
        missing = self.symbols - bindings.keys()
        if missing:
            raise KeyError(f"no size given for dim(s) {', '.join(sorted(missing))}")
        subs = {s: bindings[str(s)] for s in self.expr.free_symbols}
        return int(self.expr.subs(subs))

    def __str__(self) -> str:
        return _format(self.expr)

    def __add__(self, other: Dim) -> Dim:
        return make_dim(self.expr + _as_expr(other))

    def __radd__(self, other: Dim) -> Dim:
        return make_dim(_as_expr(other) + self.expr)

    def __mul__(self, other: Dim) -> Dim:
        return make_dim(self.expr * _as_expr(other))

    def __sub__(self, other: Dim) -> Dim:
        return make_dim(self.expr - _as_expr(other))


Dim = int | SymDim

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _as_expr(dim: Dim) -> sympy.Expr:
    return sympy.Integer(dim) if isinstance(dim, int) else dim.expr


def make_dim(expr: sympy.Expr) -> Dim:
    """An int when `expr` is a constant, else a `SymDim`."""
    expr = sympy.expand(expr)
    if expr.is_Integer:
        return int(expr)
    return SymDim(expr)


def _format(expr: sympy.Expr) -> str:
    """Canonical text: terms in sympy's lexicographic order, `//` for floor division."""
    if expr.is_Integer or expr.is_Symbol:
        return str(expr)
    if expr.is_Add:
        terms = expr.as_ordered_terms(order="lex")
        text = _format(terms[0])
        for term in terms[1:]:
            coeff, rest = term.as_coeff_Mul()
            if coeff.is_negative:
                text += " - " + _format(-term)
            else:
                text += " + " + _format(term)
        return text
    if expr.is_Mul:
        coeff, rest = expr.as_coeff_Mul()
        factors = [_format_factor(f) for f in rest.as_ordered_factors()]
        if coeff == -1:
            return "-" + " * ".join(factors)
        if coeff != 1:
            factors.insert(0, _format_factor(coeff))
        return " * ".join(factors)
    if expr.is_Pow and expr.exp.is_Integer and expr.exp > 0:
        return " * ".join([_format_factor(expr.base)] * int(expr.exp))
    if isinstance(expr, sympy.floor):
        numer, denom = expr.args[0].as_numer_denom()
        return f"{_format_factor(numer)} // {_format_factor(denom)}"
    raise ParseError(f"dim expression {expr} has no text form in irc")


def _format_factor(expr: sympy.Expr) -> str:
    text = _format(expr)
    return f"({text})" if expr.is_Add or isinstance(expr, sympy.floor) else text


def format_dim(dim: Dim) -> str:
    return str(dim)


_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(//|\*\*|[-+*()]))")


def parse_dim(text: str) -> Dim:
    """Read a dim written by `format_dim`: an int, a name, or `+ - * //` over them with parentheses."""
    tokens = _tokenize(text)
    parser = _DimParser(tokens, text)
    expr = parser.sum()
    if parser.pos != len(tokens):
        raise ParseError(f"unexpected {tokens[parser.pos]!r} in dim {text!r}")
    return make_dim(expr)


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        match = _TOKEN.match(stripped, pos)
        if not match:
            raise ParseError(f"cannot read dim {text!r} at column {pos + 1}")
        tokens.append(match.group(match.lastindex or 0))
        pos = match.end()
    if not tokens:
        raise ParseError("empty dim")
    return tokens


class _DimParser:
    def __init__(self, tokens: list[str], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.pos = 0

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise ParseError(f"dim {self.text!r} ends too early")
        self.pos += 1
        return token

    def sum(self) -> sympy.Expr:
        expr = self.product()
        while self._peek() in ("+", "-"):
            op = self._take()
            rhs = self.product()
            expr = expr + rhs if op == "+" else expr - rhs
        return expr

    def product(self) -> sympy.Expr:
        expr = self.atom()
        while self._peek() in ("*", "//"):
            op = self._take()
            rhs = self.atom()
            expr = expr * rhs if op == "*" else sympy.floor(expr / rhs)
        return expr

    def atom(self) -> sympy.Expr:
        token = self._take()
        if token == "(":
            expr = self.sum()
            if self._take() != ")":
                raise ParseError(f"missing ')' in dim {self.text!r}")
            return expr
        if token == "-":
            return -self.atom()
        if token.isdigit():
            return sympy.Integer(int(token))
        if _NAME.fullmatch(token):
            return sympy.Symbol(token, integer=True, positive=True)
        raise ParseError(f"unexpected {token!r} in dim {self.text!r}")
