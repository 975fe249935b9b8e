"""`image-to-text` and `image-to-text-with-past`: vision-encoder-decoder checkpoints (a TrOCR-like
ViT + TrOCR and a Donut-like Swin + MBart) exported as encoder, decoder, decoder with past and
merged decoder, validated at other shapes, and greedy generation on two different images
matching `generate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnxruntime as ort
import pytest

import irc
from irc.cli.main import main
from irc.frontend.seq2seq import COMPONENTS
from tests.models import greedy_model

ATOL = 2e-3
"""As tests/test_seq2seq_with_past.py: the wide init (tests/models.py GREEDY_INIT) amplifies
float32 rounding."""

PROCESSOR = {
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "image_mean": [0.5, 0.5, 0.5],
    "image_processor_type": "ViTImageProcessor",
    "image_std": [0.5, 0.5, 0.5],
    "resample": 2,
    "rescale_factor": 0.00392156862745098,
    "size": {"height": 32, "width": 32},
}
KINDS = {"trocr": "vision-encoder-decoder", "donut": "vision-encoder-decoder+swin-mbart"}
"""tests/models.py's tiny vision-encoder-decoders: TrOCR-like ViT + TrOCR and Donut-like Swin + MBart."""


def image_to_text_model(kind: str) -> Any:
    return greedy_model(KINDS.get(kind, kind), "image-to-text")


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize(
    ("kind", "width"), [("trocr", 32), pytest.param("donut", 32, marks=pytest.mark.slow)]
)
def test_components_validate_and_generate(kind: str, width: int, tmp_path: Path) -> None:
    result = irc.export(
        image_to_text_model(kind), task="image-to-text-with-past", output=tmp_path / "out", atol=ATOL
    )
    report = result.report
    assert report.passed, report.format()
    assert {c.component for c in report.cases} == set(COMPONENTS)
    generation = report.generation
    assert generation and generation.expected.shape[0] == 2 and generation.compared >= 20, generation.format()
    assert generation.distinct >= 5, generation.format()

    encoder = _session(result.artifacts["encoder_model"])
    assert [(i.name, i.shape) for i in encoder.get_inputs()] == [("pixel_values", ["batch", 3, 32, 32])]
    merged = _session(result.artifacts["decoder_model_merged"])
    names = [i.name for i in merged.get_inputs()]
    assert names[:2] == ["input_ids", "encoder_hidden_states"] and "encoder_attention_mask" not in names
    # The encoder's own width: the decoder projects it where the widths differ (Donut here).
    assert merged.get_inputs()[1].shape == ["batch", "encoder_sequence", width]


@pytest.mark.slow
def test_pix2struct_takes_flattened_patches_and_their_mask(tmp_path: Path) -> None:
    result = irc.export(
        image_to_text_model("pix2struct"), task="image-to-text-with-past", output=tmp_path / "out", atol=ATOL
    )
    report = result.report
    assert report.passed, report.format()
    assert report.generation and report.generation.compared >= 20 and report.generation.distinct >= 5
    encoder = _session(result.artifacts["encoder_model"])
    assert [(i.name, i.shape) for i in encoder.get_inputs()] == [
        ("flattened_patches", ["batch", "sequence", 50]),
        ("attention_mask", ["batch", "sequence"]),
    ]
    # Its encoder takes a mask over the patches, so its decoders take it as encoder_attention_mask.
    decoder = _session(result.artifacts["decoder_model"])
    assert [i.name for i in decoder.get_inputs()] == [
        "input_ids",
        "encoder_attention_mask",
        "encoder_hidden_states",
    ]


def test_checkpoint_lists_detects_and_carries_its_image_processor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = tmp_path / "ckpt"
    image_to_text_model("trocr").save_pretrained(ckpt)
    # TrOCR's processor config as save_pretrained writes it (the image processor itself needs
    # PIL and torchvision, which the test environment lacks).
    (ckpt / "preprocessor_config.json").write_text(json.dumps(PROCESSOR, indent=2))
    assert main(["tasks", "--model", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert "task irc exports without --task: image-to-text" in out
    assert any(line.startswith("  image-to-text-with-past ") for line in out.splitlines())
    assert "pixel_values[batch, 3, 32, 32]" in out

    result = irc.export(ckpt, output=tmp_path / "out", atol=ATOL)
    assert result.report.passed, result.report.format()
    session = _session(result.artifacts["model"])
    assert [i.name for i in session.get_inputs()] == ["pixel_values", "decoder_input_ids"]
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"model.onnx", "preprocessor_config.json", "config.json", "generation_config.json"} <= names
    assert json.loads((tmp_path / "out" / "preprocessor_config.json").read_text()) == PROCESSOR


def test_decoder_only_vision_language_models_are_not_image_to_text() -> None:
    from irc.frontend.tasks import supported_tasks

    assert "image-to-text" not in supported_tasks("llava")
    assert "image-to-text-with-past" not in supported_tasks("llava")
