"""The compile step: each bucket's static TorchScript through the Neuron SDK's `trace`.

The SDK is imported here, inside functions, and only when compiling: irc never needs it to
export, validate or report. It is not on PyPI (the `torch-neuron` / `torch-neuronx` names there
are placeholders whose import raises ImportError); AWS serves it from its own pip repository.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from irc.backends.base import NotCompiled
from irc.errors import BackendError

REPOSITORY = "https://pip.repos.neuron.amazonaws.com"
MODULES = {"torch-neuron": "torch_neuron", "torch-neuronx": "torch_neuronx"}
INSTALL = {
    "torch-neuron": f"pip install torch-neuron neuron-cc[tensorflow] --extra-index-url={REPOSITORY}",
    "torch-neuronx": f"pip install torch-neuronx neuronx-cc --extra-index-url={REPOSITORY}",
}
COMPILED_FILE = "model.neuron.pt"


class NeuronSdkMissing(NotCompiled):
    """The SDK package for the target cannot be imported: nothing was compiled."""

    def __init__(self, message: str, package: str, reason: str) -> None:
        super().__init__(message)
        self.package = package
        self.reason = reason


def import_sdk(package: str) -> Any:
    """The SDK's module (`torch_neuron` or `torch_neuronx`); NeuronSdkMissing if it won't import."""
    module = MODULES[package]
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # the PyPI placeholders raise ImportError on purpose
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise NeuronSdkMissing(missing_message(package, module, reason), package, reason) from exc


def missing_message(package: str, module: str, reason: str) -> str:
    return (
        f"compiling for Neuron needs the AWS Neuron SDK, and `import {module}` failed ({reason}). "
        f"Install {package} from AWS's pip repository, not PyPI (PyPI's {package} is a placeholder "
        f"that raises ImportError), on an instance of the target's kind: `{INSTALL[package]}` "
        "(the SDK pins its own torch version: use a separate environment if it differs from irc's). "
        "Then run the export again, or compile the static model.pt files yourself with "
        f"{module}.trace."
    )


def compile_model(sdk: Any, model_file: Path, output_names: list[str], example: list[Any]) -> Path:
    """Trace the static TorchScript `model_file` with `sdk.trace` on `example` (inputs in call
    order) and save the compiled module beside it; returns its path."""
    import torch

    from irc.backends.torchscript.runner import quiet_jit

    with quiet_jit():
        static = torch.jit.load(str(model_file), map_location="cpu")
    wrapper = _tuple_module(static, output_names)
    # torch-neuron's documented entry point is torch.neuron.trace, which importing it installs.
    trace = getattr(sdk, "trace", None) or getattr(getattr(torch, "neuron", None), "trace", None)
    if trace is None:
        raise BackendError(f"{sdk.__name__} imports but has no trace(); reinstall the Neuron SDK.")
    try:
        compiled = trace(wrapper, tuple(example))
    except Exception as exc:  # the SDK's compiler errors come in many types
        raise BackendError(
            f"{sdk.__name__}.trace failed on {model_file}: {' '.join(str(exc).split())[:800]}. The static "
            "model and the operator report (op-report.txt) are in the artifact folder for inspection."
        ) from exc
    path = model_file.with_name(COMPILED_FILE)
    with quiet_jit():
        torch.jit.save(compiled, str(path))
    return path


def _tuple_module(static: Any, output_names: list[str]) -> Any:
    """`static` returning a tuple in `output_names` order: the SDKs trace tensor tuples."""
    import torch

    class Outputs(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.static = static

        def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
            results = self.static(*inputs)
            return tuple(results[name] for name in output_names)

    return Outputs().eval()
