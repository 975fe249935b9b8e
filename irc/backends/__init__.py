"""Backends by name. Each is imported only when asked for, so `irc --help` imports no runtime.

>>> backend = get_backend("onnx")
>>> backend.default_pipeline
'dce,cse,fold-constants'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from irc.errors import IrcError

if TYPE_CHECKING:
    from irc.backends.base import Backend

_BACKENDS: dict[str, str] = {
    "onnx": "irc.backends.onnx:OnnxBackend",
    "torchscript": "irc.backends.torchscript:TorchScriptBackend",
    "neuron": "irc.backends.neuron:NeuronBackend",
}
"""Backend name -> `module:class` of its Backend subclass."""


def backend_names() -> list[str]:
    return sorted(_BACKENDS)


def get_backend(name: str) -> Backend:
    """A new instance of the backend called `name`; an IrcError lists the known names."""
    target = _BACKENDS.get(name)
    if target is None:
        raise IrcError(f"unknown backend {name!r}; choose one of: {', '.join(backend_names())}.")
    module_name, class_name = target.split(":")
    module = importlib.import_module(module_name)
    backend: Backend = getattr(module, class_name)()
    return backend
