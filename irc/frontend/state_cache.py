"""Caches with fixed-size states: the linear-attention and state-space layers of hybrid models.

A transformers `Cache` layer may hold keys and values (attention, growing with the past), a
convolution state and a recurrent state (linear attention, Mamba-style state-space layers; fixed
size whatever the past), both, or nothing (a layer with no attention). Each becomes its own
input and output, named by layer and part:

- `past_key_values.{i}.key` / `.value`: (batch, heads, past_sequence, head_dim), as before;
- `past_key_values.{i}.indexer_key`: the keys of a sparse-attention layer's lightning indexer
  (DeepSeek V3.2, GLM-MoE-DSA: transformers' `DynamicIndexedLayer.indexer_keys`), (batch,
  past_sequence, index_head_dim), growing with the past like the keys;
- `past_key_values.{i}.conv`: the last `kernel` inputs of the layer's causal convolution;
- `past_key_values.{i}.recurrent`: the recurrent (SSM / delta-rule) state;
- `.conv.{s}` / `.recurrent.{s}` for a layer's further states (`number_of_conv_states`);

and `present.*` the same. The first step feeds zero states: a zero convolution state is the
zero padding the model applies to a prompt, and a zero recurrent state the one it starts from.
The traced cache always says it has a previous state, so the model takes its continuation path
(the previous conv inputs concatenated before the new ones, the chunked scan from the given
state), which holds for any sequence length; the one-token shortcut it takes in `generate()`
computes the same thing.
"""

from __future__ import annotations

import re
from typing import Any

import torch

from irc.errors import TraceError

KEY_VALUE = ("key", "value")
_NAME = re.compile(
    r"^(?:past_key_values|present)\.(\d+)\.(key|value|indexer_key|conv|recurrent)(?:\.(\d+))?$"
)


def state_suffix(part: str, state: int) -> str:
    return part if state == 0 else f"{part}.{state}"


def named_cache(cache: Any) -> list[tuple[str, torch.Tensor]]:
    """(`{layer}.{part}`, tensor) for every tensor a returned cache holds, in layer order."""
    cross = getattr(cache, "cross_attention_cache", None)
    if cross is not None and not any(getattr(layer, "is_initialized", False) for layer in cross.layers):
        # A decoder-only model that makes an EncoderDecoderCache whatever its config (RoCBert's)
        # leaves the cross-attention half empty: its cache is the self-attention half.
        cache = cache.self_attention_cache
    layers = getattr(cache, "layers", None)
    if layers is None:
        raise TraceError(f"the model returned a {type(cache).__name__} cache, which irc cannot flatten yet.")
    named: list[tuple[str, torch.Tensor]] = []
    for i, layer in enumerate(layers):
        _refuse_indexer_positions(i, cache, layer)
        keys, values = getattr(layer, "keys", None), getattr(layer, "values", None)
        if isinstance(keys, torch.Tensor) and isinstance(values, torch.Tensor):
            named += [(f"{i}.key", keys), (f"{i}.value", values)]
        indexer = getattr(layer, "indexer_keys", None)
        if isinstance(indexer, torch.Tensor) and getattr(layer, "is_indexer_initialized", False):
            named.append((f"{i}.indexer_key", indexer))
        for part in ("conv", "recurrent"):
            states = getattr(layer, f"{part}_states", None) or {}
            flags = getattr(layer, f"is_{part}_states_initialized", None) or {}
            for s in sorted(states):
                if flags.get(s) and isinstance(states[s], torch.Tensor):
                    named.append((f"{i}.{state_suffix(part, s)}", states[s]))
    if not named:
        raise TraceError(f"the model's {type(cache).__name__} holds no tensor after a forward pass.")
    return named


def _refuse_indexer_positions(i: int, cache: Any, layer: Any) -> None:
    if isinstance(getattr(layer, "indexer_position_ids", None), torch.Tensor):
        # Some indexers keep the positions of their cached keys too, laid out (dims, batch, past).
        raise TraceError(
            f"layer {i} of the model's {type(cache).__name__} is a {type(layer).__name__} that keeps "
            "indexer position ids beside its indexer keys; irc has no cache input for positions yet, so "
            "this model cannot export with past yet (export it without past)."
        )


