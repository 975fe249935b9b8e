"""The text-in, text-out pass tests: every `.irc` file here runs under lit, and its IR reads back
exactly as it is written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from irc.ir.parser import parse_graph
from irc.ir.printer import print_graph

HERE = Path(__file__).parent
IRC_FILES = sorted(HERE.glob("*.irc"))
SEPARATOR = "// -----"


def test_lit_suite_passes() -> None:
    run = subprocess.run(
        [sys.executable, "-c", "import lit.main; lit.main.main()", "-v", str(HERE)],
        capture_output=True,
        text=True,
        # 19 files, each a fresh `irc-opt` process: ~20 s idle, past 300 s on a machine shared
        # with a coverage run; the bound is only there to stop a hang.
        timeout=1200,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"Passed: {len(IRC_FILES)}" in run.stdout


def _graph_texts(path: Path) -> list[str]:
    """The IR of each `// -----` chunk of `path`, comment lines and blank lines dropped."""
    chunks = path.read_text().split(f"\n{SEPARATOR}\n")
    texts = []
    for chunk in chunks:
        lines = [line for line in chunk.splitlines() if line.strip() and not line.lstrip().startswith("//")]
        if lines:
            texts.append("\n".join(lines) + "\n")
    return texts


CASES = [(path, i, text) for path in IRC_FILES for i, text in enumerate(_graph_texts(path))]


@pytest.mark.parametrize(("path", "index", "text"), CASES, ids=[f"{p.stem}-{i}" for p, i, _ in CASES])
def test_irc_file_round_trips(path: Path, index: int, text: str) -> None:
    assert print_graph(parse_graph(text)) == text
