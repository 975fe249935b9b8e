"""Pipeline strings: `"dce,cse,pad-static{batch=1,sequence=128}"` <-> a list of pass instances.

Grammar (whitespace around tokens is ignored)::

    pipeline := [pass ("," pass)*]
    pass     := NAME ["{" [option ("," option)*] "}"]
    option   := FIELD "=" VALUE          VALUE: any text without , { } =

A value is read as the option's declared type: `int`, `float`, `bool` (`true`/`false`), `str`,
or a tuple written with `|` (`sequence=32|128`; empty text is the empty tuple). Option names are
the dataclass field names. `format_pipeline` writes every option, defaults included, so that
`parse_pipeline(format_pipeline(p)) == p`.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from collections.abc import Sequence
from typing import Any

from irc.errors import PassError
from irc.passes.base import Option, Pass
from irc.passes.registry import get_pass_class

_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_-]*)\s*")
_FIELD = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_-]*)\s*=")
_VALUE = re.compile(r"[^,{}=]*")
_INT = re.compile(r"[+-]?\d+")
_SPECIAL = set(",{}=")


def parse_pipeline(text: str) -> list[Pass]:
    """The passes `text` names, in order, with their options converted to the field types."""
    return _Parser(text).pipeline()


def parse_options(text: str, owner: str) -> dict[str, str]:
    """Option name -> value text of `text`, the inside of a pass's braces (`batch=1,sequence=128`),
    unconverted (`convert_value` reads a value as its type); `owner` names whose options they are
    in messages (`pad-static`, `the onnx backend`). Bad syntax is a PassError."""
    if not text.strip():
        return {}
    parser = _Parser(text + "}")
    raw = parser.options(owner)
    if parser.pos != len(parser.text):
        raise PassError(f"unexpected text after the options of {owner} in {text!r}")
    return raw


def as_passes(passes: str | Sequence[Pass]) -> list[Pass]:
    """A pipeline given as text or as pass instances, as a list of instances."""
    if isinstance(passes, str):
        return parse_pipeline(passes)
    for p in passes:
        if not isinstance(p, Pass):
            raise PassError(f"{p!r} is not a Pass; give pass instances or a pipeline string")
    return list(passes)


def format_pipeline(passes: Sequence[Pass]) -> str:
    """The text `parse_pipeline` reads back into equal passes."""
    return ",".join(_format_pass(p) for p in passes)


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        items = [format_value(v) for v in value]
        if any("|" in item or not item for item in items):
            raise PassError(
                f"option value {value!r} cannot be written in a pipeline (an item is empty or has |)"
            )
        return "|".join(items)
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if _SPECIAL & set(text) or text != text.strip():
        raise PassError(
            f"option value {text!r} cannot be written in a pipeline (it has , {{ }} = or outer spaces)"
        )
    return text


def _format_pass(p: Pass) -> str:
    options = [f"{o.name}={format_value(getattr(p, o.name))}" for o in p.options()]
    return f"{p.name}{{{','.join(options)}}}" if options else p.name


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def pipeline(self) -> list[Pass]:
        if not self.text.strip():
            return []
        passes = [self._pass()]
        while self._eat(","):
            passes.append(self._pass())
        if self.pos != len(self.text):
            self._fail("expected ',' between passes")
        return passes

    def _pass(self) -> Pass:
        start = self.pos
        match = _NAME.match(self.text, self.pos)
        if not match:
            self._fail("expected a pass name")
        self.pos = match.end()
        cls = self._lookup(match.group(1), start)
        raw: dict[str, str] = {}
        if self._eat("{"):
            raw = self.options(cls.name)
        return _build(cls, raw)

    def _lookup(self, name: str, start: int) -> type[Pass]:
        try:
            return get_pass_class(name)
        except PassError as exc:
            raise PassError(f"in pipeline {self.text!r} at column {start + 1}: {exc}") from None

    def options(self, owner: str) -> dict[str, str]:
        raw: dict[str, str] = {}
        if self._eat("}"):
            return raw
        while True:
            match = _FIELD.match(self.text, self.pos)
            if not match:
                self._fail(f"expected 'option=value' in the options of {owner}")
            key = match.group(1)
            if key in raw:
                self._fail(f"option {key} of {owner} is given twice")
            self.pos = match.end()
            value = _VALUE.match(self.text, self.pos)
            assert value is not None  # the pattern matches the empty string
            raw[key] = value.group().strip()
            self.pos = value.end()
            if self._eat("}"):
                return raw
            if not self._eat(","):
                self._fail(f"expected ',' or '}}' in the options of {owner}")

    def _eat(self, char: str) -> bool:
        self._skip_space()
        if not self.text.startswith(char, self.pos):
            return False
        self.pos += 1
        self._skip_space()
        return True

    def _skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _fail(self, what: str) -> typing.NoReturn:
        raise PassError(f"bad pipeline {self.text!r}: {what} at column {self.pos + 1}")


def _build(cls: type[Pass], raw: dict[str, str]) -> Pass:
    options = {o.name: o for o in cls.options()}
    for key in raw:
        if key not in options:
            close = difflib.get_close_matches(key, list(options), n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise PassError(f"pass {cls.name} has no option {key!r}.{hint} {_options_text(cls)}")
    missing = [o.name for o in options.values() if o.default is dataclasses.MISSING and o.name not in raw]
    if missing:
        raise PassError(f"pass {cls.name} needs option(s) {', '.join(missing)}. {_options_text(cls)}")
    values = {key: _convert(cls, options[key], text) for key, text in raw.items()}
    return cls(**values)


def _convert(cls: type[Pass], option: Option, text: str) -> Any:
    try:
        return convert_value(option.type, text)
    except ValueError:
        raise PassError(
            f"option {option.name} of pass {cls.name} takes {_a(option.type_name)}, not {text!r}. "
            f"{_options_text(cls)}"
        ) from None


def convert_value(kind: Any, text: str) -> Any:
    """`text` read as an option of type `kind` (int, float, bool, str, or a tuple of one of them
    written with `|`); a ValueError if it is not one."""
    if typing.get_origin(kind) is tuple:
        item = typing.get_args(kind)[0]
        return tuple(convert_value(item, part.strip()) for part in text.split("|")) if text else ()
    if kind is bool:
        if text.lower() not in ("true", "false"):
            raise ValueError(text)
        return text.lower() == "true"
    if kind is int:
        if not _INT.fullmatch(text):
            raise ValueError(text)
        return int(text)
    if kind is float:
        return float(text)
    if kind is str:
        return text
    raise ValueError(f"option type {kind} is not supported")


def _a(type_name: str) -> str:
    if type_name.endswith("..."):
        return f"a '|'-separated list ({type_name})"
    return f"an {type_name}" if type_name[0] in "aeiou" else f"a {type_name}"


def _options_text(cls: type[Pass]) -> str:
    options = cls.options()
    if not options:
        return f"{cls.name} takes no options."
    return (
        f"Options of {cls.name}: "
        + "; ".join(f"{o}" + (f" ({o.doc.rstrip('.')})" if o.doc else "") for o in options)
        + "."
    )
