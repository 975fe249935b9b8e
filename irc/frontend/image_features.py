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
    made = {**kwargs, **geometry(model)}
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
    if isinstance(features, (list, tuple)):
        features = torch.cat([f.reshape(-1, f.shape[-1]) for f in features], dim=0)
    return features.reshape(-1, features.shape[-1])
