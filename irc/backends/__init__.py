"""Backends by name. Each is imported only when asked for, so `irc --help` imports no runtime.

>>> backend = get_backend("onnx")
>>> backend.default_pipeline
'dce,cse,fold-constants'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, cast

from irc.errors import IrcError
from irc.plugins import BACKEND_GROUP, PluginError, plugins

if TYPE_CHECKING:
    from irc.backends.base import Backend

_BACKENDS: dict[str, str | type] = {
    "onnx": "irc.backends.onnx:OnnxBackend",
    "torchscript": "irc.backends.torchscript:TorchScriptBackend",
    "neuron": "irc.backends.neuron:NeuronBackend",
}
"""Backend name -> `module:class` of its Backend subclass (or the class, once registered)."""


def register_backend(name: str, target: str | type, *, replace: bool = False) -> None:
    """Make `--backend name` use `target`: `"pkg.module:Class"` or a Backend subclass. An
    installed distribution declares it as an `irc.backends` entry point instead."""
    if name in _BACKENDS and not replace:
        raise IrcError(f"a backend named {name!r} is already registered")
    _BACKENDS[name] = target


def unregister_backend(name: str) -> None:
    """Forget `name` (for tests and notebooks that registered it)."""
    _BACKENDS.pop(name, None)


def backend_names() -> list[str]:
    """irc's backends and those of installed plugins (entry point group `irc.backends`), sorted."""
    return sorted(set(_BACKENDS) | set(plugins(BACKEND_GROUP)))


def backend_origin(name: str) -> str:
    """`irc`, or the plugin distribution that declares the backend `name`."""
    if name in _BACKENDS:
        target = _BACKENDS[name]
        return "irc" if isinstance(target, str) and target.startswith("irc.") else "registered"
    plugin = plugins(BACKEND_GROUP).get(name)
    return plugin.distribution if plugin else "unknown"


def get_backend(name: str) -> Backend:
    """A new instance of the backend called `name`; an IrcError lists the known names, and
    names the distribution of a plugin backend that cannot be loaded."""
    from irc.backends.base import Backend

    target = _BACKENDS.get(name)
    if isinstance(target, type):
        return cast("Backend", target())
    if target is not None:
        module_name, class_name = target.split(":")
        module = importlib.import_module(module_name)
        backend: Backend = getattr(module, class_name)()
        return backend
    plugin = plugins(BACKEND_GROUP).get(name)
    if plugin is None:
        raise IrcError(f"unknown backend {name!r}; choose one of: {', '.join(backend_names())}.")
    instance = plugin.load(Backend)()
    if instance.name != name:
        raise PluginError(
            f"the plugin distribution {plugin.describe()} declares backend {name!r} but its class "
            f"is named {instance.name!r}. Fix or uninstall {plugin.distribution}."
        )
    return cast("Backend", instance)
