"""Speech encoders on raw audio: `ctc` and `audio-classification` (wav2vec2, HuBERT, WavLM),
exported, validated at lengths other than the traced one, and run again here at two more
lengths (2000 and 1234 samples, on a padded batch where the model takes a mask), so a frame
count or a padding baked at the traced 16000 samples fails."""

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
from irc.frontend.dummy import make_inputs
from irc.frontend.tasks import model_inputs, supported_tasks
from tests.models import base_type, tiny_checkpoint, tiny_config, tiny_model

FAMILIES = (
    "wav2vec2+layer-norm",
    # The default run's coverage cells export ctc for these; the rest of their cells are slow.
    pytest.param("hubert", marks=pytest.mark.slow),
    pytest.param("wavlm", marks=pytest.mark.slow),
)
TASKS = ("ctc", "audio-classification")
LENGTHS = (2000, 1234)


def _inputs(model_type: str, task: str, samples: int, seed: int) -> dict[str, torch.Tensor]:
    config = tiny_config(model_type)
    specs = model_inputs(base_type(model_type), task, config)
    return make_inputs(specs, config, {"batch": 3, "samples": samples}, seed=seed, pad=True)


def _reference(model: Any, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        return model(**inputs, return_dict=True).logits


def test_waveform_inputs_follow_the_feature_extractors_norm() -> None:
    group = model_inputs("wav2vec2", "ctc", tiny_config("wav2vec2"))
    layer = model_inputs("wav2vec2", "ctc", tiny_config("wav2vec2+layer-norm"))
    assert [(s.name, s.axes, s.dtype) for s in group] == [("input_values", ("batch", "samples"), "float32")]
    assert [(s.name, s.axes) for s in layer] == [
        ("input_values", ("batch", "samples")),
        ("attention_mask", ("batch", "samples")),
    ]
    for model_type in ("wav2vec2", "hubert", "wavlm", "sew", "data2vec-audio"):
        tasks = supported_tasks(model_type, tiny_config(model_type))
        assert {"ctc", "audio-classification"} <= set(tasks), (model_type, tasks)


def test_padded_audio_is_silent_where_the_mask_hides_it() -> None:
    inputs = _inputs("wav2vec2+layer-norm", "ctc", 1234, seed=3)
    values, mask = inputs["input_values"], inputs["attention_mask"]
    assert mask[0].all() and not mask[1:].all()
    assert (mask.sum(-1) >= 617).all()  # every row keeps at least half its samples
    assert (values[mask == 0] == 0).all() and (values[mask == 1] != 0).all()
    assert 0.05 < values[mask == 1].std() < 0.2


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("model_type", FAMILIES)
def test_onnx_follows_the_input_length(model_type: str, task: str, tmp_path: Path) -> None:
    model = tiny_model(model_type, task)
    result = irc.export(model, task, tmp_path / "out")
    assert result.report.passed and len(result.report.cases) >= 2, result.report.format()
    assert all(c.sizes["samples"] != 16000 for c in result.report.cases)
    session = ort.InferenceSession(str(result.artifact), providers=["CPUExecutionProvider"])
    assert [i.shape for i in session.get_inputs()][0] == ["batch", "samples"]
    for seed, samples in enumerate(LENGTHS):
        inputs = _inputs(model_type, task, samples, seed)
        (actual,) = session.run(None, {k: v.numpy() for k, v in inputs.items()})
        expected = _reference(model, inputs)
        assert actual.shape == tuple(expected.shape)
        torch.testing.assert_close(torch.from_numpy(actual), expected, atol=1e-4, rtol=1e-3)
    if task == "ctc":
        frames = result.manifest["outputs"]["logits"]
        assert "samples" in frames, frames  # the frame count is a function of the input length


def test_torchscript_ctc_follows_the_input_length(tmp_path: Path) -> None:
    model = tiny_model("wav2vec2+layer-norm", "ctc")
    result = irc.export(model, "ctc", tmp_path / "out", backend="torchscript")
    assert result.report.passed, result.report.format()
    module = torch.jit.load(str(result.artifact))
    for seed, samples in enumerate(LENGTHS):
        inputs = _inputs("wav2vec2+layer-norm", "ctc", samples, seed)
        with torch.no_grad():
            out = module(**inputs)
        actual = out["logits"] if isinstance(out, dict) else out[0]
        torch.testing.assert_close(actual, _reference(model, inputs), atol=1e-4, rtol=1e-3)


def test_cli_picks_ctc_from_the_checkpoint_and_ships_its_feature_extractor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from transformers import Wav2Vec2FeatureExtractor

    ckpt = tiny_checkpoint(tmp_path / "ckpt", "wav2vec2", "ctc")
    Wav2Vec2FeatureExtractor(return_attention_mask=False).save_pretrained(ckpt)
    assert main(["tasks", "--model", str(ckpt)]) == 0
    listing = capsys.readouterr().out
    assert "task irc exports without --task: ctc" in listing
    assert "input_values[batch, samples]" in listing and "attention_mask" not in listing
    out = tmp_path / "out"
    assert main(["export", "--model", str(ckpt), str(out)]) == 0, capsys.readouterr().out
    manifest = json.loads((out / "irc.json").read_text())
    assert manifest["task"] == "ctc" and list(manifest["inputs"]) == ["input_values"]
    assert "preprocessor_config.json" in manifest["client_files"]["copied"]
    shipped = json.loads((out / "preprocessor_config.json").read_text())
    assert shipped["feature_extractor_type"] == "Wav2Vec2FeatureExtractor"


def test_neuron_refuses_raw_audio_saying_why(tmp_path: Path) -> None:
    model = tiny_model("wav2vec2", "ctc")
    with pytest.raises(IrcError, match="group-norm feature extractor.*--backend onnx or torchscript"):
        irc.export(model, "ctc", tmp_path / "out", backend="neuron")
    assert not (tmp_path / "out").exists()


def test_xvector_with_a_mask_is_refused_saying_why() -> None:
    from irc.errors import TaskError
    from irc.frontend.tasks import get_task

    assert "audio-xvector" in supported_tasks("wav2vec2", tiny_config("wav2vec2"))
    with pytest.raises(TaskError, match="loop over the batch.*feat_extract_norm: group"):
        get_task("audio-xvector", "wav2vec2", tiny_config("wav2vec2+layer-norm"))
