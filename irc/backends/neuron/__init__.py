"""The Neuron backend (AWS Inferentia / Trainium): static shapes in buckets, an operator report,
and the compile step through the Neuron SDK where it is installed.

    >>> backend = NeuronBackend()
    >>> options = backend.parse_options("target=inf2,buckets=32|128")
    >>> backend.bucket_pipeline({"batch": 1, "sequence": 32})
    'pad-static{batch=1,sequence=32},untie-weights,simplify,dce,cse,fold-constants'
    >>> backend.lower({"sequence-32": g32, "sequence-128": g128}, out_dir, options)
    >>> backend.compile(out_dir, options)   # NeuronSdkMissing (exit 2) where the SDK won't import
    >>> with backend.load(out_dir) as runner:   # pads to the smallest bucket that fits
    ...     runner.run(inputs)["logits"]

The folder holds one static TorchScript per bucket (`sequence-32/model.pt`, written by the
TorchScript backend's code generation), `neuron.json` (buckets, input axes and pad values, the
target and what was compiled), and the operator report (`op-report.json`, `op-report.txt`).
Compiling adds `model.neuron.pt` beside each `model.pt`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from irc.backends.base import Backend, NotCompiled, Runner
from irc.backends.neuron.runner import MANIFEST
from irc.errors import BackendError, LoweringError

if TYPE_CHECKING:
    from irc.backends.neuron.report import OpEntry
    from irc.ir.core import Graph

REPORT_JSON = "op-report.json"
REPORT_TEXT = "op-report.txt"
DEFAULT_TARGET = "inf2"
DEFAULT_BUCKETS = (128,)


@dataclass(frozen=True)
class NeuronOptions:
    target: str = DEFAULT_TARGET
    """The device to compile for: inf1 (torch-neuron), inf2 or trn1 (torch-neuronx)."""
    buckets: tuple[int, ...] = DEFAULT_BUCKETS
    """Sequence lengths, one static artifact each (`buckets=32|128`)."""
    batch: int = 1
    """The static batch size of every bucket."""

    def __post_init__(self) -> None:
        from irc.backends.neuron.report import load_list

        load_list(self.target)  # an unknown target fails when the options are made, before tracing
        bad = [b for b in self.buckets if not isinstance(b, int) or isinstance(b, bool) or b < 1]
        if not self.buckets or bad:
            raise BackendError(
                f"--buckets takes positive sequence lengths, e.g. --buckets 32,128; got {list(self.buckets)!r}."
            )
        if not isinstance(self.batch, int) or isinstance(self.batch, bool) or self.batch < 1:
            raise BackendError(f"--batch-size must be a positive integer, got {self.batch!r}.")


class NeuronBackend(Backend):
    """Static TorchScript per --buckets length (sequence-N/model.pt), an operator report against
    the Neuron SDK's lists, compiled with torch_neuron(x).trace when the SDK imports."""

    name = "neuron"
    label = "Neuron"
    Options = NeuronOptions
    requires = frozenset({"static-shapes", "untied"})
    default_pipeline = "untie-weights,simplify,dce,cse,fold-constants"
    """Run on each bucket's copy of the graph after `pad-static` (see `bucket_pipeline`)."""

    def supported_ops(self) -> set[str]:
        from irc.backends.torchscript import TorchScriptBackend

        return TorchScriptBackend().supported_ops()

    def bucket_sizes(self, options: NeuronOptions) -> list[dict[str, int]]:
        return [{"batch": options.batch, "sequence": length} for length in sorted(set(options.buckets))]

    def check(self, graph: Graph) -> None:
        """Static shapes, then the TorchScript backend's checks (ops it lowers, no ties left)."""
        from irc.backends.torchscript import TorchScriptBackend
        from irc.passes.manager import graph_properties

        if "static-shapes" not in graph_properties(graph):
            raise LoweringError(
                "the neuron backend takes static shapes, but the graph has symbolic dims; put "
                "pad-static{batch=B,sequence=S} first in the pipeline."
            )
        TorchScriptBackend().check(graph)

    def lower(self, graphs: Mapping[str, Graph], out_dir: Path, options: NeuronOptions) -> dict[str, Path]:
        """Write each static graph (made by pad-static, one per bucket) as `<name>/model.pt`, the
        operator report of every graph and `neuron.json`, which the padding runner reads as the
        one model `model`; return `{"model": neuron.json}`. What the runner pads each input
        with comes from the graphs' `pad_values` metadata (default 0)."""
        from irc.backends.neuron.report import format_report, load_list
        from irc.backends.torchscript import TorchScriptBackend

        out_dir = Path(out_dir)
        sdk = load_list(options.target)
        if not graphs:
            raise BackendError("the neuron backend needs at least one bucket graph to lower.")
        buckets, reports = [], []
        for name, graph in graphs.items():
            self.check(graph)
            sizes = dict((graph.metadata.get("pad_static") or {}).get("sizes") or {})
            (out_dir / name).mkdir()
            TorchScriptBackend().lower({"model": graph}, out_dir / name, None)
            buckets.append({"name": name, "sizes": sizes, "model": f"{name}/model.pt", "compiled": None})
            reports.append((name, _report(graph, sdk)))
        _write_report(out_dir, options.target, sdk, reports)
        (out_dir / REPORT_TEXT).write_text(format_report(options.target, sdk, reports))
        first = next(iter(graphs.values()))
        manifest = {
            "target": options.target,
            "sdk_package": sdk.package,
            "buckets": buckets,
            "inputs": _inputs(first, first.metadata.get("pad_values") or {}),
            "outputs": _outputs(first),
            "report": REPORT_TEXT,
        }
        path = out_dir / MANIFEST
        path.write_text(json.dumps(manifest, indent=1) + "\n")
        return {"model": path}

    def compile(self, out_dir: Path, options: Any = None) -> list[Path]:
        """Compile every bucket with the target's SDK (imported now); records the compiled files
        in `neuron.json`. NeuronSdkMissing when the SDK does not import."""
        from irc.backends.neuron.compile import compile_model, import_sdk

        path = Path(out_dir) / MANIFEST
        manifest = json.loads(path.read_text())
        sdk = import_sdk(manifest["sdk_package"])
        outputs = list(manifest["outputs"])
        compiled = []
        for bucket in manifest["buckets"]:
            example = _example_inputs(manifest["inputs"], bucket["sizes"])
            file = compile_model(sdk, Path(out_dir) / bucket["model"], outputs, example)
            bucket["compiled"] = str(file.relative_to(out_dir))
            compiled.append(file)
        path.write_text(json.dumps(manifest, indent=1) + "\n")
        return compiled

    def not_compiled(self, error: NotCompiled, out_dir: Path, validated: bool) -> NotCompiled:
        from irc.backends.neuron.compile import NeuronSdkMissing

        if not isinstance(error, NeuronSdkMissing):
            return error
        buckets = json.loads((Path(out_dir) / MANIFEST).read_text())["buckets"]
        written = ", ".join(b["model"] for b in buckets)
        checked = "validated on the CPU through the padding runner, " if validated else ""
        return NeuronSdkMissing(
            f"the static artifacts ({written}) and the operator report ({REPORT_TEXT}) were written to "
            f"{out_dir} and {checked}but not compiled: {error}",
            error.package,
            error.reason,
        )

    def manifest(self, out_dir: Path) -> dict[str, Any]:
        """The buckets and what was compiled, from `neuron.json`."""
        neuron = json.loads((Path(out_dir) / MANIFEST).read_text())
        return {
            "buckets": neuron["buckets"],
            "neuron": {
                "target": neuron["target"],
                "sdk_package": neuron["sdk_package"],
                "compiled": all(b["compiled"] for b in neuron["buckets"]),
                "report": neuron["report"],
            },
        }

    def load(self, out_dir: Path, name: str = "model") -> Runner:
        """The padding runner over every bucket: the folder is one model, `model`."""
        from irc.backends.neuron.runner import PaddingRunner

        return PaddingRunner(Path(out_dir))


