"""The rotary rows a grid family's decoder reads.

`decoder_model_merged` takes `position_ids` of (4, batch, sequence) for every family with
multimodal rotary positions: the attended-token count, then the temporal, height and width rows
`get_rope_index` gives (README). Qwen2-VL's text model reads the leading count row (for its mask)
and rotates by the other three; others (HunYuan-VL) rotate by exactly three rows and refuse a
fourth, as their own forward passes `get_rope_index`'s rows alone. Which kind a decoder is is read
off one forward of its text model on one token, before tracing; the export's inputs stay the same.
"""

from __future__ import annotations

import weakref
from typing import Any

import torch

_TAKES_COUNT_ROW: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def probe_count_row(model: Any) -> None:
    """Read (once per model) whether its text model takes the leading count row."""
    from irc.frontend.image_features import inner_model

    if model in _TAKES_COUNT_ROW:
        return
    text = getattr(inner_model(model), "language_model", None)
    if text is None:
        _TAKES_COUNT_ROW[model] = True
        return
    hidden = int(text.get_input_embeddings().weight.shape[1])
    embeds = torch.zeros(1, 1, hidden, dtype=text.get_input_embeddings().weight.dtype)
    try:
        with torch.no_grad():
            text(inputs_embeds=embeds, position_ids=torch.zeros(4, 1, 1, dtype=torch.long), use_cache=False)
    except ValueError:  # transformers' refusal of a fourth row ("Expected 3 multimodal RoPE channels")
        _TAKES_COUNT_ROW[model] = False
        return
    except Exception:  # noqa: BLE001 - a probe failing otherwise says nothing about the rows
        pass
    _TAKES_COUNT_ROW[model] = True


def rotary_rows(model: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The decoder's keyword arguments with `position_ids` as its text model reads them."""
    positions = kwargs.get("position_ids")
    if positions is None or positions.dim() != 3 or _TAKES_COUNT_ROW.get(model, True):
        return kwargs
    return {**kwargs, "position_ids": positions[1:]}
