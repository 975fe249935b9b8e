"""The tutorials run: every ```python block of docs/tutorial-*.md executes, in order, in one
namespace per file; and docs/api.md is what tools/api_docs.py generates from the docstrings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = sorted((ROOT / "docs").glob("tutorial-*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


def python_blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text())


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(path)
    assert len(blocks) >= 4, f"{path.name} lost its code blocks"
    monkeypatch.chdir(tmp_path)  # files a tutorial writes land here
    run_blocks(blocks, tmp_path)


def run_blocks(blocks: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    """Run doc code blocks in order as one script in `folder`; a subprocess keeps their
    registrations (passes, backends) out of this process. Fails the test if the script fails."""
    script = folder / "blocks.py"
    script.write_text("\n\n".join(f"# --- block {i + 1}\n{b}" for i, b in enumerate(blocks)))
    run = subprocess.run(
        [sys.executable, str(script)],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run


def test_tutorials_are_linked_from_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in [*(p.name for p in TUTORIALS), "api.md"]:
        assert f"(docs/{name})" in readme


def test_api_reference_is_up_to_date() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "api_docs.py"), "--check"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    text = (ROOT / "docs" / "api.md").read_text()
    import irc.ir
    import irc.passes

    for name in [
        *irc.ir.__all__,
        *irc.passes.__all__,
        "get_backend",
        "register_backend",
        "Backend",
        "Runner",
        "ExportPlan",
        "PlannedGraph",
        "ExportRequest",
        "run_export",
    ]:
        assert f"`{name}" in text, f"{name} is missing from docs/api.md"
