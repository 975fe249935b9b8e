"""The `Pass` base class: a frozen dataclass with a kebab-case name and typed options.

    @dataclass(frozen=True)
    class PadStatic(Pass):
        \"\"\"Replace symbolic dims by fixed sizes.  batch -> 1, sequence -> 128\"\"\"

        name = "pad-static"
        ensures = frozenset({"static-shapes"})

        batch: int = 1
        \"\"\"Size that every `batch` dim becomes.\"\"\"

        def run(self, graph: Graph) -> bool: ...

Its pipeline text is `pad-static{batch=1}` (see `irc.passes.pipeline`). Option types are the
field annotations: `int`, `float`, `bool`, `str`, or a `tuple[int, ...]` / `tuple[str, ...]`.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

from irc.ir.core import Graph


@dataclass(frozen=True)
class Option:
    """One option of a pass, as read from its dataclass field."""

    name: str
    type: Any
    """The resolved annotation: `int`, `float`, `bool`, `str` or `tuple[int, ...]`."""
    default: Any
    """The default value, or `dataclasses.MISSING` when the option must be given."""
    doc: str = ""

    @property
    def type_name(self) -> str:
        if typing.get_origin(self.type) is tuple:
            return f"{typing.get_args(self.type)[0].__name__}|..."
        return str(self.type.__name__)

    def __str__(self) -> str:
        text = f"{self.name}: {self.type_name}"
        if self.default is not dataclasses.MISSING:
            from irc.passes.pipeline import format_value

            text += f" = {format_value(self.default)}"
        return text


@dataclass(frozen=True)
class Pass:
    """A graph-to-graph rewrite. Subclasses are frozen dataclasses whose fields are the options.

    Contract: `run` edits the graph in place and returns whether it changed anything; when it
    returns False the graph's text form is byte-for-byte what it was. `requires` names properties
    the input graph must have (ensured by an earlier pass or true from the start), `ensures` the
    properties the output graph has.
    """

    name: ClassVar[str] = ""
    """The kebab-case name used in pipelines and the registry."""
    requires: ClassVar[frozenset[str]] = frozenset()
    ensures: ClassVar[frozenset[str]] = frozenset()

    def run(self, graph: Graph) -> bool:
        """Rewrite `graph` in place; True if anything changed."""
        raise NotImplementedError(f"pass {self.name} has no run()")

    def result_atol(self) -> float | None:
        """How far this pass may move the graph's results (absolute), for debug mode's check;
        None: it keeps them up to float rounding (torch's default tolerances)."""
        return None

    @classmethod
    def options(cls) -> tuple[Option, ...]:
        """The pass's options in field order, with their types, defaults and docstrings."""
        options = _OPTIONS.get(cls)
        if options is None:
            options = _OPTIONS[cls] = _read_options(cls)
        return options

    @classmethod
    def summary(cls) -> str:
        """The first paragraph of the class docstring, on one line."""
        return doc_summary(cls)

    def __str__(self) -> str:
        from irc.passes.pipeline import format_pipeline

        return format_pipeline([self])


_OPTIONS: dict[type[Pass], tuple[Option, ...]] = {}


def doc_summary(cls: type) -> str:
    """The first paragraph of `cls`'s own docstring (not an inherited one), on one line."""
    doc = cls.__dict__.get("__doc__") or ""
    return " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())


def _read_options(cls: type[Pass]) -> tuple[Option, ...]:
    hints = typing.get_type_hints(cls)
    docs = _field_docs(cls)
    out = []
    for field in dataclasses.fields(cls):
        default = field.default
        if default is dataclasses.MISSING and field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        out.append(Option(field.name, hints[field.name], default, docs.get(field.name, "")))
    return tuple(out)


def _field_docs(cls: type) -> dict[str, str]:
    """Docstrings written under dataclass fields (`x: int = 1` then `\"\"\"doc\"\"\"`), by field."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        body = ast.parse(source).body
        if not body or not isinstance(body[0], ast.ClassDef):
            continue
        docs.update(_docs_in(body[0].body))
    return docs


def _docs_in(statements: list[ast.stmt]) -> dict[str, str]:
    docs: dict[str, str] = {}
    for stmt, nxt in zip(statements, statements[1:], strict=False):
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        if (
            isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            docs[stmt.target.id] = inspect.cleandoc(nxt.value.value).splitlines()[0]
    return docs
