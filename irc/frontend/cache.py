"""The key/value cache as flat tensors: `past_key_values.{i}.key` in, `present.{i}.key` out.

Transformers 5 keeps the cache in a `Cache` object. The traced wrapper builds one from flat
input tensors and flattens the one the model returns, so the IR (and every artifact) sees plain
named tensors whatever cache class the model uses. The layout of each layer (heads, head size;
multi-query and grouped-query models have fewer key/value heads) is read off one real forward
pass rather than guessed from the config.
"""

from __future__ import annotations

from typing import Any

import torch

from irc.errors import TaskError, TraceError
from irc.frontend.state_cache import KEY_VALUE, build_state_cache, named_cache, needs_state_cache
from irc.frontend.tasks import InputSpec

PAST = "past_sequence"
_KEY_VALUE = tuple(f".{part}" for part in KEY_VALUE)  # not `.indexer_key`
TOTAL = "past_sequence + sequence"


def build_cache(config: Any, flat: tuple[torch.Tensor, ...], names: list[str] | None = None) -> Any:
    """A DynamicCache holding `flat` = (key0, value0, key1, value1, ...), every layer a full one;
    with `names` (the inputs' names) holding any fixed-size states too (state_cache.py).

    A sliding-window (or chunked) layer keeps only its last `window - 1` tokens, so its length is
    min(past + sequence, window - 1) and its mask offset max(past - window + 1, 0): Python branches
    on the past length that torch.export would bake at the traced length. A full layer keeps the
    whole past; the model's mask still applies the window (it is built from the config, not from
    the cache), so attention is the same and the artifact's present grows like any other's.
    """
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

    if names is not None and needs_state_cache(names):
        return build_state_cache(config, names, flat)
    pairs = [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]
    cache = DynamicCache(config=config)
    if len(cache.layers) < len(pairs):  # layers made lazily: they are full ones
        return DynamicCache(pairs, config=config)
    for i, (key, value) in enumerate(pairs):
        # Exactly the sliding class: a layer that also keeps other state (a hybrid's conv state)
        # stays what the model made.
        if type(cache.layers[i]) is DynamicSlidingWindowLayer:
            cache.layers[i] = DynamicLayer()
        cache.layers[i].update(key, value)
    return cache


def cache_keyword(model: Any) -> str:
    """`cache` where the model takes it (transformers 5.24 deprecates `past_key_values`, to be
    removed in 5.40), else `past_key_values`."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def returned_cache(out: Any) -> Any:
    for key in ("past_key_values", "cache"):
        if key in out and out[key] is not None:
            return out[key]
    raise TraceError(f"the model returned no cache ({', '.join(out.keys())}); it cannot export with past.")


def flatten_cache(cache: Any) -> list[torch.Tensor]:
    """(key0, value0, key1, value1, ...) of a returned cache whose layers all hold keys and values
    (the encoder-decoder and vision-language components; a decoder's own cache may hold states,
    see state_cache.named_cache)."""
    named = named_cache(cache)
    for name, _ in named:
        if not name.endswith(_KEY_VALUE):
            layer = int(name.split(".")[0])
            raise TraceError(
                f"layer {layer} of the model's cache keeps a fixed-size state ({name.split('.', 1)[1]}), not "
                "a key/value pair; irc exports such caches for decoders only (causal-lm-with-past, "
                "default-with-past), so this component cannot export with past yet (export it without past)."
            )
    return [tensor for _, tensor in named]


def present_names(count: int) -> list[str]:
    return [f"present.{i // 2}.{'key' if i % 2 == 0 else 'value'}" for i in range(count)]


def probe_layout(module: Any) -> list[tuple[tuple[int, ...], tuple[int, ...], str]]:
    """Per layer, the (key, value) shapes with batch and sequence axes left out, (heads, head_dim),
    and the cache's dtype (the model's: bfloat16 for a bfloat16 checkpoint)."""
    out = _probe(module)
    if all(out.get(key) is None for key in ("past_key_values", "cache")):
        raise TaskError(_no_cache(module))
    flat = flatten_cache(returned_cache(out))
    layout = []
    for key, value in zip(flat[0::2], flat[1::2], strict=True):
        _check_key_value(module, key)
        dtype = str(key.dtype).removeprefix("torch.")
        layout.append(((key.shape[1], key.shape[3]), (value.shape[1], value.shape[3]), dtype))
    return layout


def _no_cache(module: Any) -> str:
    text = (
        f"{type(module).__name__} returned no cache from a forward pass with use_cache=True, so irc "
        "has no cache to export with past"
    )
    if (
        getattr(module.config, "is_decoder", None) is False
        and getattr(module.config, "add_cross_attention", None) is not None
    ):
        # BERT-style encoders have a causal-lm head that only acts as a decoder when told to.
        return (
            f"{text}: its config says is_decoder: false, so the model attends both ways and keeps no "
            "cache. If the checkpoint is a decoder, set is_decoder: true in config.json; otherwise "
            "export it without past."
        )
    return f"{text}. Export it without past."


def _probe(module: Any) -> Any:
    """The model's output on 3 tokens with a cache, computed on fake tensors when the model
    allows it: shapes without reading a single weight (a real run of a 3B model would make all
    of its memory-mapped weights resident). A model whose code needs real values runs for real,
    and its weights' pages are given back after."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    from irc.memory import page_out_tensors

    ids = torch.zeros((1, 3), dtype=torch.long)
    try:
        with torch.no_grad(), FakeTensorMode(allow_non_fake_inputs=True):
            return module(input_ids=ids, use_cache=True, return_dict=True)
    except Exception:  # noqa: BLE001 - data-dependent model code: fall back to a real run
        pass
    try:
        with torch.no_grad():
            out = module(input_ids=ids, use_cache=True, return_dict=True)
    except Exception as exc:  # noqa: BLE001 - the model's own error, said in one line
        detail = " ".join(str(exc).split())[:300]
        raise TraceError(
            f"{type(module).__name__} fails on a forward pass of 3 tokens with a cache, which irc runs "
            f"to read the cache layout: {type(exc).__name__}: {detail}"
        ) from exc
    page_out_tensors(module.state_dict().values())
    return out


def past_inputs(module: Any) -> tuple[InputSpec, ...]:
    """Per cache layer, `past_key_values.{i}.key` / `.value` shaped (batch, heads, past_sequence,
    head_dim), indexer keys (`.indexer_key`, (batch, past_sequence, dim)), and any fixed-size state
    (`.conv`, `.recurrent`) shaped as the model keeps it."""
    out = _probe(module)
    if all(out.get(key) is None for key in ("past_key_values", "cache")):
        raise TaskError(_no_cache(module))
    specs = []
    for name, tensor in named_cache(returned_cache(out)):
        dtype = str(tensor.dtype).removeprefix("torch.")
        if name.endswith(_KEY_VALUE):
            _check_key_value(module, tensor)
            axes: tuple[str | int, ...] = ("batch", tensor.shape[1], PAST, tensor.shape[3])
        elif name.endswith(".indexer_key"):  # (batch, sequence, index_head_dim), one head
            axes = ("batch", PAST, tensor.shape[2])
        else:
            axes = ("batch", *tensor.shape[1:])
        specs.append(InputSpec(f"past_key_values.{name}", axes, "past", dtype))
    return tuple(specs)


def _check_key_value(module: Any, key: torch.Tensor) -> None:
    if key.dim() != 4 or key.shape[2] != 3:
        raise TraceError(
            f"{type(module).__name__} keeps its cache as {tuple(key.shape)} per layer; irc expects "
            "(batch, heads, sequence, head_dim)."
        )
