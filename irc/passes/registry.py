"""Pass names to `"module:Class"` strings, imported only when a pass is asked for.

Keeping the table as strings means `irc --help` and pipeline parsing of the names never import
torch. A plugin adds its passes with `register_pass("my-pass", "my_pkg.passes:MyPass")`, or,
installed as a distribution, through the `irc.passes` entry point group (`irc.plugins`); a name
registered here wins over a plugin's.
"""

from __future__ import annotations

import difflib
import importlib
from typing import cast

from irc.errors import PassError
from irc.passes.base import Pass
from irc.plugins import PASS_GROUP, PluginError, plugins

_PASSES: dict[str, str | type[Pass]] = {
    "dce": "irc.passes.dce:DeadCodeElimination",
    "cse": "irc.passes.cse:CommonSubexpressionElimination",
    "fold-constants": "irc.passes.fold_constants:FoldConstants",
    "untie-weights": "irc.passes.untie_weights:UntieWeights",
    "pad-static": "irc.passes.pad_static:PadStatic",
    "simplify": "irc.passes.simplify:Simplify",
    "fuse-gelu": "irc.passes.fuse_gelu:FuseGelu",
    "ort-fusions": "irc.passes.ort_fusions:OrtFusions",
    "convert-dtype": "irc.passes.convert_dtype:ConvertDtype",
}


def register_pass(name: str, target: str | type[Pass], *, replace: bool = False) -> None:
    """Make `name` usable in pipelines; `target` is `"pkg.module:Class"` or the class itself."""
    if name in _PASSES and not replace:
        raise PassError(f"a pass named {name!r} is already registered ({_describe(_PASSES[name])})")
    if isinstance(target, str) and target.count(":") != 1:
        raise PassError(f"register_pass({name!r}, {target!r}): the target must read 'package.module:Class'")
    _PASSES[name] = target


def unregister_pass(name: str) -> None:
    """Forget `name` (for plugins and tests that registered it)."""
    _PASSES.pop(name, None)


def pass_names() -> list[str]:
    """Registered and plugin pass names, sorted."""
    return sorted(set(_PASSES) | set(plugins(PASS_GROUP)))


def pass_origin(name: str) -> str:
    """Where the pass `name` comes from: `irc`, or the plugin distribution that declares it."""
    if name in _PASSES:
        target = _PASSES[name]
        return "irc" if _describe(target).startswith("irc.") else _describe(target)
    plugin = plugins(PASS_GROUP).get(name)
    return plugin.distribution if plugin else "unknown"


def get_pass_class(name: str) -> type[Pass]:
    """The class registered under `name`; a PassError lists the known names otherwise."""
    target = _PASSES.get(name)
    if target is None and name in (found := plugins(PASS_GROUP)):
        plugin = found[name]
        cls = cast("type[Pass]", plugin.load(Pass))
        if cls.name != name:
            raise PluginError(
                f"the plugin distribution {plugin.describe()} names a pass whose name is {cls.name!r}, "
                f"not {name!r}. Fix or uninstall {plugin.distribution}."
            )
        return cls
    if target is None:
        raise PassError(f"unknown pass {name!r}.{_suggestion(name)} Known passes: {', '.join(pass_names())}.")
    cls = target if isinstance(target, type) else _import(name, target)
    if not (isinstance(cls, type) and issubclass(cls, Pass)):
        raise PassError(f"pass {name!r} is registered as {_describe(target)}, which is not a Pass subclass")
    if cls.name != name:
        raise PassError(f"pass {name!r} is registered as {_describe(target)}, whose name is {cls.name!r}")
    return cls


def _import(name: str, target: str) -> object:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise PassError(
            f"pass {name!r} is registered as {target}, whose module cannot be imported: {exc}"
        ) from exc
    cls = getattr(module, attr, None)
    if cls is None:
        raise PassError(f"pass {name!r} is registered as {target}, but {module_name} has no {attr}")
    return cls


def _suggestion(name: str) -> str:
    close = difflib.get_close_matches(name, pass_names(), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _describe(target: str | type[Pass]) -> str:
    return target if isinstance(target, str) else f"{target.__module__}:{target.__qualname__}"
