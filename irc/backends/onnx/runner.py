"""Running an ONNX artifact in ONNX Runtime on CPU, tensors in and out by name."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from irc.backends.base import Runner
from irc.errors import BackendError

if TYPE_CHECKING:
    import torch


class OnnxRunner(Runner):
    """An onnxruntime.InferenceSession on the CPU execution provider.

    `intra_op_threads=0` keeps ONNX Runtime's default (one thread per physical core).
    """

    def __init__(self, path: Path, intra_op_threads: int = 0) -> None:
        super().__init__()
        self.path = Path(path)
        self.intra_op_threads = intra_op_threads
        self.session: Any = None

    def activate(self) -> None:
        import onnxruntime as ort

        if not self.path.is_file():
            raise BackendError(f"{self.path} does not exist; run the ONNX backend's lower() first.")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.intra_op_threads
        options.log_severity_level = 3
        # Pre-packing keeps a second, re-laid-out copy of each Gemm/MatMul weight beside the
        # original when the model embeds its weights; this runner serves validation, where memory
        # matters more than speed, and packing per call computes the same products.
        options.add_session_config_entry("session.disable_prepacking", "1")
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise BackendError(f"ONNX Runtime cannot load {self.path}: {exc}") from exc

    def infer(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        import torch

        wanted = [i.name for i in self.session.get_inputs()]
        missing = [name for name in wanted if name not in inputs]
        if missing:
            raise BackendError(f"no value given for input(s) {', '.join(missing)} of {self.path}.")
        feed = {name: _to_numpy(name, inputs[name]) for name in wanted}
        names = [o.name for o in self.session.get_outputs()]
        results = self.session.run(names, feed)
        return {name: torch.from_numpy(result) for name, result in zip(names, results, strict=True)}

    def deactivate(self) -> None:
        self.session = None


def _to_numpy(name: str, value: Any) -> Any:
    import numpy as np
    import torch

    if not isinstance(value, torch.Tensor):
        return np.asarray(value)
    if value.dtype == torch.bfloat16:
        raise BackendError(f"input {name} is bfloat16, which ONNX Runtime's Python API cannot take.")
    return value.detach().to("cpu").contiguous().numpy()
