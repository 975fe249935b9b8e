"""The Neuron backend (AWS Inferentia / Trainium): static shapes in buckets, an operator report,
and the compile step through the Neuron SDK where it is installed.

    >>> backend = NeuronBackend()
    >>> backend.bucket_pipeline({"batch": 1, "sequence": 32})
    'pad-static{batch=1,sequence=32},untie-weights,dce,cse,fold-constants'
    >>> backend.lower_buckets([g32, g128], out_dir, target="inf2", pad_values={"input_ids": 0})
    >>> backend.compile(out_dir)          # NeuronSdkMissing (exit 2) where the SDK won't import
    >>> with backend.load(out_dir) as runner:   # pads to the smallest bucket that fits
    ...     runner.run(inputs)["logits"]

The folder holds one static TorchScript per bucket (`sequence-32/model.pt`, written by the
TorchScript backend's code generation), `neuron.json` (buckets, input axes and pad values, the
target and what was compiled), and the operator report (`op-report.json`, `op-report.txt`).
Compiling adds `model.neuron.pt` beside each `model.pt`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from irc.backends.base import Backend, Runner
from irc.backends.neuron.runner import MANIFEST
from irc.errors import BackendError, LoweringError

if TYPE_CHECKING:
    from irc.backends.neuron.report import OpEntry
    from irc.ir.core import Graph

REPORT_JSON = "op-report.json"
REPORT_TEXT = "op-report.txt"
DEFAULT_TARGET = "inf2"


class NeuronBackend(Backend):
    name = "neuron"
    default_pipeline = "untie-weights,dce,cse,fold-constants"
    """Run on each bucket's copy of the graph after `pad-static` (see `bucket_pipeline`)."""

    def supported_ops(self) -> set[str]:
        from irc.backends.torchscript import TorchScriptBackend

        return TorchScriptBackend().supported_ops()

    def bucket_pipeline(self, sizes: dict[str, int], pipeline: str | None = None) -> str:
        """`pad-static` at `sizes`, then `pipeline` (default: the backend's)."""
        from irc.passes.pad_static import PadStatic

        rest = self.default_pipeline if pipeline is None else pipeline
        if "pad-static" in rest:
            raise BackendError(
                "the neuron backend runs pad-static itself, once per bucket; leave it out of --passes "
                "and give the sizes with --buckets and --batch-size."
            )
        pad = PadStatic(**sizes)  # type: ignore[arg-type]
        options = ",".join(f"{k}={v}" for k, v in sizes.items())
        text = f"{pad.name}{{{options}}}"
        return f"{text},{rest}" if rest else text

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

    def lower(self, graph: Graph, out_dir: Path, **options: Any) -> Path:
        """One static graph as a one-bucket artifact; see `lower_buckets` for the options."""
        unknown = sorted(set(options) - {"target", "pad_values"})
        if unknown:
            raise BackendError(
                f"unknown option(s) {', '.join(unknown)} for the neuron backend; it takes target and pad_values."
            )
        return self.lower_buckets([graph], out_dir, **options)

    def lower_buckets(
        self,
        graphs: list[Graph],
        out_dir: Path,
        *,
        target: str = DEFAULT_TARGET,
        pad_values: dict[str, float] | None = None,
    ) -> Path:
        """Write each static graph (made by pad-static, one per bucket) as `<bucket>/model.pt`,
        the operator report of every graph and `neuron.json`; return the path of `neuron.json`."""
        from irc.backends.neuron.report import format_report, load_list
        from irc.backends.torchscript import TorchScriptBackend

        out_dir = Path(out_dir)
        sdk = load_list(target)
        if not graphs:
            raise BackendError("the neuron backend needs at least one bucket graph to lower.")
        buckets, reports = [], []
        for graph in graphs:
            self.check(graph)
            sizes = dict((graph.metadata.get("pad_static") or {}).get("sizes") or {})
            name = bucket_name(sizes)
            (out_dir / name).mkdir()
            TorchScriptBackend().lower(graph, out_dir / name)
            buckets.append({"name": name, "sizes": sizes, "model": f"{name}/model.pt", "compiled": None})
            reports.append((name, _report(graph, sdk)))
        if len({b["name"] for b in buckets}) != len(buckets):
            raise BackendError(f"two buckets have the same sizes: {[b['name'] for b in buckets]}")
        _write_report(out_dir, target, sdk, reports)
        (out_dir / REPORT_TEXT).write_text(format_report(target, sdk, reports))
        manifest = {
            "target": target,
            "sdk_package": sdk.package,
            "buckets": buckets,
            "inputs": _inputs(graphs[0], pad_values or {}),
            "outputs": _outputs(graphs[0]),
            "report": REPORT_TEXT,
        }
        path = out_dir / MANIFEST
        path.write_text(json.dumps(manifest, indent=1) + "\n")
        return path

    def compile(self, out_dir: Path) -> list[Path]:
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

    def load(self, out_dir: Path) -> Runner:
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
