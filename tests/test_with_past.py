"""`causal-lm-with-past`: the cache as named inputs/outputs, validated at past lengths 0, 1 and
more, and greedy generation through the artifact matching `model.generate` token for token."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort
import pytest

import irc
from tests.models import encoder_as_decoder, tiny_model, types_with

# A tiny decoder at the default initializer range mostly repeats one token, which a broken
# cache would reproduce too; larger weights make the tokens depend on the whole context.
# OPT's tiny model picks its end-of-sequence id (2) first; moving it keeps 20 tokens to compare.
WIDER = {"bloom": {"hidden_size": 64}, "opt": {"eos_token_id": 98}, "falcon": {"hidden_size": 64}}
# At this initializer range qwen2's logits reach 16; on a left-padded case with a 9-token past
# ONNX Runtime's float32 order moves them by up to 1.4e-4 (measured), noise at that scale.
ATOL = {"qwen2": 2e-4}


def _params() -> list[object]:
    """Every test model type the frontend exports with past. Encoders with a causal-lm head (BERT
    and its kin) run as decoders with `is_decoder: true`, as their decoder checkpoints are
    configured; they are the same code path many times over, so they run with `-m slow`."""
    return [
        pytest.param(t, marks=pytest.mark.slow) if encoder_as_decoder(t) else t
        for t in types_with("causal-lm-with-past")
        if t not in NO_CACHE
    ]


NO_CACHE = {"xlm": "XLMWithLMHeadModel.forward takes no transformers Cache"}
"""Heads whose forward takes a `cache` argument that is not a transformers Cache (XLM keeps a dict
of its own and returns none): irc does not list the task and refuses it before loading."""


@pytest.mark.parametrize("model_type", sorted(NO_CACHE))
def test_a_head_that_returns_no_cache_is_refused_with_why(model_type: str, tmp_path: Path) -> None:
    model = tiny_model(model_type, "causal-lm")
    with pytest.raises(irc.IrcError, match=NO_CACHE[model_type]):
        irc.export(model, task="causal-lm-with-past", output=tmp_path / "out")


def test_an_encoder_with_a_causal_lm_head_says_to_set_is_decoder(tmp_path: Path) -> None:
    with pytest.raises(irc.IrcError, match="set is_decoder: true in config.json"):
        irc.export(tiny_model("bert", "causal-lm"), task="causal-lm-with-past", output=tmp_path / "out")


@pytest.mark.parametrize("model_type", _params())
def test_with_past_exports_validates_and_generates(model_type: str, tmp_path: Path) -> None:
    if encoder_as_decoder(model_type):
        # At initializer_range 0.7 their float32 noise passes atol 1e-4; the default init already
        # gives them many distinct greedy tokens.
        model = tiny_model(model_type, "causal-lm", is_decoder=True)
    else:
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
