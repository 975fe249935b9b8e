"""The ONNX backend: lowers a Graph to `model.onnx` and runs it in ONNX Runtime.

    >>> backend = OnnxBackend()
    >>> path = backend.lower(graph, out_dir, opset=18)      # out_dir/model.onnx
    >>> with backend.load(out_dir) as runner:
    ...     runner.run(inputs)["logits"]

Options of `lower`: `opset` (default 18; 15 to the newest onnx knows), `external_data`
(weights in `model.onnx_data`; forced on when the weights pass the 2 GB protobuf limit) and
`ort_fusions` (let the `ort-fusions` pass's ops lower to ONNX Runtime's `com.microsoft` kernels;
such a model runs only in ONNX Runtime; `ort_pipeline` is the pipeline that goes with it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from irc.backends.base import Backend, Runner
from irc.errors import BackendError

if TYPE_CHECKING:
    from irc.ir.core import Graph

DEFAULT_OPSET = 18
MIN_OPSET = 15
PROTOBUF_LIMIT = 2**31 - 2**26
"""Past this many bytes of weights the model cannot be one protobuf (2 GB, less room for the graph)."""


class OnnxBackend(Backend):
    """ONNX model (model.onnx) with named dynamic dims, run in ONNX Runtime."""

    name = "onnx"
    default_pipeline = "simplify,dce,cse,fold-constants"
    default_opset = DEFAULT_OPSET
    ort_pipeline = default_pipeline + ",fuse-gelu,ort-fusions"
    """The default pipeline with the rewrites into com.microsoft ops (`ort_fusions=True`)."""

    def supported_ops(self) -> set[str]:
        from irc.backends.onnx.registry import lowerings

        return set(lowerings())

    def lower(self, graph: Graph, out_dir: Path, **options: Any) -> Path:
        """Write `out_dir/model.onnx` (and `model.onnx_data` for external weights; option `name`
        changes the file stem, for multi-model exports such as `decoder_model.onnx`), checked with
        `onnx.checker.check_model(full_check=True)`; return the model's path."""
        from irc.backends.onnx.translate import save, translate, weight_bytes

        name = options.pop("name", "model")
        opset, external, ort_fusions = _options(options)
        self.check(graph)
        model, weights = translate(graph, opset, ort_fusions)
        big = external or weight_bytes(weights) > PROTOBUF_LIMIT
        return save(model, weights, Path(out_dir), big, name)

    def load(self, out_dir: Path, name: str = "model") -> Runner:
        from irc.backends.onnx.runner import OnnxRunner

        return OnnxRunner(Path(out_dir) / f"{name}.onnx")


def _options(options: dict[str, Any]) -> tuple[int, bool, bool]:
    import onnx

    known = {"opset", "external_data", "ort_fusions"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise BackendError(
            f"unknown option(s) {', '.join(unknown)} for the onnx backend; it takes: opset, external_data, ort_fusions."
        )
    opset = int(options.get("opset", DEFAULT_OPSET))
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise BackendError(
            f"opset {opset} is outside what the onnx backend supports ({MIN_OPSET} to {newest}): its "
            f"lowerings use opset-{MIN_OPSET} forms such as Shape with start and end, and the installed "
            f"onnx knows opsets up to {newest}. Pass --opset {MIN_OPSET} to {newest}."
        )
    return opset, bool(options.get("external_data", False)), bool(options.get("ort_fusions", False))
