"""`irc backends`: the targets `--backend` can name, with their options and default pipelines."""

from __future__ import annotations

import argparse
from typing import Any

from irc.cli.common import print_listing


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("backends", help="list the backends --backend can name")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irc.backends import backend_names, backend_origin, get_backend

    return print_listing(backend_names(), get_backend, backend_origin, _lines)


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
