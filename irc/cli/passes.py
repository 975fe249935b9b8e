"""`irc passes`: every pass a pipeline can name, with its options and one-line doc."""

from __future__ import annotations

import argparse
import sys

from irc.errors import IrcError


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("passes", help="list the passes --passes can name, with their options")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irc.passes.registry import get_pass_class, pass_names, pass_origin

    failed = 0
    for name in pass_names():
        try:
            cls = get_pass_class(name)
        except IrcError as exc:  # one broken plugin must not hide the other passes
            print(f"error: {exc}", file=sys.stderr)
            failed = exc.exit_code
            continue
        origin = pass_origin(name)
        print(f"{name}  {cls.summary()}" + ("" if origin == "irc" else f"  [plugin: {origin}]"))
        for option in cls.options():
            print(f"    {option}" + (f"  {option.doc}" if option.doc else ""))
    return failed
