"""Pass names to `"module:Class"` strings, imported only when a pass is asked for.

Keeping the table as strings means `irc --help` and pipeline parsing of the names never import
torch. A plugin adds its passes with `register_pass("my-pass", "my_pkg.passes:MyPass")`, or,
installed as a distribution, through the `irc.passes` entry point group (`irc.plugins`); a name
registered here wins over a plugin's. The lookup itself is `irc.registry.Registry`, shared with
the backends.
"""

from __future__ import annotations

from typing import cast

from irc.errors import PassError
from irc.passes.base import Pass
from irc.plugins import PASS_GROUP
from irc.registry import Registry

_PASSES = Registry(
    kind="pass",
    plural="passes",
    group=PASS_GROUP,
    base=lambda: Pass,
    error=PassError,
    builtin={
        "dce": "irc.passes.dce:DeadCodeElimination",
        "cse": "irc.passes.cse:CommonSubexpressionElimination",
        "fold-constants": "irc.passes.fold_constants:FoldConstants",
        "untie-weights": "irc.passes.untie_weights:UntieWeights",
        "pad-static": "irc.passes.pad_static:PadStatic",
        "simplify": "irc.passes.simplify:Simplify",
        "fuse-gelu": "irc.passes.fuse_gelu:FuseGelu",
        "ort-fusions": "irc.passes.ort_fusions:OrtFusions",
        "ort-norm": "irc.passes.ort_norm:OrtNorm",
        "ort-rotary": "irc.passes.ort_rotary:OrtRotary",
        "ort-gqa": "irc.passes.ort_gqa:OrtGqa",
        "pack-projections": "irc.passes.pack_projections:PackProjections",
        "convert-dtype": "irc.passes.convert_dtype:ConvertDtype",
        "quantize-weights": "irc.passes.quantize_weights:QuantizeWeights",
        "quantize-dynamic": "irc.passes.quantize_dynamic:QuantizeDynamic",
    },
)


def register_pass(name: str, target: str | type[Pass], *, replace: bool = False) -> None:
    """Make `name` usable in pipelines; `target` is `"pkg.module:Class"` or the class itself."""
    _PASSES.register(name, target, replace=replace)


def unregister_pass(name: str) -> None:
    """Forget `name` (for plugins and tests that registered it)."""
    _PASSES.unregister(name)


def pass_names() -> list[str]:
    """Registered and plugin pass names, sorted."""
    return _PASSES.names()


def pass_origin(name: str) -> str:
    """Where the pass `name` comes from: `irc`, or the plugin distribution that declares it."""
    return _PASSES.origin(name)


def get_pass_class(name: str) -> type[Pass]:
    """The class registered under `name`; a PassError lists the known names otherwise (and the
    closest one), and names the module and distribution of a pass that cannot be loaded."""
    return cast("type[Pass]", _PASSES.load(name))
