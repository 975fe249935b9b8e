"""Image features of any vision-language family, through transformers' own `get_image_features`.

transformers 5.x gives every vision-language model (the generation head and its bare model) a
`get_image_features(pixel_values, ...)` that runs the vision tower and the projector; its
`pooler_output` holds the features, per image or as one tensor. irc's vision encoder is that call,
its rows flattened image after image (the merge rule places them in that order). What the processor
adds besides the pixels and derives from the image's size alone (`GEOMETRY`) is made here as a
constant at the exported image size, so those families' vision encoders take one image per call.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

GEOMETRY = ("image_sizes",)
"""`get_image_features` arguments the processor derives from the image's size alone: (height,
width) per image for pixtral-style towers (mistral3, lighton_ocr). Their towers loop over the
images in Python (`for size in image_sizes`, `.tolist()`), which torch.export can only follow at a
fixed image count, so a family that takes one is exported for one image per call."""


def inner_model(model: Any) -> Any:
    """The base model under the generation head (`model.model`), which holds the vision tower."""
    return getattr(model, "model", model)


def feature_method(model: Any) -> Any:
    """`get_image_features` of the base model, else of the head; None when neither has one."""
    for owner in (inner_model(model), model):
        method = getattr(owner, "get_image_features", None)
        if callable(method):
            return method
    return None


def image_side(model: Any) -> int:
    """The exported image's side in pixels: the vision config's `image_size` (224 when it names none)."""
    config = model.config
    vision = getattr(config, "vision_config", None) or config
    size = getattr(vision, "image_size", None) or 224
    return int(size[0] if isinstance(size, (list, tuple)) else size)


def geometry(model: Any, images: int = 1, tensors: bool = False) -> dict[str, Any]:
    """The `GEOMETRY` arguments `get_image_features` requires, for `images` images of the exported
    size (what the processor would pass for them, as tensors with `tensors`; lists otherwise,
    which the towers index as Python ints where a traced tensor would make data-dependent
    sizes); empty for families that take none."""
    # Only where required: llava's optional image_sizes is for pixtral towers' checkpoints.
    required = required_inputs(model)
    made: dict[str, Any] = {}
    if "image_sizes" in required:
        side = image_side(model)
        made["image_sizes"] = [[side, side]] * images
    return {k: torch.tensor(v) for k, v in made.items()} if tensors else made


def required_inputs(model: Any) -> set[str]:
    """The parameters `get_image_features` has no default for (none without the method)."""
    method = feature_method(model)
    if method is None:
        return set()
    params = inspect.signature(method).parameters.values()
    plain = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name for p in params if p.default is inspect.Parameter.empty and p.kind in plain}


def anyres_tiles(model: Any) -> int | None:
    """Tiles per image of an anyres family (llava-next, -onevision, -next-video: the image resized
    to a grid pinpoint and cut into tower-sized tiles, plus the whole image), at the exported image
    size, as the family's own `image_size_to_num_patches` counts them; None for other families."""
    inner = inner_model(model)
    pinpoints = getattr(inner.config, "image_grid_pinpoints", None)
    count = getattr(inspect.getmodule(type(inner)), "image_size_to_num_patches", None)
    if not pinpoints or not callable(count):
        return None
    side = image_side(model)
    return int(count(image_size=(side, side), grid_pinpoints=pinpoints, patch_size=side))


def config_defaults(model: Any) -> dict[str, Any]:
    """What the model's forward passes `get_image_features` from its config: the parameters
    defaulting to None that the config sets (InternVL's `vision_feature_layer`, `..._strategy`)."""
    method = feature_method(model)
    if method is None:
        return {}
    config = inner_model(model).config
    named = inspect.signature(method).parameters.values()
    unset = [p.name for p in named if p.default is None]
    return {name: getattr(config, name) for name in unset if getattr(config, name, None) is not None}


