"""Tiny transformers models end to end: trace, lower to ONNX, run ONNX Runtime at shapes other
than the traced one (with padded attention masks) and compare with the model itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx
import pytest
import torch

from irc.backends import get_backend
from tests.models import traced_tiny

HEADS = ("masked-lm", "sequence-classification", "token-classification", "question-answering")
CELLS = [
    *[("bert", t) for t in ("default", "causal-lm", *HEADS)],
    *[("distilbert", t) for t in ("default", *HEADS)],
    *[("roberta", t) for t in ("default", "causal-lm", *HEADS)],
    *[("gpt2", t) for t in ("default", "causal-lm", "sequence-classification", "token-classification")],
]
TRACED = {"batch": 2, "sequence": 8}
OTHER_SHAPES = ({"batch": 1, "sequence": 5}, {"batch": 3, "sequence": 13})


def export(model_type: str, task: str, folder: Path, **options: Any) -> tuple[Any, Path]:
    traced = traced_tiny(model_type, task)
    assert traced.sizes == TRACED
    path = get_backend("onnx").lower_one(traced.graph, folder, **options)
    return traced, path


@pytest.mark.parametrize(("model_type", "task"), CELLS, ids=[f"{m}-{t}" for m, t in CELLS])
def test_model_matches_reference_at_other_shapes(model_type: str, task: str, tmp_path: Path) -> None:
    traced, path = export(model_type, task, tmp_path)
    onnx.checker.check_model(str(path), full_check=True)
    with get_backend("onnx").load(tmp_path) as runner:
        session_inputs = runner.session.get_inputs()
        assert [i.shape for i in session_inputs] == [["batch", "sequence"]] * len(traced.specs)
        for seed, sizes in enumerate(OTHER_SHAPES):
            inputs = traced.make_inputs(sizes, seed=seed + 1)
            expected = traced.reference(inputs)
            actual = runner.run(inputs)
            assert list(actual) == list(expected)
            for name, want in expected.items():
                torch.testing.assert_close(
                    actual[name], want, atol=1e-4, rtol=1e-4, msg=lambda m, n=name: f"{n}: {m}"
                )


def test_gpt2_tied_embedding_is_one_initializer(tmp_path: Path) -> None:
    _, path = export("gpt2", "causal-lm", tmp_path)
    names = [t.name for t in onnx.load(path).graph.initializer]
    assert len(names) == len(set(names))
    tied = [n for n in names if n in ("lm_head.weight", "transformer.wte.weight")]
    assert len(tied) == 1, names


@pytest.mark.parametrize(("model_type", "opset"), [("gpt2", 15), ("bert", 15), ("gpt2", 21)])
def test_other_opsets(model_type: str, opset: int, tmp_path: Path) -> None:
    """Below 17 LayerNormalization and below 18 Reduce* axes-inputs are not available; 20+ has Gelu."""
    task = "causal-lm" if model_type == "gpt2" else "default"
    traced, path = export(model_type, task, tmp_path, opset=opset)
    assert onnx.load(path).opset_import[0].version == opset
    inputs = traced.make_inputs(OTHER_SHAPES[1], seed=3)
    expected = traced.reference(inputs)
    with get_backend("onnx").load(tmp_path) as runner:
        actual = runner.run(inputs)
    for name, want in expected.items():
        torch.testing.assert_close(actual[name], want, atol=1e-4, rtol=1e-4)
