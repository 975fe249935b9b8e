"""Bad input: an IrcError with a one-paragraph message, exit code 2, no traceback, nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from irc.cli.main import main
from tests.models import tiny_checkpoint


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err
    return code, err


def _assert_clean_failure(code: int, err: str, out: Path, *needles: str) -> None:
    assert code == 2, err
    assert err.startswith("error: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if ".irc-tmp-" in p.name]


def test_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code, err = _run(capsys, "export", "--model", str(tmp_path / "nope"), str(out))
    _assert_clean_failure(code, err, out, "does not exist")


def test_folder_without_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    code, err = _run(capsys, "export", "--model", str(tmp_path / "empty"), str(out))
    _assert_clean_failure(code, err, out, "config.json")


def test_unknown_task_lists_supported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = tiny_checkpoint(tmp_path / "ckpt", "bert")
    out = tmp_path / "out"
    code, err = _run(capsys, "export", "--model", str(ckpt), "--task", "translation", str(out))
    _assert_clean_failure(code, err, out, "unknown task 'translation'", "masked-lm", "question-answering")


def test_task_without_head(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = tiny_checkpoint(tmp_path / "ckpt", "gpt2", "causal-lm")
    out = tmp_path / "out"
    code, err = _run(capsys, "export", "--model", str(ckpt), "--task", "masked-lm", str(out))
    _assert_clean_failure(code, err, out, "gpt2 has no masked-lm head", "causal-lm")


def test_model_type_without_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text(json.dumps({"model_type": "whisper", "d_model": 8}))
    out = tmp_path / "out"
    code, err = _run(capsys, "export", "--model", str(ckpt), str(out))
    _assert_clean_failure(code, err, out, "no task spec for model type 'whisper'", "bert", "gpt2")


def test_op_without_lowering_names_op_and_origin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from irc.backends.onnx import registry

    # The test removes a lowering; the shipped table is left as it is.
    table = dict(registry.LOWERINGS)
    del table["aten.tanh"]
    monkeypatch.setattr(registry, "LOWERINGS", table)
    ckpt = tiny_checkpoint(tmp_path / "ckpt", "gpt2", "causal-lm")
    out = tmp_path / "out"
    code, err = _run(capsys, "export", "--model", str(ckpt), "--task", "causal-lm", str(out))
    _assert_clean_failure(code, err, out, "aten.tanh", "transformer.h.0.mlp")


def test_existing_output_needs_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = tiny_checkpoint(tmp_path / "ckpt", "distilbert")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, err = _run(capsys, "export", "--model", str(ckpt), str(out))
    assert code == 2 and "--force" in err
    assert (out / "keep.txt").read_text() == "mine"


def test_cli_process_exit_code_and_no_traceback(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "irc.cli", "export", "--model", str(tmp_path / "missing"), str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("error: ")
    assert not out.exists()


def test_bad_batch_size_is_refused(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "irc.cli",
            "export",
            "--model",
            str(tmp_path),
            "--batch-size",
            "0",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "positive integer" in proc.stderr and "Traceback" not in proc.stderr
