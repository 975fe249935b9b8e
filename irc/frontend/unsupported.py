"""Config features irc cannot export right yet, refused before tracing with what is missing.

A feature lands here when torch.export traces it without complaint but the artifact would be
wrong at sizes other than the traced ones, so the refusal has to come before the trace. Each
check reads the config field that switches the feature on, never the model type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from irc.errors import TaskError


class UnsupportedFeature(TaskError):
    """The config switches on a feature irc cannot export correctly yet."""


def _transient_global(config: Any) -> str | None:
    if getattr(config, "encoder_attention_type", None) != "transient-global":
        return None
    block = getattr(config, "global_block_size", "global_block_size")
    return (
        "its config sets `encoder_attention_type: transient-global`, whose attention one-hot encodes each "
        f"token's global block with one class per block (sequence // {block} + 1 classes); torch.export "
        "fixes that count at the traced length, and traced with a symbolic count the model branches on "
        "the number of blocks, so the artifact would be wrong at other lengths. irc cannot export "
        "transient-global attention yet (the checkpoint's global-attention weights rule out exporting it "
        "as `local`)"
    )


def _codebook_decoder(config: Any) -> str | None:
    # Not a wrong artifact but an input irc cannot make: refused here, before any dummy input.
    decoder = getattr(config, "decoder_config", None)
    channels = getattr(decoder, "num_channels", None)
    if not getattr(config, "is_encoder_decoder", False) or not isinstance(channels, int) or channels < 2:
        return None
    return (
        f"its decoder_config sets `num_channels: {channels}`: the decoder reads {channels} audio codebooks "
        f"per step, as decoder_input_ids of shape (batch x {channels}, sequence) with ids below "
        f"decoder_config.vocab_size, while irc makes (batch, sequence) text ids below the config's "
        "vocab_size. irc cannot export multi-codebook audio decoders yet"
    )


_CHECKS: tuple[Callable[[Any], str | None], ...] = (_transient_global, _codebook_decoder)


def refuse_unsupported(config: Any, model_type: str) -> None:
    """Raise UnsupportedFeature naming the config field of the first feature irc cannot export."""
    for check in _CHECKS:
        reason = check(config)
        if reason is not None:
            raise UnsupportedFeature(f"irc cannot export this {model_type} checkpoint: {reason}.")
