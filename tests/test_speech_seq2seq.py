"""`speech-seq2seq` and `speech-seq2seq-with-past`: Whisper and Speech2Text exported as encoder,
decoder, decoder with past and merged decoder, validated at other batch sizes, frame counts and
decoder lengths, and greedy generation on two different audio inputs matching `generate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnxruntime as ort
import pytest
import torch

import irc
from irc.cli.main import main
from irc.errors import IrcError
from irc.frontend.seq2seq import COMPONENTS
from tests.models import greedy_model

ATOL = 2e-3
"""As tests/test_seq2seq_with_past.py: the wide init (tests/models.py GREEDY_INIT) amplifies
float32 rounding."""


def speech_model(model_type: str) -> Any:
    """tests/models.py's tiny `model_type` (16 mel bins; Whisper: 32 frames), init widened."""
    return greedy_model(model_type, "speech-seq2seq")


def speech_checkpoint(folder: Path, model_type: str = "whisper") -> Path:
    """A checkpoint folder with its feature extractor's preprocessor_config.json beside it."""
    from transformers import Speech2TextFeatureExtractor, WhisperFeatureExtractor

    speech_model(model_type).save_pretrained(folder)
    if model_type == "whisper":
        WhisperFeatureExtractor(feature_size=16, chunk_length=1, hop_length=500).save_pretrained(folder)
    else:
        Speech2TextFeatureExtractor(feature_size=16, num_mel_bins=16).save_pretrained(folder)
    return folder


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("model_type", ["whisper", pytest.param("speech_to_text", marks=pytest.mark.slow)])
def test_components_validate_and_generate(model_type: str, tmp_path: Path) -> None:
    model = speech_model(model_type)
    result = irc.export(model, task="speech-seq2seq-with-past", output=tmp_path / "out", atol=ATOL)
    report = result.report
    assert report.passed, report.format()
    assert {c.component for c in report.cases} == set(COMPONENTS)
    encoder_batches = {c.sizes["batch"] for c in report.cases if c.component == "encoder_model"}
    assert len(encoder_batches) >= 2 and 2 not in encoder_batches  # other than the trace's
    generation = report.generation
    assert generation and generation.expected.shape[0] == 2 and generation.compared >= 20, generation.format()
    assert generation.distinct >= 4, generation.format()
    assert "decoder_model_merged" in generation.via

    encoder = _session(result.artifacts["encoder_model"])
    (features,) = encoder.get_inputs()
    assert features.name == "input_features"
    if model_type == "whisper":
        # Whisper's encoder takes 2 x max_source_positions frames and no other count.
        assert features.shape == ["batch", 16, 32]
    else:
        assert features.shape == ["batch", "frames", 16]
        frames = {c.sizes["frames"] for c in report.cases if c.component == "encoder_model"}
        assert len(frames) >= 2 and 40 not in frames
    decoder = _session(result.artifacts["decoder_model"])
    # Neither encoder takes a mask here, so the decoders take none either.
    assert [i.name for i in decoder.get_inputs()] == ["input_ids", "encoder_hidden_states"]
    assert decoder.get_inputs()[1].shape == ["batch", "encoder_sequence", 32]


@pytest.mark.slow
def test_features_of_another_length_run_through_speech_to_text(tmp_path: Path) -> None:
    """The encoder's output length follows the frames (4x subsampling), not the trace's 40."""
    model = speech_model("speech_to_text")
    result = irc.export(model, task="speech-seq2seq-with-past", output=tmp_path / "out", atol=ATOL)
    features = torch.randn(1, 57, 16)
    (hidden,) = _session(result.artifacts["encoder_model"]).run(None, {"input_features": features.numpy()})
    with torch.no_grad():
        want = model.get_encoder()(input_features=features).last_hidden_state
    assert hidden.shape == tuple(want.shape) == (1, 15, 32)
    assert float((torch.from_numpy(hidden) - want).abs().max()) < ATOL


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model_type", "task"),
    [("whisper", "speech-seq2seq-with-past"), ("vision-encoder-decoder", "image-to-text-with-past")],
)
def test_torchscript_exports_encoder_decoders_with_past(model_type: str, task: str, tmp_path: Path) -> None:
    """Whisper, and a TrOCR-like image-to-text model (tests/test_image_to_text.py), as TorchScript."""
    model = greedy_model(model_type, task.removesuffix("-with-past"))
    result = irc.export(model, task=task, output=tmp_path / "out", backend="torchscript", atol=ATOL)
    assert result.report.passed, result.report.format()
    assert result.report.generation and result.report.generation.distinct >= 4
    assert sorted(result.artifacts) == sorted(COMPONENTS)


def test_speech_seq2seq_without_past_is_one_model(tmp_path: Path) -> None:
    result = irc.export(speech_model("whisper"), task="speech-seq2seq", output=tmp_path / "out", atol=ATOL)
    assert result.report.passed, result.report.format()
    session = _session(result.artifacts["model"])
    assert [i.name for i in session.get_inputs()] == ["input_features", "decoder_input_ids"]


def test_checkpoint_lists_detects_and_carries_its_feature_extractor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = speech_checkpoint(tmp_path / "ckpt")
    assert main(["tasks", "--model", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert "task irc exports without --task: speech-seq2seq" in out
    lines = out.splitlines()
    assert any(line.startswith("* speech-seq2seq ") for line in lines)
    assert any(line.startswith("  speech-seq2seq-with-past ") for line in lines)
    assert "input_features[batch, 16, 32]" in out

    assert main(["export", "--model", str(ckpt), "--atol", str(ATOL), str(tmp_path / "out")]) == 0
    assert json.loads((tmp_path / "out" / "irc.json").read_text())["task"] == "speech-seq2seq"
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"model.onnx", "preprocessor_config.json", "config.json", "generation_config.json"} <= names


def test_neuron_refuses_the_cache_and_says_what_to_export(tmp_path: Path) -> None:
    with pytest.raises(IrcError, match="Export speech-seq2seq \\(one model, no cache\\)"):
        irc.export(speech_model("whisper"), "speech-seq2seq-with-past", tmp_path / "out", backend="neuron")
    assert not (tmp_path / "out").exists()