def more_pixels(model: Any) -> dict[str, tuple[int, int]]:
    """Further images `get_image_features` requires, as (channels, side) by parameter name: a
    `<prefix>pixel_values` the processor makes from the same image at the size of the config's
    `<prefix>vision_config` (DeepSeek-VL hybrid's `high_res_pixel_values`)."""
    config = inner_model(model).config
    found: dict[str, tuple[int, int]] = {}
    for name in sorted(required_inputs(model) - {"pixel_values"}):
        sub = getattr(config, name.removesuffix("pixel_values") + "vision_config", None)
        size = getattr(sub, "image_size", None)
        if name.endswith("_pixel_values") and size is not None:
            side = int(size[0] if isinstance(size, (list, tuple)) else size)
            found[name] = (int(getattr(sub, "num_channels", 3) or 3), side)
    return found


def linear_patches(model: Any) -> tuple[int, int] | None:
    """(patches, values per patch) of a family whose vision embedding is a Linear over flattened
    pixel patches (Fuyu's `vision_embed_tokens`: its processor cuts the image into patches), at
    the exported image size; None for families with a vision tower."""
    embed = getattr(inner_model(model), "vision_embed_tokens", None)
    patch = getattr(model.config, "patch_size", None)
    if not isinstance(embed, torch.nn.Linear) or not isinstance(patch, int):
        return None
    side = image_side(model)
    return (side // patch) ** 2, int(embed.in_features)


def one_image(model: Any) -> bool:
    """The vision encoder takes one image per call (its family takes a `GEOMETRY` argument)."""
    return bool(geometry(model))


def generic_features(model: Any, kwargs: dict[str, torch.Tensor]) -> torch.Tensor:
    """`get_image_features` on the vision inputs `kwargs` (and the family's geometry), as one
    (rows, hidden) tensor, image after image."""
    method = feature_method(model)
    if method is None:
        from irc.errors import TraceError

        raise TraceError(
            f"{type(model).__name__} has no get_image_features, and irc has no family-specific vision "
            "path for it: it cannot make the vision encoder's image features."
        )
    if getattr(inner_model(model).config, "vision_config", True) is None:
        from irc.errors import TraceError

        raise TraceError(
            f"{type(model).__name__}'s config sets no vision_config, so the model has no vision tower: "
            "there is no vision encoder to export (give the config a vision_config)."
        )
    made = {**config_defaults(model), **kwargs, **geometry(model)}
    missing = sorted(required_inputs(model) - set(made) - {"self", "kwargs"})
    if missing:
        from irc.errors import TraceError

        raise TraceError(
            f"{type(inner_model(model)).__name__}.get_image_features requires {', '.join(missing)}, which irc "
            f"cannot make for the vision encoder (it makes {', '.join(made)}; of what a processor derives "
            f"from an image's size, only {', '.join(GEOMETRY)})."
        )
    out = method(**made, return_dict=True)
    features = out.pooler_output if hasattr(out, "pooler_output") else out
    if features is None:
        features = _projected(model, out)
    if isinstance(features, (list, tuple)):
        features = torch.cat([f.reshape(-1, f.shape[-1]) for f in features], dim=0)
    return features.reshape(-1, features.shape[-1])


def _projected(model: Any, out: Any) -> torch.Tensor:
    """Features of a `get_image_features` that leaves the projection to the model's forward: its
    last hidden state, through `multi_modal_projector` where the model has one (Llama 4), as is
    where it has none (Fuyu's patch embeddings)."""
    hidden = getattr(out, "last_hidden_state", None)
    if hidden is None:
        from irc.errors import TraceError

        raise TraceError(
            f"{type(inner_model(model)).__name__}.get_image_features returns neither pooler_output nor "
            "last_hidden_state: irc cannot tell which of its outputs are the image features."
        )
    projector = getattr(inner_model(model), "multi_modal_projector", None) or getattr(
        model, "multi_modal_projector", None
    )
    hidden = hidden.reshape(-1, hidden.shape[-1])
    return hidden if projector is None else projector(hidden)
