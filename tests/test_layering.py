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


def test_import_irc_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, irc, irc.cli.main; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
