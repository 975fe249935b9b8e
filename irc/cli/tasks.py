"""`irc tasks`: what a checkpoint can be exported as, with each task's inputs and outputs."""

from __future__ import annotations

import argparse

from irc.cli.common import add_trust_remote_code


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("tasks", help="list the tasks a checkpoint can be exported for")
    parser.add_argument("--model", "-m", required=True, help="checkpoint folder (config.json + weights)")
    add_trust_remote_code(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irc.api import list_tasks

    listing = list_tasks(args.model, trust_remote_code=args.trust_remote_code)
    head = f" ({listing.architecture})" if listing.architecture else ""
    print(f"model type: {listing.model_type}{head}")
    print(f"task irc exports without --task: {listing.detected}")
    width = max(len(t.name) for t in listing.tasks)
    for task in listing.tasks:
        mark = "*" if task.name == listing.detected else " "
        inputs = ", ".join(f"{name}[{', '.join(map(str, axes))}]" for name, axes in task.inputs.items())
        print(f"{mark} {task.name:<{width}}  inputs: {inputs}")
        print(f"  {'':<{width}}  outputs: {', '.join(task.outputs)}  (atol {task.atol:g})")
    return 0
