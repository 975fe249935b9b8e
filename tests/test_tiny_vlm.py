"""The vision-language rules of the tiny shrink (benchmarks/tiny_vlm.py), each on the real
transformers config of a type that needs it, and on its real tiny model's image features."""

from __future__ import annotations

import pytest
import torch

from benchmarks.tiny_configs import tiny_config, tiny_model
from irc.frontend.image_features import generic_features


def test_anyres_pinpoints_are_multiples_of_the_tiny_tower() -> None:
    config = tiny_config("llava_next")
    side = config.vision_config.image_size
    assert config.image_grid_pinpoints and all(v % side == 0 for p in config.image_grid_pinpoints for v in p)


def test_tokens_per_image_fit_the_tiny_patch_grid() -> None:
    config = tiny_config("gemma3")
    per_side = config.vision_config.image_size // config.vision_config.patch_size
    assert 0 < config.mm_tokens_per_image <= (per_side // 2) ** 2


def test_feature_layer_lists_index_the_tiny_tower_and_keep_their_length() -> None:
    config = tiny_config("vipllava")
    layers = config.vision_config.num_hidden_layers
    assert len(config.vision_feature_layer) == 5  # the projector's input is five layers wide
    assert all(-layers <= p < layers for p in config.vision_feature_layer)


@pytest.mark.parametrize("model_type", ["gemma3", "vipllava", "aria", "llama4", "internvl"])
def test_the_tiny_model_makes_image_features(model_type: str) -> None:
    model = tiny_model(model_type, "image-text-to-text-with-past")
    vision = model.config.vision_config
    side = vision.image_size[0] if isinstance(vision.image_size, list) else vision.image_size
    with torch.no_grad():
        features = generic_features(model, {"pixel_values": torch.rand(1, 3, side, side)})
    assert features.ndim == 2 and features.shape[0] > 0
    assert features.shape[1] == model.config.get_text_config().hidden_size


def test_an_unset_image_token_gets_an_id_in_the_vocabulary() -> None:
    # MiniCPM-o's config class leaves image_token_id None; its checkpoints set it.
    config = tiny_config("minicpm_ocr")
    assert 0 <= config.image_token_id < config.get_text_config().vocab_size
