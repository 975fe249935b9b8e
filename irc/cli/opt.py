"""`irc-opt`: read IR text, run a pass pipeline, print the IR (like `mlir-opt` / `xdsl-opt`).

    irc-opt model.irc --passes "dce,cse,fold-constants{max_elements=1024}" --no-locs
    irc-opt - --passes dce < model.irc
    irc-opt cases.irc --split-input-file --passes cse
    irc-opt --list-passes
    irc-opt model.irc --passes dce,cse --print-changed     # IR after each pass that changed it

An IrcError (bad text, unknown pass, a failing pass) prints `error: <message>` on stderr and
exits 2; the pass tests in tests/passes check those messages with FileCheck. With
`--split-input-file`, the input is cut at lines `// -----` into graphs that are processed one by
one (an error in one does not stop the others) and printed separated by the same line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from irc.errors import IrcError

if TYPE_CHECKING:
    from irc.passes import PassManager
    from irc.passes.rewriter import Failure


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="irc-opt", description="Apply a pass pipeline to IR text.")
    parser.add_argument("file", nargs="?", default="-", help="IR text file, or - for stdin (default)")
    parser.add_argument("--passes", "-p", default="", help='pipeline, e.g. "dce,cse,fold-constants"')
    parser.add_argument(
        "--debug", action="store_true", help="run the interpreter after each pass and compare"
    )
    parser.add_argument("--no-verify", action="store_true", help="skip the verifier between passes")
    parser.add_argument("--no-locs", action="store_true", help="leave node provenance out of the output")
    parser.add_argument(
        "--timing", action="store_true", help="print each pass's time and change flag to stderr"
    )
    parser.add_argument(
        "--split-input-file", action="store_true", help="process each '// -----' chunk on its own"
    )
    parser.add_argument(
        "--list-passes", action="store_true", help="list the registered passes and their options"
    )
    add_print_arguments(parser)
    parser.add_argument(
        "--explain-rewrites",
        action="store_true",
        help="print to stderr why each rewrite pattern did not match a node it was tried on",
    )
    return parser


def add_print_arguments(parser: argparse.ArgumentParser) -> None:
    """`--print-after-all` and `--print-changed`, shared with `irc show`."""
    parser.add_argument(
        "--print-after-all", action="store_true", help="print the IR to stderr after every pass"
    )
    parser.add_argument(
        "--print-changed",
        action="store_true",
        help="print the IR to stderr after every pass that changed it",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except IrcError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


def _run(args: argparse.Namespace) -> int:
    if args.list_passes:
        print(_list_passes(), end="")
        return 0
    from irc.passes import PassManager
    from irc.passes.printing import IRPrinter

    printer = None
    if args.print_after_all or args.print_changed:
        printer = IRPrinter(only_changed=not args.print_after_all, locs=not args.no_locs)
    explainer = _Explainer() if args.explain_rewrites else None
    manager = PassManager(
        args.passes, verify=not args.no_verify, debug=args.debug, after_pass=printer, explain=explainer
    )
    text = _read(args.file)
    chunks = _split(text) if args.split_input_file else [text]
    failed = 0
    for i, chunk in enumerate(chunks):
        if i:
            print(SEPARATOR)
        if explainer is not None:
            explainer.seen.clear()  # each graph's reasons are printed once for that graph
        try:
            _process(chunk, manager, args)
        except IrcError as exc:
            sys.stdout.flush()
            print(f"error: {exc}", file=sys.stderr)
            sys.stderr.flush()
            failed = exc.exit_code
    return failed


SEPARATOR = "// -----"


def _split(text: str) -> list[str]:
    """Chunks between separator lines, each padded with newlines so that parse errors give
    line numbers in the whole file."""
    chunks: list[str] = []
    current: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(keepends=True)):
        if line.strip() != SEPARATOR:
            current.append(line)
            continue
        chunks.append("\n" * start + "".join(current))
        current, start = [], number + 1
    chunks.append("\n" * start + "".join(current))
    return chunks


def _process(text: str, manager: PassManager, args: argparse.Namespace) -> None:
    from irc.ir.parser import parse_graph
    from irc.ir.printer import print_graph

    graph = parse_graph(text)
    result = manager.run(graph)
    if args.timing:
        for record in result.records:
            print(f"{record.name}: {record.seconds * 1000:.2f} ms, changed={record.changed}", file=sys.stderr)
    print(print_graph(graph, locs=not args.no_locs), end="")


class _Explainer:
    """Prints each distinct reason a rewrite pattern gave for not matching, once."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, failure: Failure) -> None:
        text = str(failure)
        if text not in self.seen:
            self.seen.add(text)
            print(f"explain: {text}", file=sys.stderr)


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise _InputError(f"cannot read {path}: {exc.strerror}") from None


class _InputError(IrcError):
    """The IR file cannot be read."""


def _list_passes() -> str:
    from irc.passes import get_pass_class, pass_names

    lines = []
    for name in pass_names():
        cls = get_pass_class(name)
        lines.append(f"{name}: {cls.summary()}")
        lines += [f"    {option}" + (f"  {option.doc}" if option.doc else "") for option in cls.options()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
