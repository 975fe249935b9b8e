"""`seq2seq-lm-with-past`: encoder, decoder, decoder-with-past and merged decoder, each validated,
and greedy generation through them matching `model.generate` token for token."""

from __future__ import annotations

import json
from pathlib import Path

import onnxruntime as ort
import pytest

import irc
from irc.api import trace_model
from irc.frontend.seq2seq import COMPONENTS
from tests.models import tiny_model, types_with

# Larger weights than a checkpoint's make greedy tokens depend on the context (tiny models at
# the default init repeat one token). BART-style configs call the knob init_std, T5-style ones
# initializer_factor; the values picked give the most distinct tokens of those tried whose
# float32 noise stays under ATOL (blenderbot-small, marian and mt5 drift past it when wider). Such
# weights amplify float32 rounding: the PyTorch model differs from its own float64 run by about
# 5e-4 on these logits, so 1e-4 would fail on noise, not on the artifact.
WIDER: dict[str, dict[str, float]] = {
    "bart": {"init_std": 0.5},
    "bigbird_pegasus": {"init_std": 1.0},
    "blenderbot": {"init_std": 0.5},
    "blenderbot-small": {"init_std": 0.5},
    "m2m_100": {"init_std": 1.0},
    "marian": {"init_std": 0.5},
    "mbart": {"init_std": 0.5},
    "plbart": {"init_std": 0.5},
    "t5": {"initializer_factor": 20.0, "d_model": 64, "d_kv": 16},
    "mt5": {"d_model": 64, "d_kv": 16},
    "longt5": {"d_model": 64, "d_kv": 16},
}
ATOL = 2e-3
FAST = {"t5", "bart"}


def _params(types: list[str]) -> list[object]:
    return [t if t in FAST else pytest.param(t, marks=pytest.mark.slow) for t in types]


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("model_type", _params(types_with("seq2seq-lm-with-past")))
def test_components_validate_and_generate(model_type: str, tmp_path: Path) -> None:
    model = tiny_model(model_type, "seq2seq-lm", **WIDER.get(model_type, {}))
    result = irc.export(model, task="seq2seq-lm-with-past", output=tmp_path / "out", atol=ATOL)
    report = result.report
    assert report.passed, report.format()
    assert {c.component for c in report.cases} == set(COMPONENTS)
    pasts = {c.sizes["past_sequence"] for c in report.cases if "past_sequence" in c.sizes}
    assert pasts >= {0, 1}
    generation = report.generation
    assert generation and generation.compared >= 20, generation.format()
    # The second loop, through the merged decoder, is reported when both pass.
    assert "decoder_model_merged" in generation.via
    assert generation.actual_logits is not None and generation.logits_diff <= generation.logits_tolerance
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [f"{c}.onnx" for c in COMPONENTS] + ["irc.json", "config.json", "generation_config.json"]
    )


def test_names_and_dims_follow_the_optimum_layout(tmp_path: Path) -> None:
    model = tiny_model("t5", "seq2seq-lm")
    result = irc.export(model, task="seq2seq-lm-with-past", output=tmp_path / "out", atol=ATOL)
    files = result.artifacts
    layers = model.config.num_decoder_layers

    encoder = _session(files["encoder_model"])
    assert [i.name for i in encoder.get_inputs()] == ["input_ids", "attention_mask"]
    assert [(o.name, o.shape[:2]) for o in encoder.get_outputs()] == [
        ("last_hidden_state", ["batch", "sequence"])
    ]

    self_names = [f"{{}}.{i}.decoder.{k}" for i in range(layers) for k in ("key", "value")]
    both = [
        f"{{}}.{i}.{s}.{k}" for i in range(layers) for s in ("decoder", "encoder") for k in ("key", "value")
    ]
    head = ["input_ids", "encoder_attention_mask"]

    decoder = _session(files["decoder_model"])
    assert [i.name for i in decoder.get_inputs()] == [*head, "encoder_hidden_states"]
    assert [o.name for o in decoder.get_outputs()] == ["logits"] + [n.format("present") for n in both]

    with_past = _session(files["decoder_with_past_model"])
    inputs = {i.name: i.shape for i in with_past.get_inputs()}
    assert list(inputs) == head + [n.format("past_key_values") for n in both]
    outputs = {o.name: o.shape for o in with_past.get_outputs()}
    assert list(outputs) == ["logits"] + [n.format("present") for n in self_names]
    assert inputs["input_ids"] == ["batch", "decoder_sequence"]
    assert inputs["past_key_values.0.decoder.key"][2] == "past_sequence"
    assert inputs["past_key_values.0.encoder.key"][2] == "sequence"
    assert outputs["present.0.decoder.key"][2] == "decoder_sequence + past_sequence"

    merged = _session(files["decoder_model_merged"])
    assert [i.name for i in merged.get_inputs()] == [
        *head,
        "encoder_hidden_states",
        *[n.format("past_key_values") for n in self_names],
    ]

    manifest = json.loads((tmp_path / "out" / "irc.json").read_text())
    assert list(manifest["components"]) == list(COMPONENTS)
    assert manifest["validation"]["generation"]["passed"]


def test_torchscript_components(tmp_path: Path) -> None:
    model = tiny_model("bart", "seq2seq-lm", **WIDER["bart"])
    result = irc.export(
        model, task="seq2seq-lm-with-past", output=tmp_path / "out", backend="torchscript", atol=ATOL
    )
    assert result.report.passed, result.report.format()
    assert sorted(p.name for p in result.artifacts.values()) == sorted(f"{c}.pt" for c in COMPONENTS)


def test_show_needs_a_component(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import irc.frontend.traced

    model = tiny_model("t5", "seq2seq-lm")
    with monkeypatch.context() as patch:  # refused before any of the four models is traced
        patch.setattr(irc.frontend.traced, "_trace_one", lambda *a, **k: pytest.fail("traced"))
        with pytest.raises(irc.IrcError, match="--component"):
            trace_model(model, "seq2seq-lm-with-past")
    with pytest.raises(irc.IrcError, match="decoder_model_merged"):
        trace_model(model, "seq2seq-lm-with-past", component="decoder")
    traced = trace_model(model, "seq2seq-lm-with-past", component="encoder_model")
    assert [v.name for v in traced.graph.outputs] == ["last_hidden_state"]
