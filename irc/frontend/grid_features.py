"""Vision encoders that read an image as flattened patches and a `(temporal, height, width)` grid.

Qwen2-VL and the families built like it (qwen2.5-vl, qwen3-vl, glm4v, paddleocr-vl, kimi-k2.5...)
take `pixel_values` as the patches their processor cuts, one row per patch, and `image_grid_thw`
saying how the rows tile each image. Their towers derive everything else from the grid's values
(`.tolist()`, Python loops): the packed attention's segment bounds, the rotary positions of each
patch, window orders, the resampled position-embedding taps. torch.export cannot follow those, and
transformers' towers take each of them precomputed by keyword (transformers.vision_utils pops them
from `kwargs`). irc exports such an encoder at one grid, a square image of the exported size, and
computes the grid-derived keywords here, outside the trace, as constants: its `vision_encoder`
takes one image per call, as the patches of that grid.

Which keywords a tower reads is decided from the tower itself: the attributes it holds
(`window_size` for window attention, `num_grid_per_side` for a resampled position table) and the
helpers its modeling module defines (per-frame or pixel-shuffle indices).
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import torch

from irc.frontend.image_features import inner_model

GRID_IMAGE_SIZE = 448
"""Image side, in pixels, of a grid vision encoder whose config names none (its processor takes
any size; 448 gives Qwen2-VL a 32x32 patch grid, 256 image tokens)."""


def grid_encoder(model: Any) -> Any:
    """The vision tower that takes `grid_thw` (its forward's second argument), else None."""
    inner = inner_model(model)
    for module in inner.modules():
        forward = getattr(type(module), "forward", None)
        if forward is None or module is inner:
            continue
        params = inspect.signature(forward).parameters
        if "grid_thw" in params and "input_ids" not in params:
            return module
    return None


def _attr(module: Any, name: str) -> Any:
    """`name` on the tower or the first of its submodules that sets it (None when none does)."""
    for sub in module.modules():
        value = getattr(sub, name, None)
        if value is not None:
            return value
    return None


def _vision_config(model: Any) -> Any:
    config = model.config
    return getattr(config, "vision_config", None) or config


def merge_size(model: Any) -> int:
    """Patches merged per side into one image token, by the tower or after it (the projector's,
    PaddleOCR-VL's): the exported grid's side is a multiple of it."""
    found = getattr(_vision_config(model), "spatial_merge_size", None)
    return max(int(found or 1), tower_merge(model))


def tower_merge(model: Any) -> int:
    """The merge the tower itself orders its patches by (its `spatial_merge_size`; 1 where the
    tower merges none and leaves it to the projector, as transformers' towers then hard-code)."""
    encoder = grid_encoder(model)
    found = _attr(encoder, "spatial_merge_size") if encoder is not None else None
    return int(found or 1)


def image_grid(model: Any) -> tuple[int, int, int] | None:
    """The (temporal, height, width) patch grid the encoder is exported at: a square image of the
    vision config's `image_size` (else `GRID_IMAGE_SIZE`) pixels, its side in patches a multiple
    of the merge size; None for a model without a grid tower."""
    if grid_encoder(model) is None:
        return None
    vision = _vision_config(model)
    merge = merge_size(model)
    size = getattr(vision, "image_size", None) or GRID_IMAGE_SIZE
    pixels = int(size[0] if isinstance(size, (list, tuple)) else size)
    side = max(merge, pixels // int(vision.patch_size) // merge * merge)
    return (1, side, side)


def patch_shape(model: Any) -> tuple[int, ...]:
    """One patch of `pixel_values` as the family's processor lays it out: a flat row of channels x
    temporal patch x patch x patch (qwen2-vl's processor; linear and 3-D convolution embeddings
    reshape it themselves, so do some 2-D ones), else (channels, patch, patch) for a 2-D
    convolution embedding that takes patches as images (kimi-k2.5, paddleocr-vl). Which one is
    read off one forward of the tower on zeros at the exported grid."""
    first = _patch_embedding(grid_encoder(model))
    if isinstance(first, torch.nn.Linear):
        return (int(first.in_features),)
    vision = _vision_config(model)
    channels = int(getattr(vision, "in_channels", None) or getattr(vision, "num_channels", None) or 3)
    temporal = int(getattr(vision, "temporal_patch_size", None) or 1)
    patch = int(vision.patch_size)
    flat = (channels * temporal * patch * patch,)
    if not isinstance(first, torch.nn.Conv2d):
        return flat
    images = (int(first.in_channels), *(int(k) for k in first.kernel_size))
    return flat if _takes(model, flat) else images


def _takes(model: Any, shape: tuple[int, ...]) -> bool:
    """The tower runs on one image's patches laid out as `shape`."""
    grid = image_grid(model)
    assert grid is not None
    pixels = torch.zeros(grid[0] * grid[1] * grid[2], *shape)
    try:
        with torch.no_grad():
            grid_features(model, pixels, precomputed(model, grid))
    except (RuntimeError, ValueError):
        return False
    return True


def _patch_embedding(encoder: Any) -> Any:
    for module in encoder.modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.Conv3d)):
            return module
    return None


