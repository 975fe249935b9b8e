"""`irc export`: trace, run the pipeline, lower, validate, write the artifact folder."""

from __future__ import annotations

import argparse

from irc.cli.common import add_model_arguments, trace_arguments


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("export", help="export a model to a validated artifact folder")
    add_model_arguments(parser)
    parser.add_argument("output", help="artifact folder to write (created; must not exist unless --force)")
    parser.add_argument(
        "--backend",
        "-b",
        default="onnx",
        help='target backend (default onnx), its options written like a pass\'s: "onnx{opset=17,external_data=true}"',
    )
    parser.add_argument("--opset", type=int, default=None, help="ONNX opset (default: the backend's)")
    parser.add_argument(
        "--external-data",
        action="store_true",
        help="ONNX: weights in model.onnx_data beside model.onnx (always past 2 GB of weights)",
    )
    parser.add_argument(
        "--ort-fusions",
        action="store_true",
        help="ONNX: fuse into ONNX Runtime's com.microsoft ops (FastGelu, BiasGelu, MultiHeadAttention; "
        "GroupQueryAttention, RotaryEmbedding, SkipSimplifiedLayerNormalization for decoders); runs only in ORT",
    )
    parser.add_argument("--atol", type=float, default=None, help="validation tolerance (default: the task's)")
    parser.add_argument(
        "--dtype",
        default=None,
        choices=("float32", "float16", "bfloat16"),
        help="convert weights and compute to this dtype (inputs/outputs stay float32); "
        "validates at the dtype's atol: float16 2e-2, bfloat16 1.6e-1",
    )
    parser.add_argument(
        "--quantize",
        default=None,
        choices=("int4", "int8"),
        help="ONNX: int4 or int8 weights (MatMulNBits; int8 dynamic for encoders), validated on task measures",
    )
    parser.add_argument(
        "--quality",
        default=None,
        help="thresholds of a quantized export's measures, e.g. min_top1=0.9,max_kl=0.2,min_greedy=4,min_cosine=0.99",
    )
    parser.add_argument("--no-validate", action="store_true", help="skip validation against PyTorch")
    parser.add_argument("--force", action="store_true", help="replace an existing output folder")
    parser.add_argument("--keep-failed", action="store_true", help="keep the artifact when validation fails")
    parser.add_argument(
        "--buckets",
        type=bucket_list,
        default=None,
        help="neuron: sequence lengths, one static artifact each (default 128), e.g. 32,128",
    )
    parser.add_argument(
        "--target",
        default=None,
        choices=("inf1", "inf2", "trn1"),
        help="neuron: device to compile for (default inf2)",
    )
    # None: the backend's default (2 to trace with; the neuron backend's static batch is 1).
    parser.set_defaults(run=run, batch_size=None)


def bucket_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of lengths") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give positive lengths, e.g. 32,128")
    return values


def run(args: argparse.Namespace) -> int:
    from irc.api import export
    from irc.errors import IrcError
    from irc.progress import Progress

    try:
        result = export(
            args.model,
            args.task,
            args.output,
            backend=args.backend,
            opset=args.opset,
            external_data=args.external_data,
            ort_fusions=args.ort_fusions,
            atol=args.atol,
            passes=args.passes,
            validate=not args.no_validate,
            debug_passes=args.debug_passes,
            force=args.force,
            keep_failed=args.keep_failed,
            progress=Progress(),
            buckets=args.buckets,
            neuron_target=args.target,
            dtype=args.dtype,
            quantize=args.quantize,
            quality=args.quality,
            **trace_arguments(args),
        )
    except IrcError as exc:  # a failed validation, or an artifact written but not compiled
        report = getattr(exc, "report", None)
        if report is not None:
            print(report.format())
        raise
    if result.report is not None:
        print(result.report.format())
    neuron = result.manifest.get("neuron")
    if neuron:
        print(f"Operator report ({neuron['target']}): {result.output / neuron['report']}")
    for path in result.artifacts.values() or [result.artifact]:
        print(f"Model saved at: {path}")
    return 0
