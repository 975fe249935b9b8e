"""`irc show`: print a model's IR, optionally after a pass pipeline."""

from __future__ import annotations

import argparse

from irc.cli.common import add_model_arguments


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("show", help="print a model's IR (after --passes, if given)")
    add_model_arguments(parser)
    parser.add_argument("--no-locs", action="store_true", help="leave out the model source locations")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irc.api import run_pipeline, trace_model
    from irc.ir.printer import print_graph
    from irc.progress import Progress

    progress = Progress()
    traced = trace_model(
        args.model,
        args.task,
        batch_size=args.batch_size,
        sequence_length=args.sequence_length,
        trust_remote_code=args.trust_remote_code,
        progress=progress,
    )
    if args.passes:
        debug_inputs = traced.debug_inputs() if args.debug_passes else None
        run_pipeline(traced.graph, args.passes, debug_inputs=debug_inputs, progress=progress)
    print(print_graph(traced.graph, locs=not args.no_locs), end="")
    return 0
