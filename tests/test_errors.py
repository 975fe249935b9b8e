"""Bad input: an IrcError with a one-paragraph message, exit code 2, no traceback, nothing written.

"Nothing written" is checked on the whole test folder: after the failure its tree is the one it
had before the command ran (no output folder, no hidden staging folder, no new parent folder).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from irc.cli.main import main
from tests.models import tiny_checkpoint


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _export_fails(
    capsys: pytest.CaptureFixture[str], root: Path, model: Path | str, *flags: str, needles: tuple[str, ...]
) -> str:
    """Run `irc export` into `root/new/out`; assert exit 2, one `error: ` line holding every needle,
    and the tree under `root` unchanged. Returns the message."""
    before = _tree(root)
    out = root / "new" / "out"
    code = main(["export", "--model", str(model), *flags, str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    assert _tree(root) == before, "the failed export left files behind"
    return err


@pytest.fixture(scope="module")
def bert_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("bert") / "ckpt", "bert")


# -- the model folder ------------------------------------------------------------------------------
def test_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _export_fails(capsys, tmp_path, tmp_path / "nope", needles=("does not exist",))


def test_folder_without_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    _export_fails(capsys, tmp_path, tmp_path / "empty", needles=("has no config.json",))


def test_corrupt_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = tiny_checkpoint(tmp_path / "ckpt", "bert")
    text = (ckpt / "config.json").read_text()
    (ckpt / "config.json").write_text(text[: len(text) // 2])
    _export_fails(capsys, tmp_path, ckpt, needles=("config.json is not valid JSON", "re-save"))


def test_truncated_safetensors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = tiny_checkpoint(tmp_path / "ckpt", "bert")
    weights = ckpt / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    _export_fails(
        capsys, tmp_path, ckpt, needles=("safetensors file", "cannot be read", "truncated or corrupt")
    )


def test_bin_that_unpickles_code_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A .bin checkpoint whose pickle calls a function: weights_only loading refuses it and the
    function never runs."""
    import torch
    from safetensors.torch import load_file

    ckpt = tiny_checkpoint(tmp_path / "ckpt", "bert")
    state = dict(load_file(ckpt / "model.safetensors"))
    (ckpt / "model.safetensors").unlink()
    sentinel = tmp_path / "code-ran"
    state["extra"] = _Touch(str(sentinel))
    torch.save(state, ckpt / "pytorch_model.bin")
    _export_fails(
        capsys, tmp_path, ckpt, needles=("holds Python objects besides tensors", "weights_only=True")
    )
    assert not sentinel.exists()


class _Touch:
    """Unpickling this creates a file (via os.open): what a malicious checkpoint would do."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.open, (self.path, os.O_CREAT | os.O_WRONLY))


def test_unknown_model_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text(json.dumps({"model_type": "no-such-model"}))
    _export_fails(
        capsys, tmp_path, ckpt, needles=("has no model type 'no-such-model'", "config.json's model_type")
    )


def test_model_type_without_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A type transformers knows whose bare model takes inputs irc cannot make (a speech encoder's
    features, whose layout transformers' mapped feature extractor does not give)."""
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text(json.dumps({"model_type": "wav2vec2-bert"}))
    _export_fails(
        capsys,
        tmp_path,
        ckpt,
        needles=("irc cannot export wav2vec2-bert for default", "input_features"),
    )


# -- the task ------------------------------------------------------------------------------------
def test_unknown_task_lists_supported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bert_checkpoint: Path
) -> None:
    _export_fails(
        capsys,
        tmp_path,
        bert_checkpoint,
        "--task",
        "translation",
        needles=("unknown task 'translation'", "masked-lm", "question-answering"),
    )


