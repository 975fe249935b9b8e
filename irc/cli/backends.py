"""`irc backends`: the targets `--backend` can name, with their options and default pipelines."""

from __future__ import annotations

import argparse
from typing import Any

from irc.cli.common import add_listing


def add_parser(sub: argparse._SubParsersAction) -> None:
    add_listing(sub, "backends", "list the backends --backend can name", _registry, _lines)


def _registry() -> tuple[Any, Any, Any]:
    from irc.backends import backend_names, backend_origin, get_backend

    return backend_names(), get_backend, backend_origin


def _lines(backend: Any) -> list[str]:
    from irc.backends.base import option_fields
    from irc.backends.options import type_name
    from irc.passes.pipeline import format_value

    defaults = backend.Options()
    options = [
        f"{name}: {type_name(kind)} = {format_value(getattr(defaults, name))}"
        for name, kind in option_fields(backend.Options).items()
    ]
    return [*options, f"default pipeline: {backend.default_pipeline or '(none)'}"]
