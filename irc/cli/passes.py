"""`irc passes`: every pass a pipeline can name, with its options and one-line doc."""

from __future__ import annotations

import argparse
from typing import Any

from irc.cli.common import print_listing


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("passes", help="list the passes --passes can name, with their options")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irc.passes.registry import get_pass_class, pass_names, pass_origin

    return print_listing(pass_names(), get_pass_class, pass_origin, _lines)


def _lines(cls: Any) -> list[str]:
    return [f"{option}" + (f"  {option.doc}" if option.doc else "") for option in cls.options()]
