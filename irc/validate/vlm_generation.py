"""The generation check of `image-text-to-text-with-past`: greedy decoding through the three
models with the merge rule, against `model.generate(pixel_values=..., input_ids=...)`.

The prompt is what a processor makes: text with the image token repeated as many times as the
vision encoder gives features for one image, one image per prompt, left-padded to a batch. The
loop is the one README's vision-language section writes out:

1. `vision_encoder` on each image; its `image_features` rows, image after image;
2. `embed_tokens` on the prompt; rows of (1) replace the embeddings where `input_ids` holds the
   image token, in order;
3. `decoder_model_merged` on the prompt's embeddings with an empty past, then on one generated
   token's embedding (from `embed_tokens`) per step, feeding `present.*` back as `past_key_values.*`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from irc.frontend.traced import Traced

GENERATED_TOKENS = 20
TEXT_BEFORE = 2
TEXT_AFTER = (5, 2)
"""Text tokens after the image in each prompt: rows of different lengths, left-padded."""


@dataclass
class Prompt:
    """One batch of image prompts: what a processor gives for it."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    images: list[dict[str, torch.Tensor]]
    """The vision encoder's inputs for each prompt's image."""
    extra: dict[str, torch.Tensor]
    """What generate() takes besides ids, mask and pixels (grids, token types)."""


@dataclass
class _Expected:
    prompt: Prompt
    tokens: torch.Tensor
    logits: torch.Tensor
    eos: tuple[int, ...]


def make_prompt(parts: list[Traced], seed: int = 11) -> Prompt:
    """Prompts with an image each: `TEXT_BEFORE` tokens, the image token once per feature row of
    one image, then `TEXT_AFTER[row]` tokens; left-padded with the pad token."""
    from irc.frontend.config_fields import generation_settings
    from irc.frontend.vision_language import (
        EMBED,
        VISION,
        fixed_grid,
        image_token_id,
        mrope,
        reads_token_types,
        token_types,
    )

    vision, embed = _part(parts, VISION), _part(parts, EMBED)
    model = vision.loaded.module
    images = [vision.make_inputs(_one_image(vision), seed=seed + i) for i in range(len(TEXT_AFTER))]
    count = int(vision.reference(images[0])["image_features"].shape[0])
    token = image_token_id(model.config)
    width = TEXT_BEFORE + count + max(TEXT_AFTER)
    text = embed.make_inputs({"batch": len(TEXT_AFTER), "sequence": width}, seed=seed)["input_ids"]
    text[text == token] = 5
    pad = generation_settings(model).pad
    ids = torch.full_like(text, pad if pad is not None else 0)
    mask = torch.zeros_like(text)
    for row, after in enumerate(TEXT_AFTER):
        length = TEXT_BEFORE + count + after
        start = width - length
        ids[row, start:] = text[row, start:]
        ids[row, start + TEXT_BEFORE : start + TEXT_BEFORE + count] = token
        mask[row, start:] = 1
    extra: dict[str, torch.Tensor] = {}
    image_positions = (ids == token).long()
    if mrope(model):
        extra["mm_token_type_ids"] = image_positions
    if fixed_grid(model) is not None:  # every grid family's generate() takes the grids
        extra["image_grid_thw"] = torch.tensor([fixed_grid(model)] * len(images))
    if reads_token_types(model):
        extra["token_type_ids"] = token_types(model, ids, prompt=True)
    from irc.frontend.image_features import geometry

    extra.update(
        geometry(model, len(images), tensors=True)
    )  # what the processor adds per image (image_sizes)
    return Prompt(ids, mask, images, extra)


def _one_image(vision: Traced) -> dict[str, int]:
    return {**vision.sizes, "batch": 1} if "batch" in vision.sizes else dict(vision.sizes)


def _part(parts: list[Traced], name: str) -> Traced:
    return next(p for p in parts if p.component == name)


def expected_generation(parts: list[Traced], new_tokens: int = GENERATED_TOKENS) -> _Expected:
    """Plain greedy `model.generate` on the check's prompts and images."""
    from irc.validate.generation_check import _plain_generate

    prompt = make_prompt(parts)
    model = parts[0].loaded.module
    pixels = {k: torch.cat([image[k] for image in prompt.images]) for k in prompt.images[0]}
    extra = {**pixels, **prompt.extra}
    tokens, logits, eos = _plain_generate(model, prompt.input_ids, prompt.attention_mask, new_tokens, extra)
    return _Expected(prompt, tokens[:, prompt.input_ids.shape[1] :], logits, eos)


