"""Running an ONNX artifact in ONNX Runtime on CPU, tensors in and out by name."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from irc.backends.base import Runner
from irc.backends.onnx.mapped import folder_option, in_place
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
        # Activations freed after each run instead of kept in an arena sized for the largest
        # case (12 MB off GPT-2's validation peak).
        options.enable_cpu_mem_arena = False
        # The weights mapped from the artifact file rather than copied out of its protobuf
        # (irc.backends.onnx.mapped): BERT-base's session then costs 70 MB instead of 518 MB
        # until it runs, and the weights' pages stay reclaimable file pages after.
        options.add_session_config_entry(*folder_option(self.path))
        try:
            model = in_place(self.path)
        except (OSError, ValueError) as exc:
            raise BackendError(f"{self.path} is not a readable ONNX file: {exc}") from exc
        try:
            self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
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
