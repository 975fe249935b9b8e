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
