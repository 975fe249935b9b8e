"""`irc export --dtype`: float16 (ONNX, TorchScript) and bfloat16 (TorchScript) artifacts of tiny
BERT and GPT-2 validate at the dtype's stated tolerance, and weigh about half as much."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from irc.cli.main import main
from irc.passes.convert_dtype import ATOL
from tests.models import tiny_checkpoint

CASES = [
    (model, task, backend, dtype)
    for model, task in (("bert", "default"), ("gpt2", "causal-lm"))
    for backend, dtype in (("onnx", "float16"), ("torchscript", "float16"), ("torchscript", "bfloat16"))
]


@pytest.mark.parametrize(
    ("model_type", "task", "backend", "dtype"), CASES, ids=["-".join(c[::2] + c[3:]) for c in CASES]
)
def test_export_validates_at_the_dtypes_tolerance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], model_type: str, task: str, backend: str, dtype: str
) -> None:
    checkpoint = tiny_checkpoint(tmp_path / "ckpt", model_type, task)
    out = tmp_path / "out"
    args = ["export", "--model", str(checkpoint), "--task", task, "--backend", backend, "--dtype", dtype]
    code = main([*args, str(out)])
    log = capsys.readouterr().out
    assert code == 0, log
    assert f"Tolerance: atol {ATOL[dtype]:g}, set by --dtype {dtype}" in log and "All good" in log
    manifest = json.loads((out / "irc.json").read_text())
    assert manifest["dtype"] == dtype
    assert manifest["pipeline"].endswith(f"convert-dtype{{dtype={dtype}}}")
    assert manifest["validation"]["tolerance_source"] == f"--dtype {dtype}"
    assert all(s.startswith("f32") for s in manifest["outputs"].values())


@pytest.mark.parametrize("backend", ["onnx", "torchscript"])
def test_float16_artifact_is_about_half_the_size(tmp_path: Path, backend: str) -> None:
    checkpoint = tiny_checkpoint(tmp_path / "ckpt", "gpt2", "causal-lm", n_embd=128, vocab_size=1000)
    sizes = {}
    for dtype in ("float32", "float16"):
        out = tmp_path / dtype
        args = ["export", "--model", str(checkpoint), "--backend", backend, "--dtype", dtype, "--no-validate"]
        assert main([*args, str(out)]) == 0
        sizes[dtype] = sum(f.stat().st_size for f in out.iterdir() if f.suffix in (".onnx", ".pt"))
    assert 0.45 <= sizes["float16"] / sizes["float32"] <= 0.55, sizes


def test_bfloat16_onnx_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkpoint = tiny_checkpoint(tmp_path / "ckpt", "bert")
    code = main(["export", "--model", str(checkpoint), "--dtype", "bfloat16", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "no bfloat16 kernel" in err and "--backend torchscript" in err
    assert not (tmp_path / "out").exists()


def test_float16_with_past_decodes_like_the_model(tmp_path: Path) -> None:
    import irc
    from tests.models import tiny_model

    task = "causal-lm-with-past"
    result = irc.export(tiny_model("gpt2", task), task=task, output=tmp_path / "out", dtype="float16")
    assert result.report.passed and result.report.generation
    past = {k: v for k, v in result.manifest["inputs"].items() if k.startswith("past_key_values.")}
    assert past and all(v.startswith("f32") for v in past.values())
