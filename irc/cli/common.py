"""Arguments shared by the subcommands that load and trace a model."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from typing import Any


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def add_trust_remote_code(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="let a checkpoint run its own model code (config.json auto_map); only for code you trust",
    )


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", "-m", required=True, help="checkpoint folder (config.json + weights)")
    add_trust_remote_code(parser)
    parser.add_argument(
        "--task",
        "-t",
        default=None,
        help="task (feature), e.g. causal-lm; default: the checkpoint's own head",
    )
    parser.add_argument("--passes", default=None, help='pass pipeline, e.g. "dce,cse,fold-constants"')
    parser.add_argument(
        "--debug-passes",
        action="store_true",
        help="run the IR interpreter before and after every pass and stop at the first that changes results",
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=2,
        help="batch size to trace with (default 2); for --backend neuron, the static batch (default 1)",
    )
    parser.add_argument(
        "--sequence-length", type=positive_int, default=8, help="sequence length to trace with (default 8)"
    )


def trace_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """What `add_model_arguments` read that tracing takes, as keywords of `irc.export` and
    `trace_model`."""
    return {
        "batch_size": args.batch_size,
        "sequence_length": args.sequence_length,
        "trust_remote_code": args.trust_remote_code,
    }


Source = Callable[[], tuple[Iterable[str], Callable[[str], Any], Callable[[str], str]]]
"""A registry's names, how to load one and where one comes from, imported when called."""


def add_listing(
    sub: argparse._SubParsersAction, name: str, help: str, source: Source, lines: Callable[[Any], list[str]]
) -> None:
    """A subcommand `name` that prints the entries of the registry `source` (see `print_listing`)."""
    parser = sub.add_parser(name, help=help)
    parser.set_defaults(run=lambda args: print_listing(*source(), lines))


def print_listing(
    names: Iterable[str],
    load: Callable[[str], Any],
    origin: Callable[[str], str],
    lines: Callable[[Any], list[str]],
) -> int:
    """`name  summary  [plugin: dist]` and the entry's indented `lines` for each name; an entry
    that cannot be loaded is an error line that does not hide the others. The exit code."""
    from irc.errors import IrcError

    failed = 0
    for name in names:
        try:
            entry = load(name)
        except IrcError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed = exc.exit_code
            continue
        where = origin(name)
        print(f"{name}  {entry.summary()}" + ("" if where == "irc" else f"  [plugin: {where}]"))
        for line in lines(entry):
            print(f"    {line}")
    return failed
