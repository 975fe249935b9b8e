"""`irc-opt` in-process: output, stdin, split input, timing, and errors without tracebacks."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from irc.cli.opt import main

GRAPH = """\
graph @g {
  input %x : f32[batch, 4]
  %a = aten.neg(%x) : f32[batch, 4] loc("layer.0", "model.py:3")
  %b = aten.neg(%x) : f32[batch, 4] loc("layer.0", "model.py:4")
  %c = aten.add.Tensor(%a, %b) : f32[batch, 4] loc("layer.0", "model.py:5")
  output %c
}
"""


@pytest.fixture
def ir_file(tmp_path: Path) -> Path:
    path = tmp_path / "g.irc"
    path.write_text(GRAPH)
    return path


def test_prints_the_graph_after_the_pipeline(ir_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(ir_file), "--passes", "cse"]) == 0
    out = capsys.readouterr().out
    assert '%c = aten.add.Tensor(%a, %a) : f32[batch, 4] loc("layer.0", "model.py:5")' in out
    assert "%b" not in out


def test_reads_stdin_and_drops_locs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(GRAPH))
    assert main(["-", "--no-locs"]) == 0
    assert capsys.readouterr().out == GRAPH.replace(' loc("layer.0", "model.py:3")', "").replace(
        ' loc("layer.0", "model.py:4")', ""
    ).replace(' loc("layer.0", "model.py:5")', "")


def test_timing_goes_to_stderr(ir_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(ir_file), "--passes", "dce,cse", "--timing", "--debug"]) == 0
    err = capsys.readouterr().err
    assert "dce: " in err and "changed=False" in err and "cse: " in err and "changed=True" in err


def test_split_input_file_goes_on_after_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cases.irc"
    path.write_text(
        GRAPH + "// -----\ngraph @bad {\n  output %nowhere\n}\n// -----\n" + GRAPH.replace("@g", "@h")
    )
    assert main([str(path), "--split-input-file"]) == 2
    captured = capsys.readouterr()
    assert captured.out.count("// -----") == 2
    assert "graph @g {" in captured.out and "graph @h {" in captured.out
    # Line numbers count from the top of the whole file.
    assert captured.err.startswith("error: 10:")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--passes", "dce,,cse"], "error: bad pipeline 'dce,,cse': expected a pass name at column 5"),
        (["--passes", "fold"], "error: in pipeline 'fold' at column 1: unknown pass 'fold'."),
        (["/no/such/file.irc"], "error: cannot read /no/such/file.irc: No such file or directory"),
    ],
)
def test_errors_print_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert "Traceback" not in err


def test_list_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list-passes"]) == 0
    out = capsys.readouterr().out
    assert "fold-constants: Replace computations over constants by their results." in out
    assert "    max_elements: int = 65536  Largest folded tensor" in out
