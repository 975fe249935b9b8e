"""What an export is asked to do, checked before anything is loaded: the backend and its typed
options, the pipeline (and that it ensures what the backend requires), the dtype and tolerance."""

from __future__ import annotations

import dataclasses
from typing import Any

from irc.backends.base import Backend
from irc.errors import IrcError
from irc.exporter.plan import Tolerance

FLAGS = {
    "opset": "--opset",
    "external_data": "--external-data",
    "ort_fusions": "--ort-fusions",
    "buckets": "--buckets",
    "target": "--target",
    "batch": "--batch-size",
}
"""Option field -> the `irc export` flag (and `irc.export` argument) that sets it."""
OWNERS = {
    "opset": "onnx",
    "external_data": "onnx",
    "ort_fusions": "onnx",
    "buckets": "neuron",
    "target": "neuron",
}
"""Which of irc's backends takes a flag's option, for the error when another is chosen."""


def resolve_backend(spec: str, flags: dict[str, Any]) -> tuple[Backend, Any]:
    """The backend named by `spec` (`onnx` or `onnx{opset=18}`) and its options: the spec's,
    overridden by the flags given (None: not given). A flag the backend has no option for is an
    IrcError naming the backend that takes it."""
    from irc.backends import get_backend
    from irc.backends.options import split_spec

    name, text = split_spec(spec)
    backend = get_backend(name)
    backend.check_interface()
    options = backend.parse_options(text)
    given = {k: v for k, v in flags.items() if v is not None}
    fields = {f.name for f in dataclasses.fields(options)}
    foreign = [k for k in given if k not in fields and k != "batch"]
    if foreign:
        owner = OWNERS.get(foreign[0], "another")
        shown = " and ".join(FLAGS[k] for k in foreign)
        verb = "is an option" if len(foreign) == 1 else "are options"
        raise IrcError(
            f"{shown} {verb} of the {owner} backend (--backend {owner}), not of the {name} backend."
        )
    values = {**dataclasses.asdict(options), **{k: v for k, v in given.items() if k in fields}}
    return backend, backend.make_options(**values)


def with_dtype(
    pipeline: str, dtype: str | None, backend: Backend, atol: float | None
) -> tuple[str, Tolerance]:
    """`pipeline` with `convert-dtype{dtype=...}` appended, and the tolerance to validate at:
    `atol` when given, else the dtype's (`irc.passes.convert_dtype.ATOL`)."""
    from irc.passes.convert_dtype import ATOL

    if dtype is None or dtype == "float32":
        return pipeline, Tolerance(atol, "" if atol is None else "--atol")
    if dtype not in ATOL:
        raise IrcError(f"--dtype {dtype!r} is not one of float32, {', '.join(ATOL)}.")
    if backend.name == "neuron":
        raise IrcError(
            "--dtype is not supported by the neuron backend yet; neuron-cc casts itself (--auto-cast)."
        )
    if dtype == "bfloat16" and backend.name == "onnx":
        raise IrcError(
            "--dtype bfloat16 --backend onnx: ONNX Runtime's CPU provider has no bfloat16 kernel for "
            "most ops (not even Add), so the artifact could not be run or validated. "
            "Use --backend torchscript for bfloat16, or --dtype float16 for ONNX."
        )
    pipeline = ",".join(filter(None, [pipeline, f"convert-dtype{{dtype={dtype}}}"]))
    if atol is not None:
        return pipeline, Tolerance(atol, "--atol")
    return pipeline, Tolerance(ATOL[dtype], f"--dtype {dtype}")


def check_pipeline(pipeline: str, backend: Backend, options: Any) -> None:
    """Parse `pipeline` and have the pass manager check that it ensures what `backend` requires,
    before the slow load and trace. A bucketed backend's own `pad-static` runs first on each bucket."""
    from irc.passes import PassManager

    buckets = backend.bucket_sizes(options)
    text = backend.bucket_pipeline(buckets[0], pipeline) if buckets else pipeline
    PassManager(text).check_requirements(
        backend.requires,
        f"the {backend.name} backend",
        advice=f"Add the pass that ensures it (the backend's default pipeline is "
        f"{backend.pipeline(options)!r}), or leave --passes out.",
    )


QUANTIZE = ("int4", "int8")
"""`--quantize` values."""
GENERATIVE_TASKS = ("causal-lm", "causal-lm-with-past", "seq2seq-lm", "seq2seq-lm-with-past")
"""Tasks whose int8 is block-wise (MatMulNBits, as for int4); the others get int8 dynamic."""


def check_quantize(
    quantize: str | None, quality: Any, backend: Backend, dtype: str | None, atol: float | None, pipeline: str
) -> None:
    """Refuse a `--quantize` the export cannot honour, a `--quality` it cannot read or would not
    use, and an `--atol` it would not use, before the model is loaded."""
    from irc.validate.measures import Quality

    Quality.parse(quality)
    quantizes = quantize is not None or "quantize-" in pipeline
    if quality is not None and not quantizes:
        raise IrcError(
            "--quality sets the thresholds of a quantized export's task measures; add --quantize int4|int8 "
            "(or a quantize pass to --passes), or leave --quality out."
        )
    if quantize is None:
        return
    if quantize not in QUANTIZE:
        raise IrcError(f"--quantize {quantize!r} is not one of {', '.join(QUANTIZE)}.")
    if backend.name != "onnx":
        raise IrcError(
            f"--quantize {quantize} needs --backend onnx: the quantized matmuls lower to ONNX Runtime's "
            f"MatMulNBits / DynamicQuantizeMatMul kernels, which the {backend.name} backend has no form "
            "for. Export to ONNX, or leave --quantize out."
        )
    if dtype not in (None, "float32"):
        raise IrcError(
            f"--quantize {quantize} with --dtype {dtype}: the quantized matmuls read float32 "
            "activations; leave --dtype out."
        )
    if atol is not None:
        raise IrcError(
            f"--quantize {quantize} is validated on task measures, not on an atol; set their thresholds "
            "with --quality (e.g. --quality min_top1=0.9,min_cosine=0.99) instead of --atol."
        )


def quantize_pass(quantize: str, task: str) -> str:
    """The pass `--quantize` adds for `task`: int4, block-wise int8 for generative tasks (an int8
    language-model head either way), int8 dynamic (per-channel weights) for the others."""
    if quantize == "int4":
        return "quantize-weights{bits=4}"
    if task in GENERATIVE_TASKS:
        return "quantize-weights{bits=8}"
    return "quantize-dynamic"
