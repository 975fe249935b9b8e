"""`irc passes`: every pass a pipeline can name, with its options and one-line doc."""

from __future__ import annotations

import argparse
from typing import Any

from irc.cli.common import add_listing


def add_parser(sub: argparse._SubParsersAction) -> None:
    add_listing(sub, "passes", "list the passes --passes can name, with their options", _registry, _lines)


def _registry() -> tuple[Any, Any, Any]:
    from irc.passes.registry import get_pass_class, pass_names, pass_origin

    return pass_names(), get_pass_class, pass_origin


def _lines(cls: Any) -> list[str]:
    return [f"{option}" + (f"  {option.doc}" if option.doc else "") for option in cls.options()]
