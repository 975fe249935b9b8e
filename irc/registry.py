"""Lazy registries of named classes: what `irc.passes.registry` and `irc.backends` look names up in.

A registry maps names to `"package.module:Class"` strings (irc's own, so that listing names or
parsing a pipeline imports no torch), to classes registered at run time, and to the entry points
of installed plugins (`irc.plugins`); a registered name wins over a plugin's. A class is imported
only when its name is asked for, and whatever goes wrong then is an error naming the module and
the distribution to fix: an unknown name (with the closest known one), a module that raises on
import, an attribute that is missing, not a subclass of the right kind, or whose `name` differs.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import packages_distributions

from irc.errors import IrcError
from irc.plugins import Plugin, PluginError, plugins

Target = str | type
"""`"package.module:Class"`, or the class itself."""


@dataclass
class Registry:
    """Names -> lazily imported classes of one kind (passes, backends)."""

    kind: str
    """What a name stands for, in messages: `pass`, `backend`."""
    plural: str
    group: str
    """The entry point group plugins declare their classes in."""
    base: Callable[[], type]
    """The class every entry must subclass (imported only when a class is loaded)."""
    error: type[IrcError]
    builtin: Mapping[str, Target] = field(default_factory=dict)
    unknown: str = "unknown {kind} {name!r}.{hint} Known {plural}: {known}."
    """The message for a name nothing declares; `hint` is ` Did you mean 'x'?` or empty."""
    check_registered_names: bool = True
    """Whether a class registered under a name must carry that name (plugins always must)."""
    _targets: dict[str, Target] = field(init=False)

    def __post_init__(self) -> None:
        self._targets = dict(self.builtin)

    def register(self, name: str, target: Target, *, replace: bool = False) -> None:
        """Make `name` stand for `target`; an error if it is taken (unless `replace`)."""
        if name in self._targets and not replace:
            raise self.error(
                f"a {self.kind} named {name!r} is already registered ({describe(self._targets[name])})"
            )
        if isinstance(target, str) and target.count(":") != 1:
            raise self.error(
                f"register_{self.kind}({name!r}, {target!r}): the target must read 'package.module:Class'"
            )
        self._targets[name] = target

    def unregister(self, name: str) -> None:
        """Forget `name` (for plugins and tests that registered it)."""
        self._targets.pop(name, None)

    def names(self) -> list[str]:
        """Registered and plugin names, sorted."""
        return sorted(set(self._targets) | set(plugins(self.group)))

    def origin(self, name: str) -> str:
        """`irc` for irc's own entries, the plugin distribution that declares `name`, or the
        `module:Class` of a class registered at run time."""
        if name in self._targets:
            text = describe(self._targets[name])
            return "irc" if text.startswith("irc.") else text
        plugin = plugins(self.group).get(name)
        return plugin.distribution if plugin else "unknown"

    def load(self, name: str) -> type:
        """The class registered under `name`, imported now if it was a string."""
        target = self._targets.get(name)
        if target is not None:
            cls = target if isinstance(target, type) else self._import(name, target)
            self._check(cls, name, f"{self.kind} {name!r} is registered as {describe(target)}")
            return cls
        plugin = plugins(self.group).get(name)
        if plugin is None:
            close = difflib.get_close_matches(name, self.names(), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            known = ", ".join(self.names())
            raise self.error(
                self.unknown.format(kind=self.kind, plural=self.plural, name=name, hint=hint, known=known)
            )
        return self._load_plugin(plugin)

    def _import(self, name: str, target: str) -> object:
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # whatever the module raises is its author's to fix, not a traceback
            dist = distribution_of(module_name)
            raise self.error(
                f"{self.kind} {name!r} is registered as {target}, whose module cannot be imported "
                f"({type(exc).__name__}: {exc}). Fix or reinstall {dist}."
            ) from exc
        found = getattr(module, attr, None)
        if found is None:
            raise self.error(
                f"{self.kind} {name!r} is registered as {target}, but {module_name} has no {attr}"
            )
        return found

    def _check(self, cls: object, name: str, where: str) -> None:
        base = self.base()
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise self.error(f"{where}, which is not a {base.__name__} subclass")
        declared = getattr(cls, "name", name)
        if self.check_registered_names and declared != name:
            raise self.error(f"{where}, whose name is {declared!r}")

    def _load_plugin(self, plugin: Plugin) -> type:
        cls = plugin.load(self.base())
        declared = getattr(cls, "name", plugin.name)
        if declared != plugin.name:
            raise PluginError(
                f"the plugin distribution {plugin.describe()} names a {self.kind} whose name is "
                f"{declared!r}, not {plugin.name!r}. Fix or uninstall {plugin.distribution}."
            )
        return cls


def describe(target: Target) -> str:
    """`package.module:Class` of a target."""
    return target if isinstance(target, str) else f"{target.__module__}:{target.__qualname__}"


def distribution_of(module_name: str) -> str:
    """The installed distribution(s) that provide `module_name`'s top-level package, for messages."""
    top = module_name.partition(".")[0]
    dists = packages_distributions().get(top)
    if dists:
        return " or ".join(sorted(set(dists)))
    return f"the package that provides {top}"
