"""`irc backends`: the targets `--backend` can name, with their default pipelines."""

from __future__ import annotations

import argparse
import sys

from irc.errors import IrcError


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("backends", help="list the backends --backend can name")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irc.backends import backend_names, backend_origin, get_backend

    failed = 0
    for name in backend_names():
        try:
            backend = get_backend(name)
        except IrcError as exc:  # one broken plugin must not hide the other backends
            print(f"error: {exc}", file=sys.stderr)
            failed = exc.exit_code
            continue
        doc = backend.summary()
        origin = backend_origin(name)
        print(f"{name}  {doc}" + ("" if origin == "irc" else f"  [plugin: {origin}]"))
        print(f"    default pipeline: {backend.default_pipeline or '(none)'}")
    return failed
