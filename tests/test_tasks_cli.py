"""`irc tasks` and task detection from a checkpoint's `architectures`."""

from __future__ import annotations

from pathlib import Path

import pytest

from irc.cli.main import main
from tests.models import tiny_checkpoint


@pytest.mark.parametrize(
    ("model_type", "task"),
    [
        ("bert", "masked-lm"),
        ("gpt2", "causal-lm"),
        ("t5", "seq2seq-lm"),
        ("vit", "image-classification"),
        ("distilbert", "question-answering"),
    ],
)
def test_tasks_lists_and_marks_the_checkpoints_own_head(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], model_type: str, task: str
) -> None:
    ckpt = tiny_checkpoint(tmp_path / "ckpt", model_type, task)
    assert main(["tasks", "--model", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert f"model type: {model_type}" in out
    assert f"task irc exports without --task: {task}" in out
    assert any(line.startswith(f"* {task} ") for line in out.splitlines())


def test_multiple_choice_has_a_num_choices_axis(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = tiny_checkpoint(tmp_path / "ckpt", "bert")
    main(["tasks", "--model", str(ckpt)])
    out = capsys.readouterr().out
    assert "input_ids[batch, num_choices, sequence]" in out


def test_export_without_task_uses_the_checkpoints_head(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    ckpt = tiny_checkpoint(tmp_path / "ckpt", "bert", "token-classification")
    assert main(["export", "--model", str(ckpt), str(tmp_path / "out")]) == 0
    assert json.loads((tmp_path / "out" / "irc.json").read_text())["task"] == "token-classification"