def precomputed(model: Any, grid: tuple[int, int, int]) -> dict[str, Any]:
    """The keywords the tower would derive from `grid`, computed as transformers.vision_utils
    computes them (with `grid_thw` itself, under the name the tower takes)."""
    from transformers import vision_utils as vu
    from transformers.utils.generic import get_max_seqlen

    encoder = grid_encoder(model)
    _refuse_deepstack(model)
    _refuse_other_inputs(model)
    grid_thw = torch.tensor([grid])
    module = sys.modules[type(encoder).__module__]
    merge = tower_merge(model)
    # Encoders with a per-frame table attend over the whole clip (kimi-k2.5), unless they say.
    per_frame = hasattr(module, "get_vision_frame_index")
    whole_clip = bool(getattr(encoder, "merge_temporal", per_frame))
    cu_seqlens = vu.get_vision_cu_seqlens(grid_thw, merge_temporal=whole_clip)
    made: dict[str, Any] = {
        "grid_thw": grid_thw,
        "cu_seqlens": cu_seqlens,
        "max_seqlen": get_max_seqlen(cu_seqlens, encoder.config),
        "position_ids": vu.get_vision_position_ids(
            grid_thw, merge, include_temporal=bool(getattr(encoder, "include_temporal", False))
        ),
    }
    made.update(_window(encoder, grid_thw, merge))
    made.update(_interpolation(encoder, grid_thw, merge))
    if per_frame:
        made["frame_index"] = module.get_vision_frame_index(grid_thw)
    if hasattr(module, "get_vision_temporal_merge_index"):
        kernel = _attr(encoder, "merge_kernel_size")
        height, width = (kernel, kernel) if isinstance(kernel, int) else kernel
        made["temporal_merge_index"] = module.get_vision_temporal_merge_index(grid_thw, height, width)
    if hasattr(module, "get_vision_pixel_shuffle_index"):
        made["pixel_shuffle_index"] = module.get_vision_pixel_shuffle_index(
            grid_thw, _attr(encoder, "merge_size")
        )
    return made


def _refuse_other_inputs(model: Any) -> None:
    """A `get_image_features` that requires more than the patches and their grid (video-llama-3's
    per-image `image_merge_sizes`) takes what irc does not make yet."""
    from irc.frontend.image_features import inner_model, required_inputs

    other = sorted(required_inputs(model) - {"self", "kwargs", "pixel_values", "image_grid_thw"})
    if other:
        from irc.errors import TraceError

        raise TraceError(
            f"{type(inner_model(model)).__name__}.get_image_features requires {', '.join(other)} besides "
            "pixel_values and image_grid_thw; irc makes a grid family's patches and grid only, so it "
            "cannot make the vision encoder's inputs yet."
        )


def _refuse_deepstack(model: Any) -> None:
    """Deepstack towers (qwen3-vl) also feed features from inner vision layers into the first text
    layers at image tokens (`deepstack_visual_embeds`); the three-model split carries image features
    into `inputs_embeds` only, so such a decoder would generate without them."""
    for module in inner_model(model).modules():
        forward = getattr(type(module), "forward", None)
        if forward is not None and "deepstack_visual_embeds" in inspect.signature(forward).parameters:
            from irc.errors import TraceError

            raise TraceError(
                f"{type(module).__name__}.forward takes deepstack_visual_embeds: the vision tower's inner "
                "layers' features are added to the first text layers at image tokens. irc's "
                "image-text-to-text split (vision_encoder, embed_tokens, decoder) carries image features "
                "into inputs_embeds only and has no decoder input for them yet."
            )


def _window(encoder: Any, grid_thw: torch.Tensor, merge: int) -> dict[str, Any]:
    """Window attention's patch order and bounds (qwen2.5-vl), where the tower has a window."""
    from transformers import vision_utils as vu
    from transformers.utils.generic import get_max_seqlen

    window, patch = _attr(encoder, "window_size"), _attr(encoder, "patch_size")
    if window is None or patch is None:
        return {}
    index, bounds = vu.get_vision_window_index(grid_thw, merge, window, patch)
    if len(bounds) > 2:
        from irc.errors import TraceError

        raise TraceError(
            f"{type(encoder).__name__} attends in windows of {window} pixels, {len(bounds) - 1} windows at "
            f"the exported grid {tuple(grid_thw[0].tolist())}: its attention splits the patches by window "
            "lengths read with `.tolist()` (transformers' eager vision attention, `torch.split(tensor, "
            "lengths.tolist())`), which torch.export cannot follow, and irc has no windowed vision "
            "attention of its own yet."
        )
    return {
        "window_index": index,
        "cu_window_seqlens": bounds,
        "max_window_seqlen": get_max_seqlen(bounds, encoder.config),
    }


def _interpolation(encoder: Any, grid_thw: torch.Tensor, merge: int) -> dict[str, Any]:
    """Taps and weights resampling a learned square position table to the grid (qwen3-vl), read
    with the interpolation the tower's embedding declares."""
    from transformers import vision_utils as vu

    side = _attr(encoder, "num_grid_per_side")
    if side is None:
        return {}
    indices, weights = vu.get_vision_interpolation_indices_and_weights(
        grid_thw,
        int(side),
        mode=_attr(encoder, "interpolation_mode") or "bilinear",
        align_corners=_attr(encoder, "interpolation_align_corners") is True,
        spatial_merge_size=merge,
        padding=_attr(encoder, "interpolation_padding") or "border",
    )
    return {"interp_indices": indices, "interp_weights": weights}


def grid_features(model: Any, pixels: torch.Tensor, made: dict[str, Any]) -> torch.Tensor:
    """The projected features of one image's patches `pixels` at the grid of `made`, (rows, hidden),
    through the family's own `get_image_features`."""
    from irc.frontend.image_features import feature_method

    method = feature_method(model)
    keywords = {k: v for k, v in made.items() if k != "grid_thw"}
    # A fresh dict per call: the towers pop the keywords they read.
    out = method(pixels, image_grid_thw=made["grid_thw"], **keywords, return_dict=True)
    features = out.pooler_output if hasattr(out, "pooler_output") else out
    if isinstance(features, (list, tuple)):
        features = torch.cat([f.reshape(-1, f.shape[-1]) for f in features], dim=0)
    return features.reshape(-1, features.shape[-1])
