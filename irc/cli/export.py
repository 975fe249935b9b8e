"""`irc export`: trace, run the pipeline, lower, validate, write the artifact folder."""

from __future__ import annotations

import argparse

from irc.cli.common import add_model_arguments


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("export", help="export a model to a validated artifact folder")
    add_model_arguments(parser)
    parser.add_argument("output", help="artifact folder to write (created; must not exist unless --force)")
    parser.add_argument("--backend", "-b", default="onnx", help="target backend (default onnx)")
    parser.add_argument("--opset", type=int, default=None, help="ONNX opset (default: the backend's)")
    parser.add_argument(
        "--external-data",
        action="store_true",
        help="ONNX: weights in model.onnx_data beside model.onnx (always past 2 GB of weights)",
    )
    parser.add_argument("--atol", type=float, default=None, help="validation tolerance (default: the task's)")
    parser.add_argument("--no-validate", action="store_true", help="skip validation against PyTorch")
    parser.add_argument("--force", action="store_true", help="replace an existing output folder")
    parser.add_argument("--keep-failed", action="store_true", help="keep the artifact when validation fails")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irc.api import export
    from irc.errors import ValidationError
    from irc.progress import Progress

    try:
        result = export(
            args.model,
            args.task,
            args.output,
            backend=args.backend,
            opset=args.opset,
            external_data=args.external_data,
            atol=args.atol,
            passes=args.passes,
            batch_size=args.batch_size,
            sequence_length=args.sequence_length,
            validate=not args.no_validate,
            debug_passes=args.debug_passes,
            force=args.force,
            keep_failed=args.keep_failed,
            progress=Progress(),
        )
    except ValidationError as exc:
        report = getattr(exc, "report", None)
        if report is not None:
            print(report.format())
        raise
    if result.report is not None:
        print(result.report.format())
    print(f"Model saved at: {result.artifact}")
    return 0
