"""The `irc` command: one small module per subcommand, each a thin layer over the Python API.

An IrcError prints as one paragraph on stderr, without a traceback, and sets the exit code
(2 for bad input, 1 for a failed validation); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import atexit
import os
import sys
from collections.abc import Sequence

from irc.cli import backends as backends_cmd
from irc.cli import export as export_cmd
from irc.cli import passes as passes_cmd
from irc.cli import show as show_cmd
from irc.cli import tasks as tasks_cmd
from irc.cli import validate as validate_cmd
from irc.errors import IrcError

SUBCOMMANDS = (export_cmd, show_cmd, tasks_cmd, validate_cmd, passes_cmd, backends_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="irc",
        description="Compile transformers models through irc's IR to ONNX, validated against PyTorch.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except IrcError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted; nothing was written.", file=sys.stderr)
        return 130


def entry() -> None:
    """The console script: `main`, then a quick exit.

    Tearing down an interpreter that has imported torch, transformers and ONNX Runtime takes
    longer than some exports (1.4 s after BERT-base's 8 s); every file is closed and published by
    now, so after the exit handlers and a flush the process ends without that teardown.
    """
    code = main()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