def has_states(names: list[str]) -> bool:
    """Whether a cache's inputs (or outputs) hold anything beside keys and values (fixed-size
    states, indexer keys): what a runtime that feeds back keys and values only cannot run."""
    return any(_parse(n)[1] not in KEY_VALUE for n in names)


def needs_state_cache(names: list[str]) -> bool:
    """Whether the named cache inputs are more than a key and a value for each of layers 0..n-1
    in order (states, or layers that keep nothing, such as shared-cache layers)."""
    plain = [f"past_key_values.{i // 2}.{KEY_VALUE[i % 2]}" for i in range(len(names))]
    return names != plain


def _parse(name: str) -> tuple[int, str, int]:
    match = _NAME.match(name)
    if match is None:
        raise TraceError(f"{name!r} is not a cache input irc knows (past_key_values.<layer>.<part>).")
    layer, part, state = match.groups()
    return int(layer), part, int(state or 0)


def build_state_cache(config: Any, names: list[str], flat: tuple[torch.Tensor, ...]) -> Any:
    """The DynamicCache the model makes for `config`, holding the named tensors, every layer with
    a state marked as continuing from it, every attention layer a full one (see cache.build_cache)."""
    from transformers import DynamicCache

    cache = DynamicCache(config=config)
    by_layer: dict[int, dict[tuple[str, int], torch.Tensor]] = {}
    for name, tensor in zip(names, flat, strict=True):
        layer, part, state = _parse(name)
        by_layer.setdefault(layer, {})[(part, state)] = tensor
    if len(cache.layers) <= max(by_layer):
        raise TraceError(
            f"the model's config makes a cache of {len(cache.layers)} layers, but its forward pass "
            f"returned state for layer {max(by_layer)}; irc cannot rebuild this cache."
        )
    for i, parts in by_layer.items():
        cache.layers[i] = layer = _full_attention(cache.layers[i])
        if ("key", 0) in parts:
            layer.update(parts[("key", 0)], parts[("value", 0)])
        if ("indexer_key", 0) in parts:
            _set_indexer(layer, parts[("indexer_key", 0)])
        for (part, state), tensor in parts.items():
            if part in ("conv", "recurrent"):
                _set_state(layer, part, state, tensor)
    return cache


def _full_attention(layer: Any) -> Any:
    """A sliding layer as a full one (its mask still applies the window; see cache.build_cache)."""
    from transformers.cache_utils import (
        DynamicSlidingWindowLayer,
        LinearAttentionAndFullAttentionLayer,
        LinearAttentionAndSlidingWindowAttentionLayer,
    )

    if type(layer) is DynamicSlidingWindowLayer:
        from transformers.cache_utils import DynamicLayer

        return DynamicLayer()
    if type(layer) is LinearAttentionAndSlidingWindowAttentionLayer:
        return LinearAttentionAndFullAttentionLayer(number_of_states=layer.number_of_states)
    return layer


def _set_indexer(layer: Any, keys: torch.Tensor) -> None:
    if not hasattr(layer, "update_indexer"):
        raise TraceError(
            f"the model's cache layer {type(layer).__name__} keeps no indexer keys, but its forward pass "
            "returned them; irc cannot rebuild this cache."
        )
    # The layer grows its indexer keys by concatenation, as it does its keys.
    layer.indexer_keys, layer.is_indexer_initialized = keys, True
    layer.indexer_dtype, layer.indexer_device = keys.dtype, keys.device


def _set_state(layer: Any, part: str, state: int, tensor: torch.Tensor) -> None:
    if not hasattr(layer, f"{part}_states"):
        raise TraceError(
            f"the model's cache layer {type(layer).__name__} keeps no {part} state, but its forward pass "
            "returned one; irc cannot rebuild this cache."
        )
    # A copy: the layer updates its states in place, and the artifact's inputs stay unchanged.
    getattr(layer, f"{part}_states")[state] = tensor.clone()
    getattr(layer, f"is_{part}_states_initialized")[state] = True
    layer.has_previous_state[state] = True
    if part == "conv":
        layer.conv_kernel_size[state] = tensor.shape[-1]
    layer.dtype, layer.device = tensor.dtype, tensor.device
