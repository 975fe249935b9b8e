"""Vision-language models with their cache: the components of `image-text-to-text-with-past`.

A vision-language model (transformers' image-text-to-text mapping: llava, qwen2-vl, gemma3,
idefics3 / smolvlm...) reads images as features placed at image tokens of the prompt. The export
is three models, named as Hugging Face's ONNX VLM folders name them:

- `vision_encoder`: `pixel_values` and what the processor adds for the family
  (`pixel_attention_mask` for idefics3 / smolvlm) -> `image_features`, already projected to the
  text hidden size, one row per image token, image after image; qwen2-vl takes one image's
  flattened patches at a fixed grid (`fixed_grid`), its grid-derived inputs computed outside the
  trace;
- `embed_tokens`: `input_ids` -> `inputs_embeds`;
- `decoder_model_merged`: `inputs_embeds`, `attention_mask`, `position_ids` (qwen2-vl: 4 rows,
  text then its 3-D rotary positions), `token_type_ids` where the model reads them (gemma3's image
  blocks, paligemma's prefix) and `past_key_values.{i}.key/value`, which may be empty ->
  `logits`, `present.{i}.key/value`.

The bare model of such a type exports the same way for `default` (its decoder `decoder_model`,
without a cache) and `default-with-past`, returning `last_hidden_state` where the head has `logits`.
The caller merges between the second and third: the rows of `image_features` replace, in order,
the embeddings at the positions where `input_ids` holds the image token (README).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import torch

from irc.errors import TraceError
from irc.frontend.cache import PAST, TOTAL, build_cache, cache_keyword, flatten_cache, present_names
from irc.frontend.cache import probe_layout as probe_cache
from irc.frontend.grid_features import grid_features, image_grid, patch_shape, precomputed
from irc.frontend.grid_positions import probe_count_row, rotary_rows
from irc.frontend.image_features import (
    anyres_tiles,
    generic_features,
    image_side,
    inner_model,
    linear_patches,
    more_pixels,
    one_image,
    required_inputs,
)
from irc.frontend.loading import LoadedModel
from irc.frontend.seq2seq import Component
from irc.frontend.tasks import InputSpec
from irc.frontend.trace import TaskModule

TASK = "image-text-to-text-with-past"
VISION = "vision_encoder"
EMBED = "embed_tokens"
DECODER = "decoder_model_merged"
DECODER_NO_PAST = "decoder_model"
COMPONENTS = (VISION, EMBED, DECODER)


def image_token_id(config: Any) -> int | None:
    """The id that marks where image features go (`image_token_id`, or `image_token_index`)."""
    for key in ("image_token_id", "image_token_index"):
        value = getattr(config, key, None)
        if isinstance(value, int):
            return value
    return None


def text_config(config: Any) -> Any:
    get = getattr(config, "get_text_config", None)
    return get() if callable(get) else getattr(config, "text_config", None) or config


def mrope(model: Any) -> bool:
    """Qwen2-VL-style multimodal rotary positions: 3-D positions from `get_rope_index`."""
    return callable(getattr(inner_model(model), "get_rope_index", None))


def reads_token_types(model: Any) -> bool:
    """The decoder reads `token_type_ids` (gemma3: image tokens attend to their whole image)."""
    return "token_type_ids" in inspect.signature(type(model).forward).parameters


PREFIX_TYPES = frozenset({"paligemma"})
"""Types whose `token_type_ids` mark the prompt (0: image and text prefix, attended both ways)
and the generated suffix (1), as PaliGemma's processor and generate() make them; the others
(gemma3) mark image tokens with 1. Nothing in the config or signature says which."""

POSITION_OFFSET = {"paligemma": 1}
"""PaliGemma's positions count from 1: its generate() adds 1 to `cumsum(mask) - 1`."""


def token_types(model: Any, input_ids: torch.Tensor, prompt: bool) -> torch.Tensor:
    """The decoder's `token_type_ids` for `input_ids`: of the prompt, or of generated tokens."""
    if model.config.model_type in PREFIX_TYPES:
        return torch.zeros_like(input_ids) if prompt else torch.ones_like(input_ids)
    if not prompt:
        return torch.zeros_like(input_ids)
    return (input_ids == image_token_id(model.config)).long()


