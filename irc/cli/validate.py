"""`irc validate --bisect ARTIFACT`: find the IR node where an artifact starts to disagree."""

from __future__ import annotations

import argparse

from irc.cli.common import add_trust_remote_code


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "validate", help="debug an artifact: --bisect names the first IR node whose output diverges"
    )
    parser.add_argument("artifact", help="artifact folder written by `irc export` (has irc.json)")
    parser.add_argument(
        "--bisect",
        action="store_true",
        required=True,
        help="re-lower with every intermediate marked as an output and name the first node that diverges",
    )
    parser.add_argument("--model", "-m", default=None, help="checkpoint folder, if irc.json's is not usable")
    parser.add_argument("--component", default=None, help="which model of a multi-model artifact")
    parser.add_argument("--atol", type=float, default=None, help="tolerance (default: the task's)")
    add_trust_remote_code(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irc.api import bisect
    from irc.progress import Progress

    result = bisect(
        args.artifact,
        model=args.model,
        component=args.component,
        atol=args.atol,
        trust_remote_code=args.trust_remote_code,
        progress=Progress(),
    )
    print(result.format())
    return 1 if result.divergence is not None else 0
