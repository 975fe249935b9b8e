"""Running a TorchScript artifact with `torch.jit.load` only, tensors in and out by name.

This module imports torch and irc's backend base, nothing else: the artifact runs in a process
that has never imported transformers (or irc's frontend), which a test checks. Without irc at
all, the same file loads as

    >>> module = torch.jit.load("model.pt")
    >>> module(input_ids, attention_mask)["logits"]      # inputs in graph order

with the input and output names in the `irc_signature.json` extra file.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from irc.backends.base import Runner
from irc.errors import BackendError

if TYPE_CHECKING:
    import torch

MODEL_FILE = "model.pt"
SIGNATURE_FILE = "irc_signature.json"
"""Extra file of `model.pt`: `{"inputs": [{"name", "type"}...], "outputs": [...]}` in call order."""
SOURCE_FILE = "irc_module.py"
"""Extra file of `model.pt`: the Python source irc generated and scripted, for reading."""


@contextmanager
def quiet_jit() -> Iterator[None]:
    """Silence the DeprecationWarning torch (2.13) gives on every torch.jit.script/save/load
    call: whoever asked for this backend chose TorchScript, and the warning says nothing else."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"`torch\.jit\.\w+` is deprecated", DeprecationWarning)
        yield


class TorchScriptRunner(Runner):
    """A `torch.jit.load`ed module on the CPU; runs under `torch.no_grad()`."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.module: Any = None
        self.input_names: list[str] = []
        self.output_names: list[str] = []

    def activate(self) -> None:
        import torch

        if not self.path.is_file():
            raise BackendError(f"{self.path} does not exist; run the TorchScript backend's lower() first.")
        extra = {SIGNATURE_FILE: ""}
        try:
            with quiet_jit():
                self.module = torch.jit.load(str(self.path), map_location="cpu", _extra_files=extra)
        except Exception as exc:  # torch.jit.load raises RuntimeError and its own C++ errors
            raise BackendError(f"torch.jit.load cannot load {self.path}: {exc}") from exc
        if not extra[SIGNATURE_FILE]:
            raise BackendError(
                f"{self.path} has no {SIGNATURE_FILE}; it was not written by irc's TorchScript backend."
            )
        signature = json.loads(extra[SIGNATURE_FILE])
        self.input_names = [i["name"] for i in signature["inputs"]]
        self.output_names = [o["name"] for o in signature["outputs"]]

    def infer(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        import torch

        missing = [name for name in self.input_names if name not in inputs]
        if missing:
            raise BackendError(f"no value given for input(s) {', '.join(missing)} of {self.path}.")
        with torch.no_grad():
            results = self.module(*(inputs[name] for name in self.input_names))
        return {name: results[name] for name in self.output_names}

    def deactivate(self) -> None:
        self.module = None
