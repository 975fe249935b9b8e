"""`irc show`: print a model's IR (text, DOT or SVG), optionally after a pass pipeline, with
the IR dumped between passes on request."""

from __future__ import annotations

import argparse

from irc.cli.common import add_model_arguments, trace_arguments
from irc.cli.opt import add_print_arguments


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("show", help="print a model's IR (after --passes, if given)")
    add_model_arguments(parser)
    parser.add_argument("--no-locs", action="store_true", help="leave out the model source locations")
    parser.add_argument(
        "--component",
        help="which model of a multi-model task to show (seq2seq-lm-with-past: encoder_model, "
        "decoder_model, decoder_with_past_model, decoder_model_merged)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "dot", "svg"),
        default="text",
        help="IR text (default), a graphviz DOT drawing, or SVG (needs graphviz's dot on PATH)",
    )
    add_print_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irc.api import run_pipeline, trace_model
    from irc.ir.dot import render, to_dot
    from irc.ir.printer import print_graph
    from irc.passes.printing import IRPrinter
    from irc.progress import Progress

    if args.format == "svg":
        render("digraph {}\n")  # fail before tracing when graphviz is missing
    progress = Progress()
    traced = trace_model(
        args.model, args.task, component=args.component, progress=progress, **trace_arguments(args)
    )
    printer = None
    if args.print_after_all or args.print_changed:
        printer = IRPrinter(only_changed=not args.print_after_all, locs=not args.no_locs)
    if args.passes:
        debug_inputs = traced.debug_inputs() if args.debug_passes else None
        run_pipeline(
            traced.graph, args.passes, debug_inputs=debug_inputs, progress=progress, after_pass=printer
        )
    graph = traced.graph
    if args.format == "text":
        print(print_graph(graph, locs=not args.no_locs), end="")
    else:
        dot = to_dot(graph)
        print(dot if args.format == "dot" else render(dot), end="")
    return 0
