"""Backends by name. Each is imported only when asked for, so `irc --help` imports no runtime.

>>> backend = get_backend("onnx")
>>> backend.default_pipeline
'dce,cse,fold-constants'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from irc.errors import IrcError
from irc.plugins import BACKEND_GROUP
from irc.registry import Registry

if TYPE_CHECKING:
    from irc.backends.base import Backend


def _backend_base() -> type:
    from irc.backends.base import Backend

    return Backend


_BACKENDS = Registry(
    kind="backend",
    plural="backends",
    group=BACKEND_GROUP,
    base=_backend_base,
    error=IrcError,
    builtin={
        "onnx": "irc.backends.onnx:OnnxBackend",
        "torchscript": "irc.backends.torchscript:TorchScriptBackend",
        "neuron": "irc.backends.neuron:NeuronBackend",
    },
    unknown="unknown {kind} {name!r}; choose one of: {known}.{hint}",
    check_registered_names=False,
)
"""Backend name -> `module:class` of its Backend subclass (or the class, once registered)."""


def register_backend(name: str, target: str | type, *, replace: bool = False) -> None:
    """Make `--backend name` use `target`: `"pkg.module:Class"` or a Backend subclass. An
    installed distribution declares it as an `irc.backends` entry point instead."""
    _BACKENDS.register(name, target, replace=replace)


def unregister_backend(name: str) -> None:
    """Forget `name` (for tests and notebooks that registered it)."""
    _BACKENDS.unregister(name)


def backend_names() -> list[str]:
    """irc's backends and those of installed plugins (entry point group `irc.backends`), sorted."""
    return _BACKENDS.names()


def backend_origin(name: str) -> str:
    """`irc`, the plugin distribution that declares the backend `name`, or the `module:Class` of
    a backend registered at run time."""
    return _BACKENDS.origin(name)


def get_backend(name: str) -> Backend:
    """A new instance of the backend called `name`; an IrcError lists the known names (and the
    closest one), and names the module and distribution of a backend that cannot be loaded."""
    return cast("Backend", _BACKENDS.load(name)())
