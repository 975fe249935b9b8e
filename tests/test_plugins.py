"""Plugins: a distribution built from tests/plugin_pkg declares a pass and a backend as entry
points; installed into a temporary folder (never the shared environment) and put on PYTHONPATH,
the `irc` CLI lists them and uses them, and its broken entry point is reported by name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.models import tiny_checkpoint

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = Path(__file__).parent / "plugin_pkg"
DIST = "irc-demo-plugin 0.1.0"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin installed with pip into a temporary target folder."""
    work = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(PLUGIN, work / "src")  # pip builds in the source tree: keep tests/ clean
    target = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return target


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "bert", "bert", "default")


def irc(site: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    paths = [str(ROOT)] + ([str(site)] if site else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.run(
        [sys.executable, "-m", "irc.cli", *args], env=env, capture_output=True, text=True, timeout=600
    )


def test_irc_passes_lists_the_plugin_pass_with_its_option(site: Path) -> None:
    run = irc(site, "passes")
    lines = run.stdout.splitlines()
    [line] = [i for i, text in enumerate(lines) if text.startswith("gelu-to-erf ")]
    assert "Write exact GELU as erf arithmetic" in lines[line] and f"[plugin: {DIST}]" in lines[line]
    assert lines[line + 1].split() == [
        "min_rank:", "int", "=", "1", "Only", "rewrite", "GELUs", "whose", "input", "has", "at", "least",
        "this", "rank.",
    ]  # fmt: skip
    assert any(text.startswith("fold-constants ") for text in lines)
    # The broken entry point is named with its distribution, and does not hide the others.
    assert run.returncode == 2
    assert f"the plugin distribution {DIST} (irc.passes: demo-broken = irc_demo_plugin.missing:Nothing)" in (
        run.stderr
    )
    assert (
        f"the plugin distribution {DIST} (irc.passes: demo-misnamed = irc_demo_plugin.passes:GeluToErf) "
        in (run.stderr)
    )
    assert "names a pass whose name is 'gelu-to-erf', not 'demo-misnamed'" in run.stderr
    assert "Traceback" not in run.stderr


def test_without_the_plugin_its_names_are_unknown() -> None:
    listing = irc(None, "passes")
    assert listing.returncode == 0 and "gelu-to-erf" not in listing.stdout
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "irc.cli.opt", "--passes", "gelu-to-erf"],
        input="", env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 2 and "unknown pass 'gelu-to-erf'" in run.stderr


def test_plugin_pass_runs_in_a_pipeline(site: Path, checkpoint: Path) -> None:
    plain = irc(site, "show", "--model", str(checkpoint))
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.count("aten.gelu(") == 2 and "aten.erf(" not in plain.stdout
    run = irc(
        site, "show", "--model", str(checkpoint), "--passes", "gelu-to-erf{min_rank=2},dce", "--debug-passes"
    )
    assert run.returncode == 0, run.stderr
    assert "aten.gelu(" not in run.stdout and run.stdout.count("aten.erf(") == 2


def test_broken_plugin_pass_is_an_error_naming_its_distribution(site: Path, checkpoint: Path) -> None:
    run = irc(site, "show", "--model", str(checkpoint), "--passes", "dce,demo-broken")
    assert run.returncode == 2
    assert f"the plugin distribution {DIST}" in run.stderr and "ModuleNotFoundError" in run.stderr
    assert "Fix or uninstall irc-demo-plugin" in run.stderr and "Traceback" not in run.stderr


def test_plugin_backend_is_listed_and_exports(site: Path, checkpoint: Path, tmp_path: Path) -> None:
    listing = irc(site, "backends")
    assert listing.returncode == 0, listing.stderr
    assert (
        f"demo-interp  IR text and weights, run by irc's interpreter (a demo plugin).  [plugin: {DIST}]"
        in (listing.stdout)
    )
    assert "onnx  " in listing.stdout
    out = tmp_path / "artifact"
    run = irc(site, "export", "--model", str(checkpoint), "--backend", "demo-interp", str(out))
    assert run.returncode == 0, run.stderr
    assert (out / "model.irc").is_file() and (out / "model.weights.pt").is_file()
    assert "All good: max abs diff 0 over" in run.stdout  # the interpreter is the reference's twin
    assert '"backend": "demo-interp"' in (out / "irc.json").read_text()
