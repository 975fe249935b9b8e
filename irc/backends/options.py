"""A backend's options: a frozen dataclass, written in the pipeline grammar's option syntax.

    >>> split_spec("onnx{opset=18,external_data=true}")
    ('onnx', 'opset=18,external_data=true')
    >>> get_backend("onnx").parse_options("opset=18,external_data=true")
    OnnxOptions(opset=18, external_data=True, ort_fusions=False)

The text is read by the pipeline parser (`irc.passes.pipeline`), so `--backend` and `--passes`
take options the same way: `int`, `float`, `bool` (`true`/`false`), `str`, tuples with `|`.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from typing import Any

from irc.errors import BackendError, PassError


def split_spec(text: str) -> tuple[str, str]:
    """`name{options}` -> (name, option text); a bare name has no options."""
    name, brace, rest = text.partition("{")
    if not brace:
        return text.strip(), ""
    if not rest.rstrip().endswith("}"):
        raise BackendError(f"backend {text!r}: the options end with '}}', e.g. onnx{{opset=18}}.")
    return name.strip(), rest.rstrip()[:-1]


def parse_option_text(backend: str, text: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Option name -> value of `text` (`opset=18,external_data=true`), read as the field types."""
    from irc.passes.pipeline import convert_value, parse_options

    try:
        raw = parse_options(text, f"the {backend} backend")
    except PassError as exc:
        raise BackendError(f"cannot read the options of the {backend} backend: {exc}") from None
    _check_names(backend, raw, fields)
    values = {}
    for key, value in raw.items():
        try:
            values[key] = convert_value(fields[key], value)
        except ValueError:
            raise BackendError(
                f"option {key} of the {backend} backend takes {type_name(fields[key])}, not {value!r}. "
                f"{options_text(backend, fields)}"
            ) from None
    return values


def build_options(backend: str, options_type: type, values: dict[str, Any]) -> Any:
    """An instance of `options_type` from typed values; lists become tuples."""
    from irc.backends.base import option_fields

    fields = option_fields(options_type)
    _check_names(backend, values, fields)
    typed = {}
    for key, value in values.items():
        value = tuple(value) if isinstance(value, list) else value
        if not _is_a(value, fields[key]):
            raise BackendError(
                f"option {key} of the {backend} backend takes {type_name(fields[key])}, not {value!r}. "
                f"{options_text(backend, fields)}"
            )
        typed[key] = value
    return options_type(**typed)


def options_text(backend: str, fields: dict[str, Any]) -> str:
    if not fields:
        return f"The {backend} backend takes none."
    return (
        f"The {backend} backend takes: " + ", ".join(f"{k} ({type_name(t)})" for k, t in fields.items()) + "."
    )


def as_dict(options: Any) -> dict[str, Any]:
    """The options as JSON-ready values (tuples as lists), for the manifest."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(options).items()}


def _check_names(backend: str, values: dict[str, Any], fields: dict[str, Any]) -> None:
    for key in values:
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise BackendError(
                f"unknown option {key!r} for the {backend} backend.{hint} {options_text(backend, fields)}"
            )


def _is_a(value: Any, kind: Any) -> bool:
    if typing.get_origin(kind) is tuple:
        item = typing.get_args(kind)[0]
        return isinstance(value, tuple) and all(_is_a(v, item) for v in value)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def type_name(kind: Any) -> str:
    if typing.get_origin(kind) is tuple:
        return f"{typing.get_args(kind)[0].__name__}|..."
    return str(kind.__name__)
