"""The log-mel `input_features` of a speech encoder-decoder: their layout and sizes.

A feature extractor turns audio into (mel bins, frames) per clip (Whisper) or (frames, mel bins)
(Speech2Text, whose encoder transposes them); the config names the bins but not the order, so
the order is a per-type override (`ModelSpec.frames_first`). Whisper's encoder refuses any frame
count but `max_source_positions` times its convolutions' strides, so its frames are a fixed
axis; other encoders take a dynamic `frames` axis and subsample it.
"""

from __future__ import annotations

from typing import Any

from irc.errors import TaskError

# Sub-configs that hold an audio encoder's fields when the top config does not (Canary, Cohere ASR
# keep a Parakeet encoder config under `encoder_config`).
_AUDIO_SUB_CONFIGS = ("encoder_config", "audio_config", "encoder")


def mel_bins(config: Any) -> int:
    """The mel bins per frame: `num_mel_bins`, or Speech2Text's `input_feat_per_channel` x
    `input_channels`, read from the config or else from its audio encoder's sub-config."""
    subs = (getattr(config, name, None) for name in _AUDIO_SUB_CONFIGS)
    for source in (config, *(sub for sub in subs if sub is not None and not isinstance(sub, dict))):
        bins = _own_mel_bins(source)
        if bins:
            return bins
    raise TaskError(
        f"the {config.model_type} config names no num_mel_bins (or input_feat_per_channel), the "
        "mel bins of its input_features, nor does its encoder_config or audio_config"
    )


def _own_mel_bins(config: Any) -> int:
    bins = getattr(config, "num_mel_bins", None)
    if not bins:
        per_channel = int(getattr(config, "input_feat_per_channel", 0) or 0)
        bins = per_channel * int(getattr(config, "input_channels", 1) or 1)
    return int(bins or 0)


def feature_axes(config: Any, frames_per_position: int | None, frames_first: bool) -> tuple[str | int, ...]:
    """The axes of `input_features`: batch, then bins and frames in the model's order."""
    frames: str | int = "frames"
    if frames_per_position:
        frames = int(config.max_source_positions) * frames_per_position
    bins = mel_bins(config)
    return ("batch", frames, bins) if frames_first else ("batch", bins, frames)
