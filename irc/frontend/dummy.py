"""Inputs built from a task spec: dummy inputs to trace with and fresh ones to validate with."""

from __future__ import annotations

from typing import Any

import torch

from irc.frontend.tasks import InputSpec


def make_inputs(
    specs: tuple[InputSpec, ...], config: Any, sizes: dict[str, int], *, seed: int = 0, pad: bool = False
) -> dict[str, torch.Tensor]:
    """One tensor per input spec, with each named axis at `sizes[name]`.

    With `pad`, attention masks end in padding (zeros) on every row but the first, so the
    artifact is checked on padded batches too.

    Sizes not named by any input are ignored, so one size table serves every task.
    """
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    for spec in specs:
        shape = tuple(_size(a, sizes) for a in spec.axes)
        out[spec.name] = _fill(spec, shape, config, gen, pad)
    return out


def _fill(
    spec: InputSpec, shape: tuple[int, ...], config: Any, gen: torch.Generator, pad: bool
) -> torch.Tensor:
    if spec.kind == "ids":
        # Special ids (pad, bos, eos) change what some models compute; keep to ordinary tokens.
        text_config = getattr(config, "text_config", None) or config
        high = int(getattr(text_config, "vocab_size", 100))
        ids = torch.randint(min(5, high - 1), high, shape, generator=gen)
        eos = getattr(config, "eos_token_id", None)
        if spec.name == "input_ids" and getattr(config, "is_encoder_decoder", False) and isinstance(eos, int):
            # Encoder-decoder tokenizers end every text with </s>; BART's classification head
            # reads the hidden state there and refuses inputs without one.
            ids[..., -1] = eos
        return ids
    if spec.kind == "type_ids":
        high = max(1, int(getattr(config, "type_vocab_size", 1) or 1))
        return torch.randint(0, high, shape, generator=gen)
    if spec.kind == "mask":
        mask = torch.ones(shape, dtype=torch.int64)
        rows = mask.view(-1, shape[-1]) if mask.numel() else mask
        if pad and shape[-1] > 2:
            for row in range(1, rows.shape[0]):
                keep = int(torch.randint(1, shape[-1], (1,), generator=gen))
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
