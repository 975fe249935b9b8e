"""Speech encoders on log-mel `input_features` (irc/frontend/audio_features.py): the layout read off
the type's feature extractor, the export validated at frame counts other than the traced one, and
the artifact run again here at two more frame counts on a padded batch, so a frame count or a
mask baked at the trace fails.

Parakeet's CTC head takes (batch, frames, bins) and an attention mask over frames; LASR's takes
(batch, frames, bins) without one (its extractor returns none by default); Qwen2-Audio's encoder
takes Whisper's (batch, bins, frames) at the one length its extractor pads every clip to, and
AudioFlamingo3's the same with the `input_features_mask` it reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnxruntime as ort
import pytest
import torch

import irc
from benchmarks.tiny_configs import tiny_config, tiny_model
from irc.errors import TaskError
from irc.frontend.dummy import make_inputs
from irc.frontend.tasks import model_inputs

FRAMES = (23, 57)


def _inputs(model_type: str, task: str, frames: int, seed: int) -> dict[str, torch.Tensor]:
    config = tiny_config(model_type)
    specs = model_inputs(model_type, task, config)
    return make_inputs(specs, config, {"batch": 3, "frames": frames}, seed=seed, pad=True)


def _reference(model: Any, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        return model(**inputs, return_dict=True).logits


def test_layout_follows_the_feature_extractor() -> None:
    parakeet = model_inputs("parakeet_ctc", "ctc", tiny_config("parakeet_ctc"))
    assert [(s.name, s.axes) for s in parakeet] == [
        ("input_features", ("batch", "frames", 80)),
        ("attention_mask", ("batch", "frames")),
    ]
    lasr = model_inputs("lasr_ctc", "ctc", tiny_config("lasr_ctc"))
    assert [(s.name, s.axes) for s in lasr] == [("input_features", ("batch", "frames", 128))]
    # Whisper's extractor pads every clip to 3000 frames, twice the encoder's 1500 positions.
    config = tiny_config("qwen2_audio_encoder")
    (whisper,) = model_inputs("qwen2_audio_encoder", "default", config)
    assert whisper.axes == ("batch", config.num_mel_bins, 2 * config.max_source_positions)
    # Qwen2-Audio's encoder takes an attention_mask it would add to attention scores: not the frames'.
    config = tiny_config("audioflamingo3_encoder")
    flamingo = model_inputs("audioflamingo3_encoder", "default", config)
    frames = 2 * config.max_source_positions
    assert [(s.name, s.axes) for s in flamingo] == [
        ("input_features", ("batch", config.num_mel_bins, frames)),
        ("input_features_mask", ("batch", frames)),
    ]


def test_an_extractor_without_input_features_is_refused_saying_so() -> None:
    # wav2vec2-bert's mapped extractor (Wav2Vec2FeatureExtractor) returns raw input_values.
    with pytest.raises(TaskError, match="Wav2Vec2FeatureExtractor.*no input_features"):
        model_inputs("wav2vec2-bert", "ctc", tiny_config("wav2vec2-bert"))


@pytest.mark.parametrize("model_type", ["parakeet_ctc", "lasr_ctc"])
def test_onnx_ctc_follows_the_frame_count(model_type: str, tmp_path: Path) -> None:
    model = tiny_model(model_type, "ctc")
    result = irc.export(model, "ctc", tmp_path / "out")
    assert result.report.passed and len(result.report.cases) >= 2, result.report.format()
    traced = result.manifest["traced_sizes"]["frames"]
    assert all(c.sizes["frames"] != traced for c in result.report.cases)
    session = ort.InferenceSession(str(result.artifact), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[:2] == ["batch", "frames"]
    for seed, frames in enumerate(FRAMES):
        inputs = _inputs(model_type, "ctc", frames, seed)
        if "attention_mask" in inputs:
            assert not inputs["attention_mask"].all()  # a padded batch
        (actual,) = session.run(None, {k: v.numpy() for k, v in inputs.items()})
        expected = _reference(model, inputs)
        assert actual.shape == tuple(expected.shape)
        torch.testing.assert_close(torch.from_numpy(actual), expected, atol=1e-4, rtol=1e-3)


def test_torchscript_ctc_follows_the_frame_count(tmp_path: Path) -> None:
    model = tiny_model("parakeet_ctc", "ctc")
    result = irc.export(model, "ctc", tmp_path / "out", backend="torchscript")
    assert result.report.passed, result.report.format()
    module = torch.jit.load(str(result.artifact))
    for seed, frames in enumerate(FRAMES):
        inputs = _inputs("parakeet_ctc", "ctc", frames, seed)
        with torch.no_grad():
            out = module(**inputs)
        actual = out["logits"] if isinstance(out, dict) else out[0]
        torch.testing.assert_close(actual, _reference(model, inputs), atol=1e-4, rtol=1e-3)


def test_a_speech_llm_is_not_exported_deaf() -> None:
    # Its text alone would validate and give a model with no way to take the audio.
    for model_type, task in (("voxtral", "default"), ("qwen2_audio", "seq2seq-lm")):
        with pytest.raises(TaskError, match="as features placed at audio tokens.*lacks the audio encoder"):
            model_inputs(model_type, task, tiny_config(model_type))


def test_transducers_and_streaming_caches_are_refused_saying_what_irc_lacks() -> None:
    with pytest.raises(TaskError, match="transducer.*decoder_cache"):
        model_inputs("parakeet_tdt", "default", tiny_config("parakeet_tdt"))
    config = tiny_config("nemotron_asr_streaming_encoder")
    with pytest.raises(TaskError, match="streaming cache.*cannot make an input"):
        model_inputs("nemotron_asr_streaming_encoder", "default-with-past", config)
