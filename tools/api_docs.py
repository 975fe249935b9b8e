"""Write docs/api.md, the API reference of irc.ir, irc.passes, irc.backends and irc.exporter, from
docstrings.

    python tools/api_docs.py            # rewrite docs/api.md
    python tools/api_docs.py --check    # exit 1 if docs/api.md is out of date (tests/test_docs.py)

A module's public names are its `__all__`, else the functions and classes it defines without a
leading underscore. A class lists the public methods and properties it defines itself.
"""

from __future__ import annotations

import argparse
import enum
import importlib
import inspect
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "api.md"

SECTIONS: list[tuple[str, list[str]]] = [
    ("irc.ir", ["irc.ir", "irc.ir.core"]),
    ("irc.passes", ["irc.passes", "irc.passes.rewriter", "irc.passes.match", "irc.passes.printing"]),
    ("irc.backends", ["irc.backends", "irc.backends.base", "irc.backends.emitters", "irc.plugins"]),
    ("irc.exporter", ["irc.exporter.flow", "irc.exporter.plan"]),
]
"""Section title (a package) -> the modules it documents; a package not among them is introduced
by its docstring's first paragraph."""


def generate() -> str:
    out = [
        "# API reference",
        "",
        "Generated from the docstrings by `python tools/api_docs.py`; `tests/test_docs.py` fails when",
        "this page is out of date. Tutorials: [writing a pass](tutorial-pass.md),",
        "[adding a backend](tutorial-backend.md).",
    ]
    seen: set[int] = set()
    for title, modules in SECTIONS:
        out += ["", f"## {title}"]
        if title not in modules:
            out += ["", _paragraph(importlib.import_module(title))]
        for name in modules:
            out += _module(importlib.import_module(name), seen)
    return "\n".join(out) + "\n"


def _module(module: Any, seen: set[int]) -> list[str]:
    names = getattr(module, "__all__", None) or [
        n
        for n, obj in vars(module).items()
        if not n.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and obj.__module__ == module.__name__
    ]
    entries = []
    for name in names:
        obj = getattr(module, name)
        if id(obj) in seen or not callable(obj):
            continue
        seen.add(id(obj))
        entries += _entry(name, obj)
    if not entries:
        return []
    return ["", f"### `{module.__name__}`", "", _paragraph(module), *entries]


def _entry(name: str, obj: Any) -> list[str]:
    if inspect.isclass(obj) and issubclass(obj, enum.Enum):
        members = ", ".join(f"`{m.name}`" for m in obj)
        return ["", f"#### enum `{name}`", "", _paragraph(obj), "", f"Members: {members}.", *_members(obj)]
    kind = "class" if inspect.isclass(obj) else "def"
    lines = ["", f"#### {kind} `{name}{_signature(obj)}`"]
    if inspect.getdoc(obj) and (not inspect.isclass(obj) or "__doc__" in vars(obj)):
        lines += ["", _paragraph(obj)]
    if inspect.isclass(obj):
        lines += _members(obj)
    return lines


def _members(cls: type) -> list[str]:
    lines = []
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        if isinstance(member, property):
            lines.append(f"- `{name}` (property){_first_line(member)}")
        elif inspect.isfunction(member):
            lines.append(f"- `{name}{_signature(member, drop_self=True)}`{_first_line(member)}")
    return [""] + lines if lines else []


def _signature(obj: Any, drop_self: bool = False) -> str:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return ""
    params = list(sig.parameters.values())
    if drop_self and params and params[0].name in ("self", "cls"):
        params = params[1:]
    parts = []
    star = False
    for p in params:
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        prefix = "*" if p.kind is p.VAR_POSITIONAL else "**" if p.kind is p.VAR_KEYWORD else ""
        star = star or p.kind is p.VAR_POSITIONAL
        text = prefix + p.name + (f": {_annotation(p.annotation)}" if p.annotation is not p.empty else "")
        if p.default is not p.empty:
            text += f" = {p.default!r}"
        parts.append(text)
    result = f"({', '.join(parts)})"
    if sig.return_annotation is not sig.empty and not inspect.isclass(obj):
        result += f" -> {_annotation(sig.return_annotation)}"
    return result


def _annotation(annotation: Any) -> str:
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)


def _paragraph(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return " ".join(doc.split("\n\n")[0].split())


def _first_line(obj: Any) -> str:
    text = _paragraph(obj)
    return f": {text}" if text else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/api.md is out of date")
    args = parser.parse_args()
    text = generate()
    if args.check:
        if OUTPUT.read_text() != text:
            print(f"{OUTPUT} is out of date: run python tools/api_docs.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
