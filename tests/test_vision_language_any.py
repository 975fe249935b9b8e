"""Vision-language families through transformers' `get_image_features` (irc/frontend/image_features.py),
and the bare model of a vision-language type exported as three models for `default` /
`default-with-past`. Tiny random configs are built here; each with-past family's init is chosen so
that greedy decoding yields several distinct tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnxruntime as ort
import pytest
import torch

import irc
from irc.errors import TaskError
from irc.frontend.tasks import get_task, supported_tasks
from irc.frontend.vision_language import DECODER, DECODER_NO_PAST, EMBED, VISION

TASK = "image-text-to-text-with-past"
IMAGE_TOKEN = 98
ATOL = 1e-3
_TEXT = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=8,
    intermediate_size=37,
    vocab_size=99,
    max_position_embeddings=256,
    pad_token_id=0,
    bos_token_id=1,
    eos_token_id=2,
)
_VISION = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    image_size=32,
    patch_size=8,
)

CONFIGS: dict[str, dict[str, Any]] = {
    # Pixtral tower: its processor passes image_sizes, which irc makes at the exported size (one
    # image per vision call); a patch merger turns 16 patches into 4 image tokens.
    "mistral3": dict(
        text_config=dict(_TEXT, model_type="mistral", initializer_range=0.2),
        vision_config=dict(_VISION, model_type="pixtral", head_dim=8),
        image_token_index=IMAGE_TOKEN,
        spatial_merge_size=2,
        vision_feature_layer=-1,
    ),
    # SigLIP tower, pixel-shuffle downsampling (16 patches -> 4 tokens), a Cohere2 decoder.
    "aya_vision": dict(
        text_config=dict(_TEXT, model_type="cohere2", initializer_range=0.2, sliding_window=128),
        vision_config=dict(_VISION, model_type="siglip_vision_model"),
        image_token_index=IMAGE_TOKEN,
        downsample_factor=2,
        vision_feature_layer=-1,
    ),
    # Anyres tiles: image_sizes made at the exported size (one image per call) picks the
    # 32x64 pinpoint, so pixel_values is the image's 2 tiles and the whole image; the features
    # are unpadded and end each row of patches with the newline vector.
    "llava_next": dict(
        text_config=dict(_TEXT, model_type="llama", initializer_range=0.2),
        vision_config=dict(_VISION, model_type="clip_vision_model", projection_dim=32),
        image_token_index=IMAGE_TOKEN,
        image_grid_pinpoints=[[32, 64], [64, 32], [64, 64]],
        vision_feature_layer=-1,
    ),
    # Pixel shuffle (16 patches -> 4 tokens of 4x the width) before the projector: it has a
    # projector and a select strategy as llava does, but not llava's features.
    "internvl": dict(
        text_config=dict(_TEXT, model_type="qwen2", initializer_range=0.2),
        vision_config=dict(_VISION, model_type="internvl_vision", image_size=[32, 32], patch_size=[8, 8]),
        image_token_id=IMAGE_TOKEN,
        downsample_ratio=0.5,
        vision_feature_layer=-1,
    ),
}
SEEDS: dict[str, int] = {}


def tiny(model_type: str, bare: bool = False) -> Any:
    from transformers import AutoConfig, AutoModel, AutoModelForImageTextToText
    from transformers.utils import logging

    logging.set_verbosity_error()
    torch.manual_seed(SEEDS.get(model_type, 0))
    config = AutoConfig.for_model(model_type, **CONFIGS[model_type])
    auto = AutoModel if bare else AutoModelForImageTextToText
    return auto.from_config(config).eval()


@pytest.mark.parametrize("model_type", list(CONFIGS))
def test_family_validates_and_generates(model_type: str, tmp_path: Path) -> None:
    result = irc.export(tiny(model_type), task=TASK, output=tmp_path / "out", atol=ATOL)
    report = result.report
    assert report.passed, report.format()
    assert {c.component for c in report.cases} == {VISION, EMBED, DECODER}
    pasts = {c.sizes["past_sequence"] for c in report.cases if "past_sequence" in c.sizes}
    assert pasts >= {0, 1}
    generation = report.generation
    assert generation, generation.format()
    assert generation.compared >= 20 and generation.distinct >= 5, generation.format()


def test_image_sizes_family_takes_one_image(tmp_path: Path) -> None:
    """mistral3's vision encoder is exported for one image: its image_sizes is made by irc."""
    result = irc.export(tiny("mistral3"), task=TASK, output=tmp_path / "out", atol=ATOL, validate=False)
    vision = ort.InferenceSession(str(result.artifacts[VISION]), providers=["CPUExecutionProvider"])
    assert [(i.name, i.shape) for i in vision.get_inputs()] == [("pixel_values", [1, 3, 32, 32])]
    assert [o.shape for o in vision.get_outputs()] == [[4, 32]]


def test_anyres_family_takes_its_tiles(tmp_path: Path) -> None:
    """llava-next's vision encoder takes one image's tiles and the whole image (5-D pixel_values)."""
    result = irc.export(tiny("llava_next"), task=TASK, output=tmp_path / "out", atol=ATOL, validate=False)
    vision = ort.InferenceSession(str(result.artifacts[VISION]), providers=["CPUExecutionProvider"])
    assert [(i.name, i.shape) for i in vision.get_inputs()] == [("pixel_values", [1, 3, 3, 32, 32])]


@pytest.mark.parametrize("task", ["default", "default-with-past"])
def test_bare_model_exports_as_three_models(task: str, tmp_path: Path) -> None:
    model = tiny("aya_vision", bare=True)
    assert type(model).__name__ == "AyaVisionModel"
    result = irc.export(model, task=task, output=tmp_path / "out", atol=ATOL)
    report = result.report
    assert report.passed, report.format()
    decoder = DECODER if task.endswith("with-past") else DECODER_NO_PAST
    assert list(result.artifacts) == [VISION, EMBED, decoder]
    assert report.generation is None  # no logits: nothing to generate
    session = ort.InferenceSession(str(result.artifacts[decoder]), providers=["CPUExecutionProvider"])
    outputs = [o.name for o in session.get_outputs()]
    assert outputs[0] == "last_hidden_state"
    assert any(n.startswith("present.") for n in outputs) == task.endswith("with-past")
    sizes = [c.sizes for c in report.cases if c.component == decoder]
    assert {s["batch"] for s in sizes} - {2} and {s["sequence"] for s in sizes} - {8}


def test_bare_anyres_model_default(tmp_path: Path) -> None:
    """llava-next's bare model for `default`: its tiles' features and a decoder without a cache."""
    model = tiny("llava_next", bare=True)
    result = irc.export(model, task="default", output=tmp_path / "out", atol=ATOL)
    assert result.report.passed, result.report.format()
    assert list(result.artifacts) == [VISION, EMBED, DECODER_NO_PAST]
    vision = [c for c in result.report.cases if c.component == VISION]
    assert vision and all(c.sizes.get("batch", 1) == 1 for c in vision)


def test_tasks_listed_and_other_heads_refused() -> None:
    config = tiny("aya_vision").config
    assert supported_tasks("aya_vision", config) == ["default", "default-with-past", TASK]
    with pytest.raises(TaskError, match="no such split for causal-lm"):
        get_task("causal-lm", "gemma3")