def bucket_name(sizes: dict[str, int]) -> str:
    """`sequence-32` (the batch is the same in every bucket of an export), or `batch-1`."""
    parts = [f"{k}-{v}" for k, v in sizes.items() if k != "batch"]
    return "_".join(parts) if parts else f"batch-{sizes.get('batch', 'static')}"


def _report(graph: Graph, sdk: Any) -> list[OpEntry]:
    from irc.backends.neuron.report import check_graph

    return check_graph(graph, sdk)


def _write_report(out_dir: Path, target: str, sdk: Any, reports: list[tuple[str, list[OpEntry]]]) -> None:
    data = {
        "target": target,
        "sdk": {"package": sdk.package, "version": sdk.sdk_version, "url": sdk.url},
        "unsupported_means": sdk.unsupported_means,
        "buckets": [
            {
                "name": name,
                "supported": sum(e.supported for e in entries),
                "unsupported": sum(not e.supported for e in entries),
                "ops": [e.to_dict() for e in entries],
            }
            for name, entries in reports
        ],
    }
    (out_dir / REPORT_JSON).write_text(json.dumps(data, indent=1) + "\n")


def _axes(type_text: str) -> list[Any] | None:
    """`"f32[batch, sequence, 99]"` -> `["batch", "sequence", 99]`; None for a scalar."""
    if "[" not in type_text:
        return None
    inside = type_text[type_text.index("[") + 1 : type_text.rindex("]")]
    if not inside.strip():
        return []
    return [int(d) if d.strip().isdigit() else d.strip() for d in inside.split(",")]


def _signature(graph: Graph) -> dict[str, dict[str, str]]:
    """The symbolic types pad-static recorded, else the graph's own (static) types."""
    recorded = graph.metadata.get("pad_static") or {}
    return {
        "inputs": dict(recorded.get("inputs") or {v.name: str(v.type) for v in graph.inputs}),
        "outputs": dict(recorded.get("outputs") or {v.name: str(v.type) for v in graph.outputs}),
    }


def _inputs(graph: Graph, pad_values: dict[str, float]) -> dict[str, Any]:
    types = _signature(graph)["inputs"]
    return {
        name: {"type": text, "axes": _axes(text), "pad": pad_values.get(name, 0)}
        for name, text in types.items()
    }


def _outputs(graph: Graph) -> dict[str, Any]:
    return {name: _axes(text) for name, text in _signature(graph)["outputs"].items()}


def _example_inputs(inputs: dict[str, Any], sizes: dict[str, int]) -> list[Any]:
    """Zeros at a bucket's sizes, in call order, for the SDK's trace: a static trace records
    shapes, not values, and 0 is a valid id and token type for every model."""
    import torch

    dtypes = {"i64": torch.int64, "i32": torch.int32, "f32": torch.float32, "bool": torch.bool}
    out = []
    for spec in inputs.values():
        shape = [sizes[a] if isinstance(a, str) else a for a in spec["axes"]]
        out.append(torch.zeros(shape, dtype=dtypes.get(spec["type"].split("[")[0], torch.float32)))
    return out