def test_task_without_head(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = tiny_checkpoint(tmp_path / "ckpt", "gpt2", "causal-lm")
    _export_fails(
        capsys,
        tmp_path,
        ckpt,
        "--task",
        "masked-lm",
        needles=("transformers has no masked-lm head for gpt2", "causal-lm"),
    )


def test_decoder_classification_without_pad_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = tiny_checkpoint(tmp_path / "ckpt", "gpt2", "sequence-classification", pad_token_id=None)
    _export_fails(capsys, tmp_path, ckpt, needles=("has no pad_token_id", "Set pad_token_id in config.json"))


# -- sizes, passes, opset --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("flag", "value"),
    [("--batch-size", "0"), ("--batch-size", "-2"), ("--sequence-length", "0"), ("--sequence-length", "-1")],
)
def test_non_positive_sizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bert_checkpoint: Path, flag: str, value: str
) -> None:
    before = _tree(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--model", str(bert_checkpoint), flag, value, str(tmp_path / "new" / "out")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert f"argument {flag}: must be a positive integer, got {value}" in err and "Traceback" not in err
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("sizes", [{"batch_size": 0}, {"sequence_length": -3}])
def test_non_positive_sizes_in_python(tmp_path: Path, sizes: dict[str, int]) -> None:
    import irc
    from irc.errors import IrcError
    from tests.models import tiny_model

    with pytest.raises(IrcError, match="must be a positive integer"):
        irc.export(tiny_model("bert"), output=tmp_path / "out", **sizes)
    assert _tree(tmp_path) == []


@pytest.mark.parametrize(
    ("pipeline", "needles"),
    [
        ("dce,no-such-pass", ("unknown pass 'no-such-pass'", "Known passes: convert-dtype, cse, dce")),
        ("dce{", ("bad pipeline 'dce{'", "column 5")),
        ("fold-constants{max_elements=x}", ("max_elements of pass fold-constants takes an int, not 'x'",)),
        ("fold-constants{nope=1}", ("fold-constants has no option 'nope'", "max_elements")),
        ("pad-static{batch=x}", ("option batch of pass pad-static takes an int, not 'x'",)),
        ("pad-static{batch=0}", ("pad-static: batch must be >= 1, not 0",)),
        ("dce,,cse", ("bad pipeline",)),
    ],
)
def test_bad_pipeline(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    bert_checkpoint: Path,
    pipeline: str,
    needles: tuple[str, ...],
) -> None:
    _export_fails(capsys, tmp_path, bert_checkpoint, "--passes", pipeline, needles=needles)


def test_bad_pipeline_fails_before_loading(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The pipeline is checked first: its error comes even for a model path that does not exist."""
    _export_fails(capsys, tmp_path, tmp_path / "nope", "--passes", "dce{", needles=("bad pipeline 'dce{'",))


def test_opset_below_the_backend_floor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bert_checkpoint: Path
) -> None:
    _export_fails(
        capsys,
        tmp_path,
        bert_checkpoint,
        "--opset",
        "14",
        needles=("opset 14 is outside what the onnx backend supports (15 to", "Pass --opset 15 to"),
    )


def _bitmask_bert() -> Any:
    """A tiny BERT that folds its ids with an integer bitwise and, which ONNX has only as
    BitwiseAnd (opset 18); the layer norms decompose at older opsets, this op cannot."""
    from transformers import BertModel

    from tests.models import tiny_config

    class BitmaskBert(BertModel):
        def forward(self, input_ids: Any = None, **kwargs: Any) -> Any:
            return super().forward(input_ids=input_ids & 63, **kwargs)

    return BitmaskBert(tiny_config("bert")).eval()


def test_opset_too_old_for_an_op_names_op_and_lowest_opset(tmp_path: Path) -> None:
    import irc
    from irc.errors import LoweringError

    model = _bitmask_bert()
    for opset in (15, 17):
        with pytest.raises(LoweringError) as info:
            irc.export(model, "default", tmp_path / "new" / "out", opset=opset)
        message = str(info.value)
        assert message.startswith("aten.__and__.Scalar needs opset >= 18: its ONNX form BitwiseAnd"), message
        assert f"asked for opset {opset}. Pass --opset 18 or later" in message
        assert _tree(tmp_path) == []
    # ... and 18 is indeed the lowest opset that serves it.
    result = irc.export(model, "default", tmp_path / "out18", opset=18)
    assert result.report.passed


def test_op_without_lowering_names_op_and_origin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from irc.backends.onnx import registry

    # The test removes a lowering; the shipped table is left as it is.
    table = dict(registry.LOWERINGS)
    del table["aten.tanh"]
    monkeypatch.setattr(registry, "LOWERINGS", table)
    ckpt = tiny_checkpoint(tmp_path / "ckpt", "gpt2", "causal-lm")
    _export_fails(capsys, tmp_path, ckpt, "--task", "causal-lm", needles=("aten.tanh", "transformer.h.0.mlp"))


# -- the output ------------------------------------------------------------------------------------
def test_existing_output_needs_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = tiny_checkpoint(tmp_path / "ckpt", "distilbert")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, err = main(["export", "--model", str(ckpt), str(out)]), capsys.readouterr().err
    assert code == 2 and "--force" in err
    assert (out / "keep.txt").read_text() == "mine"


def test_validation_failure_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bert_checkpoint: Path
) -> None:
    """An atol no float computation meets: exit 1, the report on stdout, no artifact."""
    before = _tree(tmp_path)
    out = tmp_path / "new" / "out"
    code = main(["export", "--model", str(bert_checkpoint), "--atol", "1e-30", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert "-[x] values not close enough (atol: 1e-30" in captured.out
    assert "Validation FAILED" in captured.out
    assert captured.err.startswith("error: the onnx artifact disagrees with the model beyond atol")
    assert "No artifact was written." in captured.err and len(captured.err.strip().splitlines()) == 1
    assert _tree(tmp_path) == before


def test_validation_failure_keep_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bert_checkpoint: Path
) -> None:
    out = tmp_path / "out"
    code = main(["export", "--model", str(bert_checkpoint), "--atol", "1e-30", "--keep-failed", str(out)])
    captured = capsys.readouterr()
    assert code == 1 and "Validation FAILED" in captured.out
    assert f"The artifact was kept at {out} (--keep-failed)." in captured.err
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "irc.json", "model.onnx"]
    assert json.loads((out / "irc.json").read_text())["validation"]["passed"] is False
    assert not [p for p in tmp_path.iterdir() if ".irc-" in p.name]


# -- the process -----------------------------------------------------------------------------------
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
