"""Masks that a modeling file drops when they mask nothing, kept while tracing.

FairSeq-style models (FSMT) build a padding mask with `make_padding_mask` and return None when no
token is padding (`if not padding_mask.any(): padding_mask = None`): a branch on the data, which
torch.export cannot trace ("Could not guard on data-dependent expression"). Masking with a mask
that masks nothing is the same computation as not masking (`masked_fill` at no position), so
while tracing the mask is always returned; the reference runs keep the model's own function.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
from collections.abc import Iterator
from typing import Any

_NAME = "make_padding_mask"


@contextlib.contextmanager
def kept_padding_masks(model: Any) -> Iterator[None]:
    """While the block runs, the model's modeling module's `make_padding_mask` (where it drops an
    all-False mask on `.any()`) returns the mask it computed."""
    module = sys.modules.get(type(model).__module__)
    original = getattr(module, _NAME, None)
    if original is None or not _drops_empty_masks(original):
        yield
        return

    def kept(input_ids: Any, padding_idx: int = 1) -> Any:
        return input_ids.eq(padding_idx)

    setattr(module, _NAME, kept)
    try:
        yield
    finally:
        setattr(module, _NAME, original)


def _drops_empty_masks(function: Any) -> bool:
    """The function is `mask = ids.eq(pad); if not mask.any(): mask = None; return mask`."""
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return False
    params = list(inspect.signature(function).parameters)
    return ".eq(" in source and ".any()" in source and "= None" in source and len(params) == 2
