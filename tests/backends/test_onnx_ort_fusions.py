"""`ort_fusions`: tiny models with com.microsoft kernels, run in ONNX Runtime against the same
models lowered without them and against the model itself (padded masks, a row with every key
masked, a cache)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx
import pytest
import torch

from irc.api import run_pipeline, trace_model
from irc.backends import get_backend
from irc.backends.onnx import OnnxBackend
from irc.errors import IrcError, LoweringError
from tests.backends.util import GraphMaker
from tests.models import tiny_model

CELLS = [
    ("bert", "default", "default", [{"batch": 3, "sequence": 13}]),
    (
        "gpt2",
        "causal-lm",
        "causal-lm-with-past",
        [{"batch": 2, "sequence": 1, "past_sequence": 9}, {"batch": 3, "sequence": 5, "past_sequence": 0}],
    ),
]


def _lowered(model: Any, task: str, folder: Path, fused: bool) -> tuple[Any, Path]:
    traced = trace_model(model, task)
    pipeline = OnnxBackend.ort_pipeline if fused else OnnxBackend.default_pipeline
    run_pipeline(traced.graph, pipeline)
    folder.mkdir()
    return traced, get_backend("onnx").lower_one(traced.graph, folder, ort_fusions=fused)


def _run(folder: Path, inputs: dict[str, Any]) -> dict[str, Any]:
    with get_backend("onnx").load(folder) as runner:
        return runner.run(inputs)


@pytest.mark.parametrize(("model_type", "model_task", "task", "sizes"), CELLS, ids=[c[0] for c in CELLS])
def test_fused_model_matches_unfused_and_reference(
    model_type: str, model_task: str, task: str, sizes: list[dict[str, int]], tmp_path: Path
) -> None:
    model = tiny_model(model_type, model_task)
    traced, plain = _lowered(model, task, tmp_path / "plain", fused=False)
    _, fused = _lowered(model, task, tmp_path / "fused", fused=True)
    ops = [(n.domain, n.op_type) for n in onnx.load(fused).graph.node if n.domain]
    layers = model.config.num_hidden_layers
    # BERT's self-attention is ORT's Attention (packed QKV); attention over a cache is ort-gqa's
    # GroupQueryAttention (it appends to the past itself).
    if task.endswith("-with-past"):
        attention = "GroupQueryAttention"
    else:
        attention = "Attention" if model_type == "bert" else "MultiHeadAttention"
    assert ops.count(("com.microsoft", attention)) == layers, ops
    gelus = [op for op in ops if "Gelu" in op[1]]
    assert len(set(gelus)) == 1 and len(gelus) == layers, ops
    for seed, binding in enumerate(sizes):
        inputs = traced.make_inputs(binding, seed=seed + 1)
        if "attention_mask" in inputs:
            inputs["attention_mask"][0] = 0  # every key of the first row masked
        expected = _run(plain.parent, inputs)
        actual = _run(fused.parent, inputs)
        reference = traced.reference(inputs)
        for name, want in expected.items():
            torch.testing.assert_close(
                actual[name], want, atol=1e-5, rtol=1e-4, msg=lambda m, n=name: f"{n}: {m}"
            )
            torch.testing.assert_close(
                actual[name], reference[name], atol=1e-4, rtol=1e-4, msg=lambda m, n=name: f"{n}: {m}"
            )


def test_ort_ops_need_the_option(tmp_path: Path) -> None:
    b = GraphMaker()
    b.output(b.op("irc.fast_gelu", b.input("x", "f32", ("batch", 4))))
    with pytest.raises(LoweringError, match="--ort-fusions"):
        get_backend("onnx").lower_one(b.graph, tmp_path)


def test_export_with_ort_fusions_validates(tmp_path: Path) -> None:
    import irc

    model = tiny_model("gpt2", "causal-lm", initializer_range=0.7)
    result = irc.export(model, task="causal-lm-with-past", output=tmp_path / "out", ort_fusions=True)
    assert result.report.passed, result.report.format()
    assert result.manifest["pipeline"] == OnnxBackend.ort_pipeline
    assert result.manifest["options"] == {"opset": 18, "external_data": False, "ort_fusions": True}
    with pytest.raises(IrcError, match="option of the onnx backend"):
        irc.export(model, task="causal-lm", output=tmp_path / "ts", backend="torchscript", ort_fusions=True)
