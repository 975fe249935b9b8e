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
    if isinstance(expr, (sympy.Min, sympy.Max)):
        args = ", ".join(_format(a) for a in sorted(expr.args, key=sympy.default_sort_key))
        return f"{_LATTICE_NAMES[type(expr)]}({args})"
    raise ParseError(f"dim expression {expr} has no text form in irc")


_LATTICE_NAMES = {sympy.Min: "min", sympy.Max: "max"}
_LATTICE_FUNCS = {"min": sympy.Min, "max": sympy.Max}


def _format_factor(expr: sympy.Expr) -> str:
    text = _format(expr)
    return f"({text})" if expr.is_Add or isinstance(expr, sympy.floor) else text


def format_dim(dim: Dim) -> str:
    return str(dim)


_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(//|\*\*|[-+*(),]))")


def parse_dim(text: str) -> Dim:
    """Read a dim written by `format_dim`: an int, a name, or `+ - * //` over them with parentheses,
    and `min(a, b, ...)` / `max(a, b, ...)` (DeBERTa's attention span is `min(sequence, 512)`)."""
    tokens = _tokenize(text)
    parser = _DimParser(tokens, text)
    expr = parser.sum()
    if parser.pos != len(tokens):
        raise ParseError(f"unexpected {tokens[parser.pos]!r} in dim {_shown(text)}")
    return make_dim(expr)


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        match = _TOKEN.match(stripped, pos)
        if not match:
            raise ParseError(f"cannot read dim {_shown(text)} at column {pos + 1}")
        tokens.append(match.group(match.lastindex or 0))
        pos = match.end()
    if not tokens:
        raise ParseError("empty dim")
    return tokens


MAX_DIM_NESTING = 50
"""How deep parentheses and unary minus may nest in a dim (a ParseError beyond, not a RecursionError)."""
MAX_DIM_TERMS = 1000
"""How many terms a dim may expand to: `(a + b) * (c + d) * ...` doubles with every factor, and
expanding is what makes two spellings of one size compare equal."""
MAX_DIM_DIGITS = 40


def _shown(text: str) -> str:
    """`text` quoted for an error message, shortened when long."""
    return repr(text if len(text) <= 60 else text[:57] + "...")


class _DimParser:
    """Recursive descent; each rule returns the expression and a bound on its expanded terms."""

    def __init__(self, tokens: list[str], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.pos = 0
        self.depth = 0

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise ParseError(f"dim {_shown(self.text)} ends too early")
        self.pos += 1
        return token

    def _bounded(self, expr: sympy.Expr, terms: int) -> tuple[sympy.Expr, int]:
        if terms > MAX_DIM_TERMS:
            raise ParseError(f"dim {_shown(self.text)} expands to more than {MAX_DIM_TERMS} terms")
        return expr, terms

    def sum(self) -> sympy.Expr:
        return self._sum()[0]

    def _sum(self) -> tuple[sympy.Expr, int]:
        expr, terms = self._product()
        while self._peek() in ("+", "-"):
            op = self._take()
            rhs, more = self._product()
            expr, terms = self._bounded(expr + rhs if op == "+" else expr - rhs, terms + more)
        return expr, terms

    def _product(self) -> tuple[sympy.Expr, int]:
        expr, terms = self._atom()
        while self._peek() in ("*", "//"):
            op = self._take()
            rhs, more = self._atom()
            if op == "//" and rhs == 0:
                raise ParseError(f"division by zero in dim {_shown(self.text)}")
            expr, terms = self._bounded(expr * rhs if op == "*" else sympy.floor(expr / rhs), terms * more)
        return expr, terms

    def _atom(self) -> tuple[sympy.Expr, int]:
        token = self._take()
        if token in ("(", "-"):
            if self.depth >= MAX_DIM_NESTING:
                raise ParseError(f"dim {_shown(self.text)} nests deeper than {MAX_DIM_NESTING} levels")
            self.depth += 1
            try:
                return self._nested(token)
            finally:
                self.depth -= 1
        if token in _LATTICE_FUNCS and self._peek() == "(":
            return self._lattice(token)
        if token.isdigit():
            if len(token) > MAX_DIM_DIGITS:
                raise ParseError(f"dim {_shown(self.text)} has a number of more than {MAX_DIM_DIGITS} digits")
            return sympy.Integer(int(token)), 1
        if _NAME.fullmatch(token):
            return sympy.Symbol(token, integer=True, positive=True), 1
        raise ParseError(f"unexpected {token!r} in dim {_shown(self.text)}")

    def _nested(self, token: str) -> tuple[sympy.Expr, int]:
        if token == "-":
            expr, terms = self._atom()
            return -expr, terms
        expr, terms = self._sum()
        if self._take() != ")":
            raise ParseError(f"missing ')' in dim {_shown(self.text)}")
        return expr, terms

    def _lattice(self, name: str) -> tuple[sympy.Expr, int]:
        """`min(a, b, ...)` or `max(...)`: the name is taken, the parenthesis is next."""
        if self.depth >= MAX_DIM_NESTING:
            raise ParseError(f"dim {_shown(self.text)} nests deeper than {MAX_DIM_NESTING} levels")
        self._take()
        self.depth += 1
        try:
            args, terms = [], 0
            while True:
                arg, more = self._sum()
                args.append(arg)
                terms += more
                token = self._take()
                if token == ")":
                    break
                if token != ",":
                    raise ParseError(f"expected ',' or ')' in {name}(...) of dim {_shown(self.text)}")
        finally:
            self.depth -= 1
        if len(args) < 2:
            raise ParseError(f"{name}(...) in dim {_shown(self.text)} needs at least two arguments")
        return self._bounded(_LATTICE_FUNCS[name](*args), terms)
