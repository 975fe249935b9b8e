"""Families that need the ops added for issue 15: mixture-of-experts decoders (grouped matmul,
top-k routing, sort, histc, index_put), DeBERTa's relative attention (min/max in symbolic dims,
`item`), and vision models with group norm and average pooling; each exported to ONNX and
TorchScript and validated at shapes other than the traced one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import irc
from irc.ir.dims import parse_dim
from tests.models import tiny_model

BACKENDS = ("onnx", "torchscript")


def _model(model_type: str, task: str, **overrides: Any) -> Any:
    """The tiny test model of tests/models.py (a variant name such as `deberta+relative-attention`
    gives the config its real checkpoints ship)."""
    return tiny_model(model_type, task, **overrides)


def _export(model: Any, task: str, backend: str, tmp_path: Path) -> Any:
    result = irc.export(model, task=task, output=tmp_path / "out", backend=backend)
    assert result.report.passed, result.report.format()
    assert len(result.report.cases) >= 2
    return result.report


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("model_type", ["qwen2_moe", "mixtral"])
def test_moe_decoder_causal_lm(model_type: str, backend: str, tmp_path: Path) -> None:
    _export(_model(model_type, "causal-lm"), "causal-lm", backend, tmp_path)


@pytest.mark.parametrize("backend", BACKENDS)
def test_moe_decoder_with_past_generates(backend: str, tmp_path: Path) -> None:
    model = _model("qwen2_moe", "causal-lm", initializer_range=0.7)
    report = _export(model, "causal-lm-with-past", backend, tmp_path)
    assert report.generation and report.generation.distinct >= 8, report.generation.format()


@pytest.mark.parametrize("backend", BACKENDS)
def test_deberta_relative_attention(backend: str, tmp_path: Path) -> None:
    _export(_model("deberta+relative-attention", "masked-lm"), "masked-lm", backend, tmp_path)


@pytest.mark.parametrize("backend", BACKENDS)
def test_poolformer_group_norm_and_avg_pool(backend: str, tmp_path: Path) -> None:
    _export(_model("poolformer", "image-classification"), "image-classification", backend, tmp_path)


def test_min_max_dims_round_trip() -> None:
    dim = parse_dim("min(sequence, 512) + 1")
    assert str(dim) == "min(512, sequence) + 1"
    assert parse_dim(str(dim)) == dim
    assert dim.evaluate({"sequence": 7}) == 8 and dim.evaluate({"sequence": 600}) == 513
    assert parse_dim("max(1, sequence)") == parse_dim("sequence")
