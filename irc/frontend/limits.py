"""Values a user can get wrong, checked before the slow part of an export, each a one-line error:
the tolerance, a sequence length past the model's positions, weights that do not fit the config.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from irc.errors import IrcError, ModelLoadError
from irc.frontend.config_fields import max_positions


def check_atol(atol: float | None) -> None:
    """`--atol` must be a positive finite number (None: the task's)."""
    if atol is None:
        return
    bad = isinstance(atol, bool) or not isinstance(atol, (int, float)) or not math.isfinite(atol) or atol <= 0
    if bad:
        raise IrcError(f"--atol must be a positive number such as 1e-4, got {atol!r}.")


def check_sequence_length(
    config: Any, model_type: str, sequence_length: int, cases_for: Callable[[int], list[dict[str, int]]]
) -> None:
    """Refuse a `--sequence-length` whose trace or validation cases (`cases_for(length)`:
    `sequence` plus `past_sequence` for a decoder's cache) need more positions than the model has."""
    limit, field = max_positions(config)
    if limit is None or limit <= 0:  # XLNet's -1: relative positions, no limit
        return
    encoder_decoder = bool(getattr(config, "is_encoder_decoder", False))

    def needed(length: int) -> int:
        past = 0 if encoder_decoder else 1
        return max(c.get("sequence", 0) + past * c.get("past_sequence", 0) for c in cases_for(length))

    if needed(sequence_length) <= limit:
        return
    fits = next((n for n in range(min(sequence_length, limit), 0, -1) if needed(n) <= limit), None)
    advice = f"choose --sequence-length of at most {fits}" if fits else "the model is too short to check"
    raise IrcError(
        f"--sequence-length {sequence_length}: tracing and validation need {needed(sequence_length)} "
        f"positions, but {model_type} has {limit} ({field} in config.json); {advice}."
    )


def mismatched_weights(folder: Path, auto: Any, config: Any, shown: int = 5) -> str:
    """The checkpoint tensors whose shapes differ from the model `config` builds, as
    `name (checkpoint) vs (config)`: what transformers' "look at the above report!" leaves out."""
    import torch
    from safetensors import safe_open

    stored: dict[str, tuple[int, ...]] = {}
    for file in sorted(folder.glob("*.safetensors")):
        with safe_open(str(file), "pt") as f:
            stored.update({k: tuple(f.get_slice(k).get_shape()) for k in f.keys()})
    with torch.device("meta"):
        model = auto.from_config(config)
    built = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    rows = []
    for name, shape in stored.items():
        # transformers renames some keys on load (a head's prefix); match on the longer name's tail.
        match = next(
            (k for k in built if k == name or k.endswith("." + name) or name.endswith("." + k)), None
        )
        if match is not None and built[match] != shape:
            rows.append(f"{name} {list(shape)} vs {list(built[match])}")
    more = f" and {len(rows) - shown} more" if len(rows) > shown else ""
    return "; ".join(rows[:shown]) + more


def weights_error(folder: Path, auto: Any, config: Any) -> ModelLoadError:
    try:
        rows = mismatched_weights(folder, auto, config)
    except Exception as exc:  # the report is a courtesy: never hide the real error behind its own
        rows = f"(could not compare shapes: {exc})"
    return ModelLoadError(
        f"the weights in {folder} do not fit its config.json (checkpoint shape vs config shape): "
        f"{rows or 'no safetensors tensor differs; a .bin file may'}. Fix config.json or re-save the checkpoint."
    )
