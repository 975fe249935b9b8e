"""The ONNX backend: lowers each named Graph to `<name>.onnx` and runs it in ONNX Runtime.

    >>> backend = OnnxBackend()
    >>> files = backend.lower({"model": graph}, out_dir, OnnxOptions(opset=18))   # model.onnx
    >>> with backend.load(out_dir, "model") as runner:
    ...     runner.run(inputs)["logits"]

Options (`onnx{opset=18,external_data=true}`): `opset` (15 to the newest onnx knows),
`external_data` (weights in `<name>.onnx_data`; forced on when the weights pass the 2 GB
protobuf limit) and `ort_fusions` (let the `ort-fusions` pass's ops lower to ONNX Runtime's
`com.microsoft` kernels; such a model runs only in ONNX Runtime, and the default pipeline becomes
`ort_pipeline`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from irc.backends.base import Backend, Runner
from irc.errors import BackendError

if TYPE_CHECKING:
    from irc.ir.core import Graph

DEFAULT_OPSET = 18
MIN_OPSET = 15
PROTOBUF_LIMIT = 2**31 - 2**26
"""Past this many bytes of weights the model cannot be one protobuf (2 GB, less room for the graph)."""


@dataclass(frozen=True)
class OnnxOptions:
    opset: int = DEFAULT_OPSET
    """The default-domain opset the model imports (15 to the newest the installed onnx knows)."""
    external_data: bool = False
    """Weights in `<name>.onnx_data` beside the model (always past 2 GB of weights)."""
    ort_fusions: bool = False
    """Lower the `ort-fusions` pass's ops to ONNX Runtime's com.microsoft kernels (ORT only)."""

    def __post_init__(self) -> None:
        _check_opset(self.opset)  # when the options are made, before anything is traced


class OnnxBackend(Backend):
    """ONNX model (model.onnx) with named dynamic dims, run in ONNX Runtime."""

    name = "onnx"
    label = "ONNX"
    Options = OnnxOptions
    default_pipeline = "simplify,dce,cse,fold-constants"
    default_opset = DEFAULT_OPSET
    ort_pipeline = (
        default_pipeline + ",fuse-gelu,ort-norm,ort-rotary,ort-gqa,ort-fusions,pack-projections,dce"
    )
    """The default pipeline with the rewrites into com.microsoft ops (`ort_fusions=True`)."""

    def pipeline(self, options: OnnxOptions) -> str:
        return self.ort_pipeline if options.ort_fusions else self.default_pipeline

    def supported_ops(self) -> set[str]:
        from irc.backends.onnx.registry import lowerings

        return set(lowerings())

    def lower(self, graphs: Mapping[str, Graph], out_dir: Path, options: OnnxOptions) -> dict[str, Path]:
        """Write `out_dir/<name>.onnx` per graph (and `<name>.onnx_data` for external weights),
        each checked with `onnx.checker.check_model(full_check=True)`; return their paths."""
        from irc.backends.onnx.translate import save, translate, weight_bytes

        for graph in graphs.values():
            self.check(graph)
        files = {}
        for name, graph in graphs.items():
            model, weights = translate(graph, options.opset, options.ort_fusions)
            big = options.external_data or weight_bytes(weights) > PROTOBUF_LIMIT
            files[name] = save(model, weights, Path(out_dir), big, name)
        return files

    def load(self, out_dir: Path, name: str = "model") -> Runner:
        from irc.backends.onnx.runner import OnnxRunner

        return OnnxRunner(Path(out_dir) / f"{name}.onnx")


def _check_opset(opset: int) -> None:
    import onnx

    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise BackendError(
            f"opset {opset} is outside what the onnx backend supports ({MIN_OPSET} to {newest}): its "
            f"lowerings use opset-{MIN_OPSET} forms such as Shape with start and end, and the installed "
            f"onnx knows opsets up to {newest}. Pass --opset {MIN_OPSET} to {newest}."
        )
