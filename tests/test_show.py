from __future__ import annotations

from pathlib import Path

import pytest

from irc.cli.main import main
from irc.ir import parse_graph, print_graph
from tests.models import tiny_checkpoint


def test_show_prints_parseable_ir_before_and_after_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = tiny_checkpoint(tmp_path / "ckpt", "gpt2", "causal-lm")
    assert main(["show", "--model", str(ckpt), "--task", "causal-lm"]) == 0
    before = capsys.readouterr().out
    assert print_graph(parse_graph(before)) == before
    assert "input %input_ids : i64[batch, sequence]" in before
    assert 'loc("transformer.h.0.attn"' in before

    argv = ["show", "--model", str(ckpt), "--task", "causal-lm", "--passes", "dce,cse", "--no-locs"]
    assert main([*argv, "--debug-passes"]) == 0
    after = capsys.readouterr().out
    assert "loc(" not in after
    assert len(after.splitlines()) < len(before.splitlines())
