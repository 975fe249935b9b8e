"""What a model returned when it returned none of its task's outputs, for the refusal."""

from __future__ import annotations

from typing import Any

import torch


def no_outputs(loaded: Any, wrapper: Any, args: tuple[torch.Tensor, ...]) -> str:
    """The refusal of a model whose outputs irc's task does not name (MaskFormer's bare model has
    `encoder_last_hidden_state`, not `last_hidden_state`), naming what it does return. torch.export
    keeps no attribute the traced forward set, so the model runs once more, eagerly, to say it."""
    try:
        with torch.no_grad():
            wrapper(*args)
        got = ", ".join(wrapper.returned) or "no tensors"
    except Exception:  # noqa: BLE001 - the refusal stands without the list
        got = "other outputs"
    task = loaded.task.name
    return (
        f"{type(loaded.module).__name__} returns {got}, none of which is an output irc knows for {task} "
        f"({', '.join(loaded.task.outputs)}); irc cannot export it for {task} yet."
    )
