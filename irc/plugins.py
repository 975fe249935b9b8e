"""Plugins: passes and backends that other distributions declare as Python entry points.

A plugin's `pyproject.toml` names them; irc finds them by name without importing anything, and
imports one only when it is asked for (a pipeline names the pass, `--backend` the backend):

    [project.entry-points."irc.passes"]
    fuse-my-op = "my_pkg.passes:FuseMyOp"        # a Pass subclass whose `name` is fuse-my-op

    [project.entry-points."irc.backends"]
    my-target = "my_pkg.backend:MyBackend"      # a Backend subclass

A plugin that cannot be imported, or that names something other than a class of the right
kind, raises an IrcError naming its distribution, so the user knows which package to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from irc.errors import IrcError

PASS_GROUP = "irc.passes"
BACKEND_GROUP = "irc.backends"


class PluginError(IrcError):
    """An installed plugin cannot be loaded."""


@dataclass(frozen=True)
class Plugin:
    """One entry point: the name irc knows it by, its `module:attr` and its distribution."""

    group: str
    name: str
    value: str
    distribution: str

    def describe(self) -> str:
        """`dist version (group: name = module:attr)`, for error messages."""
        return f"{self.distribution} ({self.group}: {self.name} = {self.value})"

    def load(self, kind: type) -> type:
        """The class the entry point names, checked to be a subclass of `kind`."""
        try:
            loaded = EntryPoint(self.name, self.value, self.group).load()
        except Exception as exc:  # whatever the plugin's import raises is the plugin's fault
            raise PluginError(
                f"the plugin distribution {self.describe()} cannot be loaded: "
                f"{type(exc).__name__}: {exc}. Fix or uninstall {self.distribution}."
            ) from exc
        if not (isinstance(loaded, type) and issubclass(loaded, kind)):
            raise PluginError(
                f"the plugin distribution {self.describe()} names {loaded!r}, which is not a "
                f"{kind.__name__} subclass. Fix or uninstall {self.distribution}."
            )
        return loaded


def plugins(group: str) -> dict[str, Plugin]:
    """Installed entry points of `group` by name (the first installed wins on a clash)."""
    found: dict[str, Plugin] = {}
    for ep in entry_points(group=group):
        dist = ep.dist
        label = f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"
        found.setdefault(ep.name, Plugin(group, ep.name, ep.value, label))
    return found
