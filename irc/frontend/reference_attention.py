"""The attention implementation a model's reference runs use, where its default one is wrong.

Validation compares the artifact with the model run in PyTorch. For a few types transformers'
SDPA path computes something other than the model (Aimv2's text tower drops its causal mask when
the attention mask is all ones); such a type's `ModelSpec.eager_reference` names why, and its
reference runs switch to eager attention for the call and back after it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def reference_attention(loaded: Any) -> Iterator[None]:
    """Eager attention for the duration of a reference run of a type whose spec asks for it."""
    from irc.frontend.tasks import get_model

    module = loaded.module
    before = getattr(module.config, "_attn_implementation", None)
    if not get_model(loaded.model_type).eager_reference or before in (None, "eager"):
        yield
        return
    module.set_attn_implementation("eager")
    try:
        yield
    finally:
        module.set_attn_implementation(before)
