"""Tiny configs of vision-language families whose vision tower reads a patch grid (qwen2-vl and
its kin: `spatial_merge_size` and `patch_size` in the vision sub-config).

The generic shrink leaves their vision stack whole where it names its layers `depth` (27-32
blocks), keeps the projector's output width (`out_hidden_size`, the text model's unshrunk width,
which must match the shrunk text model), and has no image side to shrink, so the exported grid
would be the 448-pixel default (3136 patches at a shrunk patch of 8). Here the stack is cut to
`LAYERS` with its per-block index lists kept inside it, the projector follows the text width, and
the image is 4x4 image tokens (a window of 2x2 where the tower has window attention).
"""

from __future__ import annotations

from typing import Any

LAYERS = 2
TOKENS_PER_SIDE = 4
_INDEX_LISTS = ("fullatt_block_indexes", "deepstack_visual_indexes")
_TEXT_WIDTHS = ("out_hidden_size", "text_hidden_size")


def grid_vision(out: dict[str, Any]) -> None:
    """Shrink the grid vision sub-config of a (shrunk) top-level config dict in place."""
    vision = out.get("vision_config")
    if not isinstance(vision, dict) or not _is_grid(vision):
        return
    depth = vision.get("depth")
    if isinstance(depth, int) and depth > LAYERS:
        vision["depth"] = LAYERS
        for key in _INDEX_LISTS:
            value = vision.get(key)
            if isinstance(value, list) and value:
                vision[key] = [i for i in value if i < LAYERS] or [LAYERS - 1]
    width = _text_width(out)
    for key in _TEXT_WIDTHS:
        if width is not None and isinstance(vision.get(key), int):
            vision[key] = width
    patch, merge = int(vision["patch_size"]), int(vision["spatial_merge_size"] or 1)
    if vision.get("image_size") is None:
        vision["image_size"] = patch * merge * TOKENS_PER_SIDE
    if isinstance(vision.get("window_size"), int):
        vision["window_size"] = patch * merge * TOKENS_PER_SIDE // 2
    _default_sections(out.get("model_type"), out.get("text_config"))


def _default_sections(model_type: Any, text: Any) -> None:
    """A decoder whose config leaves `mrope_section` out gets its modeling file's default
    (`rope_parameters.get("mrope_section", [16, 24, 24])`: PaddleOCR-VL's), which the shrunk head
    cannot hold: the same proportions, summing to half the shrunk head. Decoders with no such
    default (plain rotary unless the config says) are left alone."""
    if not isinstance(text, dict):
        return
    rope = text.get("rope_parameters")
    default = _modeling_default(model_type)
    # Only a flat rotary dict: one kept per layer kind (Cohere Compass's) is `_rope`'s to fill.
    if not isinstance(rope, dict) or "rope_type" not in rope or "mrope_section" in rope or default is None:
        return
    head = text.get("head_dim") or text["hidden_size"] // text["num_attention_heads"]
    half, total = int(head) // 2, sum(default)
    sections = [max(1, s * half // total) for s in default]
    # The rest to the last section: the first two stay in proportion (ERNIE-VL's are equal).
    sections[-1] += half - sum(sections)
    rope["mrope_section"] = sections


def _modeling_default(model_type: Any) -> list[int] | None:
    import importlib
    import inspect
    import re

    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    if model_type not in CONFIG_MAPPING:
        return None
    name = CONFIG_MAPPING[model_type].__module__.replace(".configuration_", ".modeling_")
    try:
        source = inspect.getsource(importlib.import_module(name))
    except (ImportError, OSError):
        return None
    found = re.search(r"get\(\s*\"mrope_section\",\s*\[([\d,\s]+)\]", source)
    return [int(v) for v in found.group(1).split(",")] if found else None


def _is_grid(vision: dict[str, Any]) -> bool:
    return isinstance(vision.get("patch_size"), int) and isinstance(vision.get("spatial_merge_size"), int)


def _text_width(out: dict[str, Any]) -> int | None:
    text = out.get("text_config")
    width = text.get("hidden_size") if isinstance(text, dict) else out.get("hidden_size")
    return width if isinstance(width, int) else None
