"""Mamba(1) selective scans that continue from the cached state, at every sequence length.

transformers' torch fallback `mamba_selective_scan` (Mamba, Falcon-Mamba, Jamba, Zamba) loops over
the tokens in Python, which torch.export unrolls at the traced length, and it starts every call of
more than one token from a zero state: with a cache, a multi-token step forgets the past (its
one-token step, `mamba_selective_state_update`, does use it). Within `scans_from_state`, the
function is replaced by the same recurrence h_t = exp(A dt_t) h_{t-1} + dt_t B_t x_t computed for
the whole sequence at once: a Hillis-Steele scan whose doublings are fixed by the model's longest
sequence, not by the traced one, started from the layer's cached recurrent state. Memory is a few
(batch, channels, sequence, state) tensors, linear in the sequence.

The same replacement runs in the reference of validation (a step from a given state is what the
artifact computes and what a generation loop needs); the tests check it against transformers' own
scan from zero states and the exported file, stepped, against the model on the whole sequence.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F

_SCAN = "mamba_selective_scan"
_DEFAULT_POSITIONS = 1 << 16


class _Slot:
    """The recurrent state of the mixer running now, and how many scans it has made so far (a
    layer that scans its heads one by one keeps one state per head: call k reads head k)."""

    state: torch.Tensor | None = None
    calls: int = 0

    def take(self) -> torch.Tensor | None:
        state, index = self.state, self.calls
        self.calls += 1
        if state is not None and state.dim() == 4:  # (batch, heads, channels, state)
            return state[:, index]
        return state


@contextmanager
def scans_from_state(model: Any) -> Iterator[None]:
    """Within: every `mamba_selective_scan` of `model` is `selective_scan` from its layer's
    cached recurrent state (see the module doc); a model without one is left alone."""
    modules = {sys.modules.get(type(m).__module__) for m in model.modules()}
    patched = [m for m in modules if m is not None and callable(getattr(m, _SCAN, None))]
    if not patched:
        yield
        return
    positions = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    doublings = max(1, math.ceil(math.log2(max(2, int(positions or _DEFAULT_POSITIONS)))))
    slot = _Slot()
    owners = set(patched)
    mixers = [
        m
        for m in model.modules()
        if sys.modules.get(type(m).__module__) in owners and hasattr(m, "A_log") and hasattr(m, "layer_idx")
    ]

    def before(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        slot.state, slot.calls = _cached_state(module, args, kwargs), 0
        return _local_mask(args, kwargs)

    def after(*_: Any) -> None:
        slot.state, slot.calls = None, 0

    def scan(*args: Any, **kwargs: Any) -> Any:
        return selective_scan(*args, initial_state=slot.take(), doublings=doublings, **kwargs)

    hooks = [m.register_forward_pre_hook(before, with_kwargs=True) for m in mixers]
    hooks += [m.register_forward_hook(after) for m in mixers]
    originals = [getattr(m, _SCAN) for m in patched]
    for module in patched:
        setattr(module, _SCAN, scan)
    try:
        yield
    finally:
        for module, original in zip(patched, originals, strict=True):
            setattr(module, _SCAN, original)
        for hook in hooks:
            hook.remove()


def _local_mask(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The mixer's arguments with its 2D padding mask cut to the tokens it runs on: a mixer
    multiplies its tokens by the mask, and Mamba's model hands it the mask of the past and new
    tokens (transformers' own generation loop drops the mask after the prompt; models built on
    `create_recurrent_attention_mask` cut it so already, which this leaves unchanged)."""
    mask = kwargs.get("attention_mask")
    hidden = kwargs.get("hidden_states", args[0] if args else None)
    if not isinstance(mask, torch.Tensor) or mask.dim() != 2 or not isinstance(hidden, torch.Tensor):
        return None
    # A slice (aten.narrow has no lowering); its start is 0 when the mask covers these tokens only.
    return args, {**kwargs, "attention_mask": mask[:, mask.shape[1] - hidden.shape[1] :]}


def _cached_state(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor | None:
    """The mixer's cached recurrent state, None without a cache or before its first step."""
    cache = kwargs.get("cache", kwargs.get("cache_params"))
    if cache is None and len(args) > 1:
        cache = args[1]
    getter = getattr(cache, "get_recurrent_state", None)
    if getter is None:
        return None
    try:
        return getter(module.layer_idx, state_idx=0)  # type: ignore[no-any-return]
    except ValueError:  # the layer keeps no recurrent state in this cache
        return None


def selective_scan(
    hidden_states: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    z: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
    return_last_state: bool = False,
    *,
    initial_state: torch.Tensor | None = None,
    doublings: int = 16,
    **_: Any,
) -> Any:
    """transformers' `mamba_selective_scan` (hidden_states and dt (batch, channels, length), A
    (channels, state), B and C (batch, state, length)) from `initial_state` (batch, channels,
    state; None: zeros). Exact for sequences up to 2**doublings tokens."""
    length = hidden_states.shape[-1]
    if delta_bias is not None:
        dt = dt + delta_bias.to(dt.dtype)[..., None]
    if delta_softplus:
        dt = F.softplus(dt)
    # (batch, channels, length, state): each step's decay and input, then their running combination.
    decay = torch.exp(A[None, :, None, :] * dt[..., None])
    update = dt[..., None] * B.transpose(1, 2)[:, None].float() * hidden_states[..., None].float()
    for step in range(doublings):
        shift = 1 << step
        update = update + decay * F.pad(update, (0, 0, shift, 0))[:, :, :length]
        decay = decay * F.pad(decay, (0, 0, shift, 0), value=1.0)[:, :, :length]
    # Now `decay` is the product of every decay up to each token, `update` the state from zeros.
    states = update if initial_state is None else update + decay * initial_state[:, :, None].to(update)
    out = (states * C.transpose(1, 2)[:, None].to(states)).sum(dim=-1)
    if D is not None:
        out = out + hidden_states * D[None, :, None]
    if z is not None:
        out = out * F.silu(z)
    if return_last_state:
        return out, states[:, :, -1]
    return out
