"""Vision-language families whose vision tower reads flattened patches and an `image_grid_thw`
(irc/frontend/grid_features.py): exported at one grid, validated at new shapes, generation
token-exact against `model.generate`; the families irc cannot export yet refused with what is
missing. Tiny models are the registry's (benchmarks/tiny_configs.py), with a wider text init so
greedy decoding yields several distinct tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnxruntime as ort
import pytest
import torch

import irc
from irc.errors import IrcError
from irc.frontend.grid_features import image_grid, patch_shape, precomputed
from irc.frontend.vision_language import DECODER, DECODER_NO_PAST, EMBED, VISION

TASK = "image-text-to-text-with-past"
ATOL = 1e-3
GENERATES = ["paddleocr_vl", "hunyuan_vl"]
"""Families newly exported with past: validation and the generation check."""


def tiny(model_type: str, task: str = TASK) -> Any:
    import transformers
    from transformers.utils import logging

    from benchmarks.tiny_configs import tiny_config
    from irc.frontend.tasks import TASKS

    logging.set_verbosity_error()
    config = tiny_config(model_type)
    config.get_text_config().initializer_range = 0.5
    torch.manual_seed(0)
    return getattr(transformers, TASKS[task].auto_class).from_config(config).eval()


@pytest.mark.parametrize("model_type", GENERATES)
def test_grid_family_validates_and_generates(model_type: str, tmp_path: Path) -> None:
    model = tiny(model_type)
    result = irc.export(model, task=TASK, output=tmp_path / "out", atol=ATOL)
    report = result.report
    assert report.passed, report.format()
    assert {c.component for c in report.cases} == {VISION, EMBED, DECODER}
    pasts = {c.sizes["past_sequence"] for c in report.cases if "past_sequence" in c.sizes}
    assert pasts >= {0, 1}
    generation = report.generation
    assert generation, generation.format()
    assert generation.compared >= 20 and generation.distinct >= 5, generation.format()
    # One image per call, as the patches of the exported grid.
    grid = image_grid(model)
    vision = ort.InferenceSession(str(result.artifacts[VISION]), providers=["CPUExecutionProvider"])
    (pixels,) = vision.get_inputs()
    assert pixels.shape == [grid[0] * grid[1] * grid[2], *patch_shape(model)]


def test_bare_grid_model_default(tmp_path: Path) -> None:
    model = tiny(GENERATES[0], "default")
    result = irc.export(model, task="default", output=tmp_path / "out", atol=ATOL)
    assert result.report.passed, result.report.format()
    assert list(result.artifacts) == [VISION, EMBED, DECODER_NO_PAST]
    assert result.report.generation is None


@pytest.mark.parametrize("model_type", ["qwen2_vl", "paddleocr_vl", "hy_v4_vl", "glm4v"])
def test_features_equal_the_towers_own(model_type: str) -> None:
    """irc's precomputed keywords give the features the tower computes from the grid itself."""
    from irc.frontend.grid_features import grid_features
    from irc.frontend.image_features import feature_method

    model = tiny(model_type)
    grid = image_grid(model)
    pixels = torch.randn(grid[0] * grid[1] * grid[2], *patch_shape(model))
    with torch.no_grad():
        mine = grid_features(model, pixels, precomputed(model, grid))
        out = feature_method(model)(pixels, image_grid_thw=torch.tensor([grid]), return_dict=True)
    theirs = torch.cat([f.reshape(-1, f.shape[-1]) for f in out.pooler_output])
    assert mine.shape == theirs.shape and torch.equal(mine, theirs)


def test_grid_keywords_follow_the_tower() -> None:
    """Window attention's order and bounds where the tower has a window; the resampled position
    table's taps where it has one; neither for qwen2-vl's plain tower."""
    plain = tiny("qwen2_vl")
    assert set(precomputed(plain, image_grid(plain))) == {
        "grid_thw",
        "cu_seqlens",
        "max_seqlen",
        "position_ids",
    }
    paddle = tiny("paddleocr_vl")
    assert {"interp_indices", "interp_weights"} <= set(precomputed(paddle, image_grid(paddle)))


@pytest.mark.parametrize(
    ("model_type", "missing"),
    [("qwen3_vl", "deepstack_visual_embeds"), ("qwen2_5_vl", r"windows at the exported grid")],
)
def test_refusals_name_what_irc_lacks(model_type: str, missing: str, tmp_path: Path) -> None:
    with pytest.raises(IrcError, match=missing):
        irc.export(tiny(model_type), task=TASK, output=tmp_path / "out", validate=False)