class VisionModule(TaskModule):
    """Vision tower and projector: the family's image inputs in, `image_features` out (one row per
    image token, rows of every image concatenated in order)."""

    def __init__(self, model: Any, arg_names: list[str], wanted: tuple[str, ...]) -> None:
        super().__init__(model, arg_names, wanted)
        self.grid = _grid_inputs(model)
        self.llava = _llava_like(model)

    def forward(self, *args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        kwargs = dict(zip(self.arg_names, args, strict=True))
        features = image_features(self.model, kwargs, self.grid, self.llava)
        self.record(["image_features"])
        return (features,)


def fixed_grid(model: Any) -> tuple[int, int, int] | None:
    """The (temporal, height, width) patch grid a grid vision encoder is exported at (grid_features.py)."""
    return image_grid(model)


def _grid_inputs(model: Any) -> dict[str, Any]:
    """What a grid vision tower derives from its grid, computed once outside the trace."""
    grid = fixed_grid(model)
    return {} if grid is None else precomputed(model, grid)


def image_features(
    model: Any, kwargs: dict[str, torch.Tensor], grid: dict[str, Any] | None = None, llava: bool = False
) -> torch.Tensor:
    """The projected image features of `kwargs` (the vision component's inputs), (rows, hidden).

    Any family with `get_image_features` goes through it (image_features.py). Three need their own
    path: llava's (below), idefics3's `get_image_features` drops all-zero padding
    images with a data-dependent boolean index and splits by a `.tolist()`, and qwen2-vl's splits
    per image by `.tolist()` of the grid; neither traces with symbolic sizes, and both only
    regroup rows that stay in order, which the flat output does not need.
    """
    inner = inner_model(model)
    if hasattr(inner, "connector") and hasattr(inner, "vision_model"):
        return _idefics_features(inner, kwargs["pixel_values"], kwargs.get("pixel_attention_mask"))
    if grid:
        return grid_features(model, kwargs["pixel_values"], grid)
    if llava:
        return _llava_features(inner, kwargs["pixel_values"])
    return generic_features(model, kwargs)


def _llava_like(model: Any) -> bool:
    """llava's own path applies where it computes what the family's `get_image_features` does, on
    one image of the exported size: llava-next's anyres tiles and InternVL's pixel shuffle also
    have a projector and a select strategy, and are not llava's."""
    inner = inner_model(model)
    plain = required_inputs(model) <= {"pixel_values"}
    if not (
        plain
        and hasattr(inner, "multi_modal_projector")
        and hasattr(inner.config, "vision_feature_select_strategy")
    ):
        return False
    side = image_side(model)
    channels = int(getattr(vision_config(model), "num_channels", 3) or 3)
    pixels = torch.rand((1, channels, side, side), generator=torch.Generator().manual_seed(0))
    pixels = pixels.to(next(model.parameters()).dtype)
    try:
        with torch.no_grad():
            ours = _llava_features(inner, pixels)
            theirs = generic_features(model, {"pixel_values": pixels})
    except Exception:  # noqa: BLE001 - llava's path does not even run: not llava's
        return False
    return ours.shape == theirs.shape and bool(torch.allclose(ours, theirs, atol=1e-5))


def vision_config(model: Any) -> Any:
    """The vision sub-config (the config itself when it has none)."""
    return getattr(model.config, "vision_config", None) or model.config


def _llava_features(inner: Any, pixels: torch.Tensor) -> torch.Tensor:
    # llava's get_image_features returns `list(features)`, one per image: a loop over the batch
    # that torch.export can only trace at a fixed batch. The selection is the same, kept whole.
    config = inner.config
    layers, strategy = config.vision_feature_layer, config.vision_feature_select_strategy
    out = inner.vision_tower(pixels, output_hidden_states=True, return_dict=True)
    chosen = [out.hidden_states[i] for i in ([layers] if isinstance(layers, int) else layers)]
    if strategy == "default":  # without the CLS token
        chosen = [hidden[:, 1:] for hidden in chosen]
    features = inner.multi_modal_projector(torch.cat(chosen, dim=-1))
    return features.reshape(-1, features.shape[-1])


def _idefics_features(inner: Any, pixels: torch.Tensor, pixel_mask: torch.Tensor | None) -> torch.Tensor:
    # Every image given is taken as real: the caller passes no all-zero padding images.
    batch, images = pixels.shape[:2]
    pixels = pixels.reshape(batch * images, *pixels.shape[2:]).to(inner.dtype)
    if pixel_mask is None:
        pixel_mask = torch.ones((pixels.shape[0], *pixels.shape[2:]), dtype=torch.bool)
    pixel_mask = pixel_mask.reshape(batch * images, *pixel_mask.shape[2:])
    # The model's unfold, written as a reshape. idefics2's perceiver connector takes the patch
    # mask too, and sees a patch where all its pixels are; idefics3 where any is.
    resampler = "attention_mask" in inspect.signature(inner.connector.forward).parameters
    patch = inner.config.vision_config.patch_size
    count, height, width = pixel_mask.shape
    blocks = pixel_mask.reshape(count, height // patch, patch, width // patch, patch)
    seen = blocks.sum(dim=(2, 4))
    patch_mask = seen == patch * patch if resampler else seen > 0
    hidden = inner.vision_model(pixel_values=pixels, patch_attention_mask=patch_mask, return_dict=True)
    masks = {"attention_mask": patch_mask.reshape(count, -1)} if resampler else {}
    features = inner.connector(hidden.last_hidden_state, **masks)
    return features.reshape(-1, features.shape[-1])


class EmbedModule(TaskModule):
    """The text embedding (with the model's own scale, e.g. gemma3's): `input_ids` -> `inputs_embeds`."""

    def forward(self, *args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        (input_ids,) = args
        self.record(["inputs_embeds"])
        return (self.model.get_input_embeddings()(input_ids),)


class DecoderModule(TaskModule):
    """One decoder step on embeddings, with the cache as flat tensors (past length may be 0), or
    without a cache (`past_count` 0: the bare model's `default`). Its first output is `wanted[0]`:
    `logits` of the generation head, `last_hidden_state` of the bare model."""

    def forward(self, *args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        plain = len(args) - self.past_count
        kwargs: dict[str, Any] = dict(zip(self.arg_names, args[:plain], strict=True))
        if self.past_count:
            cache = build_cache(text_config(self.model.config), args[plain:])
            if "token_type_ids" in kwargs:
                _always_first_step(cache)
            kwargs[cache_keyword(self.model)] = cache
        kwargs = rotary_rows(self.model, kwargs)
        with _index_masks():
            out = self.model(**kwargs, use_cache=bool(self.past_count), return_dict=True)
        presents = []
        if self.past_count:
            presents = flatten_cache(out.get("past_key_values") or out.get("cache"))
        first = self.wanted[0]
        self.record([first, *present_names(len(presents))])
        return (out[first], *presents)


def _always_first_step(cache: Any) -> None:
    """PaliGemma reads its token types only while `cache.is_initialized` is false (the prompt
    step); a merged decoder is one graph for every step, so it reads them always, and the caller
    marks generated tokens 1 (causal), as generate() does. Nothing else reads the flag."""

    class Unmarked(type(cache)):  # type: ignore[misc]
        @property
        def is_initialized(self) -> bool:
            return False

    cache.__class__ = Unmarked


@contextmanager
def _index_masks() -> Iterator[None]:
    """transformers builds a mask with a custom part (gemma3's image blocks, sliding windows) by
    `torch.vmap` over its index function, which torch.export cannot trace; those functions are
    index-based, so broadcasting the indices computes the same mask (Optimum's patch does the same)."""
    from transformers import masking_utils

    def expansion(mask_function: Any) -> Any:
        def run(batch: Any, head: Any, q: Any, kv: Any) -> Any:
            mask = mask_function(*masking_utils._non_vmap_expansion_sdpa(batch, head, q, kv))
            return mask.expand(batch.shape[0], head.shape[0], q.shape[0], kv.shape[0])

        return run

    # The index context only serves vmap (it turns `tensor[index]` into an autograd function,
    # which torch.export records as an op irc cannot lower).
    patched = {"_vmap_expansion_sdpa": expansion, "TransformGetItemToIndex": nullcontext}
    original = {name: getattr(masking_utils, name) for name in patched}
    for name, value in patched.items():
        setattr(masking_utils, name, value)
    try:
        yield
    finally:
        for name, value in original.items():
            setattr(masking_utils, name, value)


def vision_inputs(model: Any) -> tuple[InputSpec, ...]:
    """The vision component's inputs, read off the model: images of the config's size, with the
    family's extra processor outputs."""
    config = model.config
    vision = getattr(config, "vision_config", None) or config
    inner = inner_model(model)
    grid = fixed_grid(model)
    if grid is not None:  # qwen2-vl-style: one image's flattened patches, at the fixed grid
        count = grid[0] * grid[1] * grid[2]
        return (InputSpec("pixel_values", (count, *patch_shape(model)), "float", "float32"),)
    patches = linear_patches(model)
    if patches is not None:  # fuyu: each image's flattened pixel patches
        return (InputSpec("pixel_values", ("batch", *patches), "float", "float32"),)
    channels = int(getattr(vision, "num_channels", 3) or 3)
    size = image_side(model)  # InternVL-style configs give (height, width) pairs of one side
    if hasattr(inner, "connector"):  # idefics3 / smolvlm: (batch, images, C, H, W) and a pixel mask
        return (
            InputSpec("pixel_values", ("batch", 1, channels, size, size), "float", "float32"),
            InputSpec("pixel_attention_mask", ("batch", 1, size, size), "ones", "bool"),
        )
    # Families whose processor adds the image's size take one image per call (image_features.py).
    batch = 1 if one_image(model) else "batch"
    tiles = anyres_tiles(model)
    if tiles is not None:  # llava-next: the image's tiles, then the whole image, at the tower's size
        return (InputSpec("pixel_values", (batch, tiles, channels, size, size), "float", "float32"),)
    more = [
        InputSpec(name, (batch, c, side, side), "float", "float32")
        for name, (c, side) in more_pixels(model).items()
    ]
    return (InputSpec("pixel_values", (batch, channels, size, size), "float", "float32"), *more)


def decoder_inputs(model: Any, past: bool = True) -> tuple[InputSpec, ...]:
    text = text_config(model.config)
    dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
    hidden = int(text.hidden_size)
    specs = [
        InputSpec("inputs_embeds", ("batch", "sequence", hidden), "float", dtype),
        InputSpec("attention_mask", ("batch", TOTAL if past else "sequence"), "mask"),
    ]
    if mrope(model):
        # Row 0: text positions (for the mask), rows 1-3: temporal, height, width rotary positions.
        probe_count_row(model)
        specs.append(InputSpec("position_ids", (4, "batch", "sequence"), "position"))
    else:
        specs.append(InputSpec("position_ids", ("batch", "sequence"), "position"))
    if reads_token_types(model):
        specs.append(InputSpec("token_type_ids", ("batch", "sequence"), "zeros"))
    if not past:
        return tuple(specs)
    for i, ((kh, kd), (vh, vd), kind) in enumerate(probe_cache(model)):
        specs.append(InputSpec(f"past_key_values.{i}.key", ("batch", kh, PAST, kd), "past", kind))
        specs.append(InputSpec(f"past_key_values.{i}.value", ("batch", vh, PAST, vd), "past", kind))
    return tuple(specs)


def components(loaded: LoadedModel) -> list[Component]:
    """The three models of `image-text-to-text-with-past`, in the order a generation loop runs them."""
    model = loaded.module
    if image_token_id(model.config) is None:
        raise TraceError(f"{loaded.model_type}'s config names no image_token_id.")
    past = loaded.task.with_past
    decoder = decoder_inputs(model, past)
    past_count = sum(1 for s in decoder if s.kind == "past")
    # The bare model (default, default-with-past) returns hidden states where the head has logits.
    first = loaded.task.outputs[0]

    def vision(loaded: LoadedModel, names: list[str]) -> TaskModule:
        return VisionModule(loaded.module, names, ("image_features",))

    def embed(loaded: LoadedModel, names: list[str]) -> TaskModule:
        return EmbedModule(loaded.module, names, ("inputs_embeds",))

    def step(loaded: LoadedModel, names: list[str]) -> TaskModule:
        plain = [n for n in names if not n.startswith("past_key_values.")]
        return DecoderModule(loaded.module, plain, (first,), past_count)

    ids = (InputSpec("input_ids", ("batch", "sequence"), "ids"),)
    return [
        Component(VISION, vision_inputs(model), vision),
        Component(EMBED, ids, embed),
        Component(DECODER if past else DECODER_NO_PAST, decoder, step),
    ]
