"""Shrink rules for vision-language configs: fields sized for the real image that the generic
shrink (tiny_configs.py) leaves pointing past the tiny vision tower.

A vision-language config counts its image in patches and layers of the vision tower in several
top-level fields (anyres tile sizes, tokens per image, the layers whose features are taken, the
projector's query count per patch count). Each rule re-derives the field from the shrunk vision
config, so the tiny model keeps the feature while its sizes agree with the tiny tower.
"""

from __future__ import annotations

from typing import Any


def vision_language(out: dict[str, Any]) -> None:
    """Re-derive the image-geometry fields of a shrunk config `out` from its vision config."""
    vision = out.get("vision_config")
    if not isinstance(vision, dict):
        return
    side = _side(vision.get("image_size"))
    patch = _side(vision.get("patch_size"))
    if side and patch and side % patch:
        # InternVL's 14-pixel patches do not tile a 32-pixel image: the pixel shuffle then sees
        # a grid it cannot halve.
        vision["patch_size"] = _like(vision["patch_size"], side // 4)
        patch = side // 4
    if side and patch:
        _patch_counts(out, side, side // patch)
    layers = vision.get("num_hidden_layers")
    if isinstance(layers, int):
        _feature_layers(out, layers)
    _shuffled_widths(vision)
    _global_layers(out)
    text = out.get("text_config")
    if isinstance(text, dict) and isinstance(vision.get("out_hidden_size"), int):
        # The tower's merger projects to the text width (Granite Docling's validator says so).
        vision["out_hidden_size"] = text.get("hidden_size", vision["out_hidden_size"])
    if "image_token_id" in out and out["image_token_id"] is None and isinstance(text, dict):
        # Checkpoints set the image token from their tokenizer; the class default leaves none.
        vocab = text.get("vocab_size")
        out["image_token_id"] = vocab - 1 if isinstance(vocab, int) else None


def _side(value: Any) -> int | None:
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], int):
        return int(value[0])
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _like(template: Any, value: int) -> Any:
    return [value] * len(template) if isinstance(template, (list, tuple)) else value


def _patch_counts(out: dict[str, Any], side: int, per_side: int) -> None:
    pinpoints = out.get("image_grid_pinpoints")
    if isinstance(pinpoints, list) and pinpoints and all(isinstance(p, list) for p in pinpoints):
        # llava-next's anyres tiles are multiples of the tower's image side (336 or 384 pixels).
        base = min(min(p) for p in pinpoints)
        scaled = {tuple(v // base * side for v in p) for p in pinpoints[:6]}
        out["image_grid_pinpoints"] = [list(p) for p in sorted(scaled)]
    tokens = out.get("mm_tokens_per_image")
    if isinstance(tokens, int) and tokens > (per_side // 2) ** 2:
        # Gemma 3 average-pools the patch grid to sqrt(mm_tokens_per_image) tokens a side.
        out["mm_tokens_per_image"] = max(1, per_side // 2) ** 2
    queries = out.get("projector_patch_to_query_dict")
    if isinstance(queries, dict) and per_side * per_side not in {int(k) for k in queries}:
        # Aria's projector picks its query count by the tower's patch count.
        out["projector_patch_to_query_dict"] = {per_side * per_side: max(1, per_side // 2) ** 2}


def _feature_layers(out: dict[str, Any], layers: int) -> None:
    """Lists of vision layers whose features are taken (vipllava's five, molmo2's two) index the
    real tower's depth; each keeps its length (the projector's width) and indexes the tiny one."""
    for owner in (out, *(v for v in out.values() if isinstance(v, dict))):
        for key in ("vision_feature_layer", "vision_feature_layers"):
            picks = owner.get(key)
            if isinstance(picks, list) and any(not -layers <= p < layers for p in picks):
                owner[key] = [-1 - i % layers for i in range(len(picks))]


def _global_layers(out: dict[str, Any]) -> None:
    """SAM-style towers (DeepSeek-VL hybrid's high-res one) name their global-attention layers of
    the real depth; the tiny tower's are those clamped to its last layer."""
    for sub in (v for v in out.values() if isinstance(v, dict)):
        picks, layers = sub.get("global_attn_indexes"), sub.get("num_hidden_layers")
        if isinstance(picks, list) and isinstance(layers, int) and any(p >= layers for p in picks):
            sub["global_attn_indexes"] = sorted({min(p, layers - 1) for p in picks})


def _shuffled_widths(vision: dict[str, Any]) -> None:
    """Llama 4's vision adapter takes the pixel-shuffled width (hidden / ratio^2) and projects to
    `projector_input_dim`, `projector_output_dim`, `vision_output_dim`, left at their real sizes."""
    ratio = vision.get("pixel_shuffle_ratio")
    hidden = vision.get("hidden_size")
    if not isinstance(ratio, float) or not isinstance(hidden, int) or "projector_input_dim" not in vision:
        return
    vision["intermediate_size"] = int(round(hidden / ratio / ratio))
    for key in ("projector_input_dim", "projector_output_dim", "vision_output_dim"):
        if isinstance(vision.get(key), int):
            vision[key] = hidden
