"""Families that need the ops added for issue 15: mixture-of-experts decoders (grouped matmul,
top-k routing, sort, histc, index_put), DeBERTa's relative attention (min/max in symbolic dims,
`item`), and vision models with group norm and average pooling; each exported to ONNX and
TorchScript and validated at shapes other than the traced one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import irc
from irc.ir.dims import parse_dim

_DECODER = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    # transformers' eager experts use torch's grouped_mm, which on CPU wants 16-byte aligned rows.
    intermediate_size=32,
    vocab_size=99,
    max_position_embeddings=64,
    pad_token_id=0,
    bos_token_id=0,
    eos_token_id=0,
)
CONFIGS: dict[str, dict[str, Any]] = {
    "qwen2_moe": dict(
        _DECODER,
        moe_intermediate_size=16,
        shared_expert_intermediate_size=24,
        num_experts=4,
        num_experts_per_tok=2,
    ),
    "mixtral": dict(_DECODER, num_local_experts=4, num_experts_per_tok=2),
    "deberta": dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        vocab_size=99,
        max_position_embeddings=64,
        type_vocab_size=2,
        # As the microsoft/deberta checkpoints ship.
        relative_attention=True,
        pos_att_type=["c2p", "p2c"],
    ),
    "poolformer": dict(
        depths=[1, 1],
        hidden_sizes=[8, 16],
        patch_sizes=[7, 3],
        strides=[4, 2],
        padding=[2, 1],
        num_encoder_blocks=2,
    ),
}
BACKENDS = ("onnx", "torchscript")


def _model(model_type: str, auto: str, **overrides: Any) -> Any:
    import transformers
    from transformers import AutoConfig

    torch.manual_seed(0)
    config = AutoConfig.for_model(model_type, **{**CONFIGS[model_type], **overrides})
    config.architectures = []
    return getattr(transformers, auto).from_config(config).eval()


def _export(model: Any, task: str, backend: str, tmp_path: Path) -> Any:
    result = irc.export(model, task=task, output=tmp_path / "out", backend=backend)
    assert result.report.passed, result.report.format()
    assert len(result.report.cases) >= 2
    return result.report


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("model_type", ["qwen2_moe", "mixtral"])
def test_moe_decoder_causal_lm(model_type: str, backend: str, tmp_path: Path) -> None:
    _export(_model(model_type, "AutoModelForCausalLM"), "causal-lm", backend, tmp_path)


@pytest.mark.parametrize("backend", BACKENDS)
def test_moe_decoder_with_past_generates(backend: str, tmp_path: Path) -> None:
    model = _model("qwen2_moe", "AutoModelForCausalLM", initializer_range=0.7)
    report = _export(model, "causal-lm-with-past", backend, tmp_path)
    assert report.generation and report.generation.distinct >= 8, report.generation.format()


@pytest.mark.parametrize("backend", BACKENDS)
def test_deberta_relative_attention(backend: str, tmp_path: Path) -> None:
    _export(_model("deberta", "AutoModelForMaskedLM"), "masked-lm", backend, tmp_path)


@pytest.mark.parametrize("backend", BACKENDS)
def test_poolformer_group_norm_and_avg_pool(backend: str, tmp_path: Path) -> None:
    _export(
        _model("poolformer", "AutoModelForImageClassification"), "image-classification", backend, tmp_path
    )


def test_min_max_dims_round_trip() -> None:
    dim = parse_dim("min(sequence, 512) + 1")
    assert str(dim) == "min(512, sequence) + 1"
    assert parse_dim(str(dim)) == dim
    assert dim.evaluate({"sequence": 7}) == 8 and dim.evaluate({"sequence": 600}) == 513
    assert parse_dim("max(1, sequence)") == parse_dim("sequence")
