"""Inputs built from a task spec: dummy inputs to trace with and fresh ones to validate with."""

from __future__ import annotations

from typing import Any

import torch

from irc.frontend.audio import make_waveform, silence_padding
from irc.frontend.config_fields import read_field
from irc.frontend.tasks import InputSpec


def make_inputs(
    specs: tuple[InputSpec, ...], config: Any, sizes: dict[str, int], *, seed: int = 0, pad: bool = False
) -> dict[str, torch.Tensor]:
    """One tensor per input spec, with each named axis at `sizes[name]`.

    With `pad`, attention masks have padding (zeros) on every row but the first, so the artifact
    is checked on padded batches too: at the end of the row, or at its start (left padding, as a
    generation loop pads its prompts) for a mask that also covers a cache. `position_ids` follow
    the mask as `generate()` computes them (`positions_from_mask`).

    Sizes not named by any input are ignored, so one size table serves every task.
    """
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    for spec in specs:
        shape = tuple(_size(a, sizes) for a in spec.axes)
        if spec.kind == "position":
            out[spec.name] = positions_from_mask(out.get("attention_mask"), shape)
        else:
            out[spec.name] = _fill(spec, shape, config, gen, pad)
    silence_padding(out)
    return out


def positions_from_mask(mask: torch.Tensor | None, shape: tuple[int, ...]) -> torch.Tensor:
    """The `position_ids` of the last `shape[-1]` tokens of `mask` (batch, past + sequence), as
    transformers' generate() makes them: the count of attended tokens before each one, 0 on
    padding. Without a mask, 0, 1, 2..."""
    length = shape[-1]
    if mask is None:
        return torch.arange(length, dtype=torch.int64).expand(shape).clone()
    positions = mask.long().cumsum(-1) - 1
    positions = positions.masked_fill(mask == 0, 0)
    return positions[..., mask.shape[-1] - length :].expand(shape).clone()


def _fill(
    spec: InputSpec, shape: tuple[int, ...], config: Any, gen: torch.Generator, pad: bool
) -> torch.Tensor:
    if spec.kind == "ids":
        # Special ids (pad, bos, eos) change what some models compute; keep to ordinary tokens.
        # A vision-encoder-decoder's ids are its decoder's.
        decoder = getattr(config, "decoder", None)
        text_config = read_field(config, "text_config") or (
            decoder if hasattr(decoder, "vocab_size") else config
        )
        high = int(read_field(text_config, "vocab_size"))
        ids = torch.randint(min(5, high - 1), high, shape, generator=gen)
        eos = read_field(config, "eos_token_id")
        if spec.name == "input_ids" and read_field(config, "is_encoder_decoder") and isinstance(eos, int):
            # Encoder-decoder tokenizers end every text with </s>; BART's classification head
            # reads the hidden state there and refuses inputs without one.
            ids[..., -1] = eos
        return ids
    if spec.kind == "type_ids":
        high = max(1, int(read_field(config, "type_vocab_size") or 1))
        return torch.randint(0, high, shape, generator=gen)
    if spec.kind == "mask":
        mask = torch.ones(shape, dtype=torch.int64)
        rows = mask.view(-1, shape[-1]) if mask.numel() else mask
        if pad and shape[-1] > 2:
            # A mask over a cache is padded on the left: generation loops pad prompts there.
            left = "past_sequence" in str(spec.axes[-1])
            for row in range(1, rows.shape[0]):
                keep = int(torch.randint(1, shape[-1], (1,), generator=gen))
                if left:
                    rows[row, : shape[-1] - keep] = 0
                else:
                    rows[row, keep:] = 0
        return mask
    if spec.kind == "bbox":
        corner = torch.randint(0, 500, (*shape[:-1], 2), generator=gen)
        extent = torch.randint(0, 500, (*shape[:-1], 2), generator=gen)
        return torch.cat([corner, corner + extent], dim=-1)
    if spec.kind == "past":
        return torch.randn(shape, generator=gen).to(getattr(torch, spec.dtype))
    if spec.kind == "float":
        return torch.randn(shape, generator=gen)
    if spec.kind == "patches":
        # Rows and columns number the patches from 1 (0 is padding) below the embedders' size.
        patches = torch.randn(shape, generator=gen)
        vision = read_field(config, "vision_config") or config
        high = int(getattr(vision, "seq_len", 0) or shape[-2] + 1)
        patches[..., :2] = torch.randint(1, high, (*shape[:-1], 2), generator=gen).float()
        return patches
    if spec.kind == "audio":
        return make_waveform(shape, gen)
    if spec.kind in ("ones", "zeros"):  # a vision-language model's pixel mask, its token types
        return getattr(torch, spec.kind)(shape, dtype=getattr(torch, spec.dtype))
    raise ValueError(f"input kind {spec.kind!r} has no generator")


def _size(axis: str | int, sizes: dict[str, int]) -> int:
    """An axis' size: an int, a dim name, or an expression of names (`past_sequence + sequence`)."""
    if isinstance(axis, int):
        return axis
    if axis in sizes:
        return sizes[axis]
    from irc.ir.dims import SymDim, parse_dim

    dim = parse_dim(axis)
    return dim.evaluate(sizes) if isinstance(dim, SymDim) else dim
