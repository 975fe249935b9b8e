"""The layering of DESIGN.md: an import only ever points down the list of packages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "irc"

FORBIDDEN = {
    "ir": (
        "irc.frontend",
        "irc.passes",
        "irc.backends",
        "irc.validate",
        "irc.exporter",
        "irc.api",
        "irc.cli",
    ),
    "frontend": ("irc.passes", "irc.backends", "irc.validate", "irc.exporter", "irc.api", "irc.cli"),
    "passes": ("irc.frontend", "irc.backends", "irc.exporter", "irc.api", "irc.cli"),
    "backends": ("irc.frontend", "irc.exporter", "irc.api", "irc.cli"),
    "validate": ("irc.exporter", "irc.api", "irc.cli"),
    # The export layer (DESIGN.md's irc/export/; named irc.exporter so that importing it does
    # not shadow the function irc.export) sits between validate and cli/api.
    "exporter": ("irc.api", "irc.cli"),
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_upward_imports(package: str) -> None:
    bad = [
        f"{path.relative_to(ROOT.parent)} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in _imports(path)
        if name.startswith(FORBIDDEN[package])
    ]
    assert not bad, "\n".join(bad)


def test_cli_and_api_reach_the_flow_through_the_exporter() -> None:
    """The export flow is written once, in irc/exporter; api.py delegates to it."""
    api = _imports(ROOT / "api.py")
    assert "irc.exporter.flow" in api
    assert not [name for name in api if name.startswith(("irc.backends", "irc.passes"))]


BELOW_ALL = (
    "irc.ir",
    "irc.frontend",
    "irc.passes",
    "irc.backends",
    "irc.validate",
    "irc.exporter",
    "irc.api",
    "irc.cli",
)
"""Top-level modules that every layer may import: they import no layer themselves."""
FOUNDATION = {"errors.py": BELOW_ALL, "plugins.py": BELOW_ALL, "registry.py": BELOW_ALL}


@pytest.mark.parametrize("module", sorted(FOUNDATION))
def test_foundation_modules_import_no_layer(module: str) -> None:
    bad = [name for name in _imports(ROOT / module) if name.startswith(FOUNDATION[module])]
    assert not bad, f"irc/{module} imports {', '.join(bad)}"


def test_the_emitter_table_is_backend_neutral() -> None:
    """irc/backends/emitters.py serves every backend: it imports none of them."""
    names = _imports(ROOT / "backends" / "emitters.py")
    assert not [n for n in names if n.startswith("irc.backends.") and n != "irc.backends.base"], names


def test_import_irc_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, irc, irc.cli.main; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
