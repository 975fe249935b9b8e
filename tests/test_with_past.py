"""`causal-lm-with-past`: the cache as named inputs/outputs, validated at past lengths 0, 1 and
more, and greedy generation through the artifact matching `model.generate` token for token."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort
import pytest

import irc
from irc.frontend.tasks import DECODERS
from tests.models import tiny_model

# A tiny decoder at the default initializer range mostly repeats one token, which a broken
# cache would reproduce too; larger weights make the tokens depend on the whole context.
# OPT's tiny model picks its end-of-sequence id (2) first; moving it keeps 20 tokens to compare.
WIDER = {"bloom": {"hidden_size": 64}, "opt": {"eos_token_id": 98}, "falcon": {"hidden_size": 64}}
# At this initializer range qwen2's logits reach 16; on a left-padded case with a 9-token past
# ONNX Runtime's float32 order moves them by up to 1.4e-4 (measured), noise at that scale.
ATOL = {"qwen2": 2e-4}


@pytest.mark.parametrize("model_type", sorted(DECODERS))
def test_with_past_exports_validates_and_generates(model_type: str, tmp_path: Path) -> None:
    model = tiny_model(model_type, "causal-lm", initializer_range=0.7, **WIDER.get(model_type, {}))
    result = irc.export(model, task="causal-lm-with-past", output=tmp_path / "out", atol=ATOL.get(model_type))
    report = result.report
    assert report.passed, report.format()
    assert {c.sizes["past_sequence"] for c in report.cases} >= {0, 1}
    assert report.generation and report.generation.distinct >= 8, report.generation.format()
    assert report.generation.compared >= 20, report.generation.format()

    session = ort.InferenceSession(str(result.artifact), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    layers = len([n for n in names if n.endswith(".key")])
    positions = ["position_ids"] if model_type != "bloom" else []  # ALiBi: no positions
    assert names[: 2 + len(positions)] == ["input_ids", "attention_mask", *positions]
    assert names[2 + len(positions) :] == [
        f"past_key_values.{i}.{k}" for i in range(layers) for k in ("key", "value")
    ]
    assert [o.name for o in session.get_outputs()] == ["logits"] + [
        f"present.{i}.{k}" for i in range(layers) for k in ("key", "value")
    ]
    inputs = {i.name: i.shape for i in session.get_inputs()}
    outputs = {o.name: o.shape for o in session.get_outputs()}
    assert inputs["attention_mask"] == ["batch", "past_sequence + sequence"]
    assert inputs["past_key_values.0.key"][2] == "past_sequence"
    assert outputs["present.0.key"][2] == "past_sequence + sequence"
