"""A checkpoint that ships its own Python code (config `auto_map`) runs it only with
--trust-remote-code; without the flag irc refuses before any of that code is imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from irc.cli.main import main
from tests.models import tiny_checkpoint

CODE = """
import pathlib

pathlib.Path({sentinel!r}).write_text("the checkpoint's code ran")

from transformers import BertConfig, BertModel


class CustomBertConfig(BertConfig):
    model_type = "bert"


class CustomBertModel(BertModel):
    config_class = CustomBertConfig
"""


def _custom_checkpoint(root: Path) -> tuple[Path, Path]:
    """A tiny BERT whose config maps AutoConfig/AutoModel to `custom_bert.py` in the folder; that
    file leaves a sentinel file behind when it is imported."""
    checkpoint = tiny_checkpoint(root / "ckpt", "bert")
    sentinel = root / "code-ran.txt"
    (checkpoint / "custom_bert.py").write_text(CODE.format(sentinel=str(sentinel)))
    config = json.loads((checkpoint / "config.json").read_text())
    config["auto_map"] = {
        "AutoConfig": "custom_bert.CustomBertConfig",
        "AutoModel": "custom_bert.CustomBertModel",
    }
    (checkpoint / "config.json").write_text(json.dumps(config))
    return checkpoint, sentinel


@pytest.mark.parametrize("command", ["export", "show", "tasks"])
def test_auto_map_without_flag_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    checkpoint, sentinel = _custom_checkpoint(tmp_path)
    out = tmp_path / "out"
    argv = [command, "--model", str(checkpoint)] + ([str(out)] if command == "export" else [])
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert "custom_bert.CustomBertModel" in err and "--trust-remote-code" in err
    assert not sentinel.exists(), "the checkpoint's code ran without --trust-remote-code"
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if ".irc-tmp-" in p.name]


def test_python_api_default_refuses(tmp_path: Path) -> None:
    import irc
    from irc.errors import ModelLoadError

    checkpoint, sentinel = _custom_checkpoint(tmp_path)
    with pytest.raises(ModelLoadError, match="trust_remote_code=True"):
        irc.trace(checkpoint)
    assert not sentinel.exists()


def test_flag_runs_the_checkpoint_code(tmp_path: Path) -> None:
    checkpoint, sentinel = _custom_checkpoint(tmp_path)
    out = tmp_path / "out"
    # A subprocess with its own modules cache: transformers copies the checkpoint's code there.
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules")}
    argv = [sys.executable, "-m", "irc.cli", "export", "--model", str(checkpoint), "--trust-remote-code"]
    proc = subprocess.run([*argv, str(out)], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert sentinel.read_text() == "the checkpoint's code ran"
    assert (out / "model.onnx").is_file()
    assert json.loads((out / "irc.json").read_text())["validation"]["passed"] is True
    # Bisecting the artifact re-traces the model, so it asks for the flag too.
    bisect = [sys.executable, "-m", "irc.cli", "validate", "--bisect", str(out)]
    refused = subprocess.run(bisect, capture_output=True, text=True, env=env, timeout=600)
    assert refused.returncode == 2 and "--trust-remote-code" in refused.stderr, refused.stderr
    proc = subprocess.run(
        [*bisect, "--trust-remote-code"], capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