def check_generation(parts: list[Traced], runners: dict[str, Any], atol: float, expected: Any = None) -> Any:
    """Greedy-decode through the three runners with the merge rule; a GenerationResult."""
    from irc.frontend.vision_language import DECODER, EMBED, VISION
    from irc.validate.generate import GenerationResult

    want = expected_generation(parts) if expected is None else expected
    prompt = want.prompt
    features = torch.cat([runners[VISION](image)["image_features"] for image in prompt.images])
    embeds = runners[EMBED]({"input_ids": prompt.input_ids})["inputs_embeds"]
    embeds = merge_image_features(prompt.input_ids, embeds, features, _token(parts))
    tokens, logits = _decode(parts, runners[DECODER], runners[EMBED], prompt, embeds, GENERATED_TOKENS)
    via = ", ".join((VISION, EMBED, DECODER))
    return GenerationResult(want.tokens, tokens, want.eos, via, want.logits, logits, atol)


def merge_image_features(
    input_ids: torch.Tensor, embeds: torch.Tensor, features: torch.Tensor, image_token: int
) -> torch.Tensor:
    """The merge rule: the rows of `features`, in order, replace the embeddings at the positions
    where `input_ids` holds `image_token` (row-major: prompt after prompt)."""
    merged = embeds.clone()
    merged[input_ids == image_token] = features.to(merged.dtype)
    return merged


def _token(parts: list[Traced]) -> int:
    from irc.frontend.vision_language import image_token_id

    token = image_token_id(parts[0].loaded.config)
    assert token is not None
    return token


def _decode(
    parts: list[Traced], decoder: Any, embed: Any, prompt: Prompt, embeds: torch.Tensor, new_tokens: int
) -> tuple[torch.Tensor, torch.Tensor]:
    from irc.frontend.vision_language import DECODER, token_types
    from irc.validate.generation_check import _empty_past

    part = _part(parts, DECODER)
    names = {s.name for s in part.specs}
    batch = prompt.input_ids.shape[0]
    past = _empty_past(part, batch)
    mask = prompt.attention_mask
    positions = Positions(part.loaded.module, prompt)
    tokens: list[torch.Tensor] = []
    logits: list[torch.Tensor] = []
    token = prompt.input_ids[:, -1]
    for step in range(new_tokens):
        feed = {"inputs_embeds": embeds, "attention_mask": mask, "position_ids": positions.next(mask, step)}
        if "token_type_ids" in names:
            shown = prompt.input_ids if step == 0 else token[:, None]
            feed["token_type_ids"] = token_types(part.loaded.module, shown, prompt=step == 0)
        out = decoder({**feed, **past})
        logits.append(out["logits"][:, -1])
        token = logits[-1].argmax(-1)
        tokens.append(token)
        past = {name: out[name.replace("past_key_values.", "present.", 1)] for name in past}
        embeds = embed({"input_ids": token[:, None]})["inputs_embeds"]
        mask = torch.cat([mask, torch.ones((batch, 1), dtype=mask.dtype)], dim=1)
    return torch.stack(tokens, dim=1), torch.stack(logits, dim=1)


class Positions:
    """`position_ids` at each step, as generate() makes them: the count of attended tokens before
    each one (0 on padding). Qwen2-VL-style models take 4 rows: that count, then the temporal,
    height and width rotary positions, which transformers' `get_rope_index` gives for the prompt
    (an image's tokens at its grid coordinates, offset by the text before it; text after it
    counting on from the largest position plus one) and which later tokens continue: their count
    plus the row's `max + 1 - length` delta."""

    def __init__(self, model: Any, prompt: Prompt) -> None:
        from irc.frontend.vision_language import POSITION_OFFSET, inner_model, mrope

        self.offset = POSITION_OFFSET.get(model.config.model_type, 0)
        self.delta: torch.Tensor | None = None
        self.prompt_rows: torch.Tensor | None = None
        if mrope(model):
            grids = prompt.extra["image_grid_thw"]
            rows, delta = inner_model(model).get_rope_index(
                prompt.input_ids,
                mm_token_type_ids=prompt.extra["mm_token_type_ids"],
                image_grid_thw=grids,
                attention_mask=prompt.attention_mask,
            )
            self.prompt_rows, self.delta = rows, delta

    def next(self, mask: torch.Tensor, step: int) -> torch.Tensor:
        from irc.frontend.dummy import positions_from_mask

        length = mask.shape[1] if step == 0 else 1
        text = positions_from_mask(mask, (mask.shape[0], length))
        if self.delta is None:
            return text + self.offset
        rows = self.prompt_rows if step == 0 else (text + self.delta)[None].expand(3, -1, -1)
        return torch.cat([text[None], rows], dim=0)
