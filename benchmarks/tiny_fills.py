"""Fields a config class leaves unset (None) that its modeling code reads and its real checkpoints set.

transformers' own default config of such a type does not build (`nn.Embedding(None, ...)`,
`range(None)`, `None // None`); the shrink fills each field from what it means, read from its
name, the way `benchmarks/tiny_configs.py` shrinks: a vocabulary size, an expert count beside the
other routing fields, one MLP kind per layer, the sizes of a token indexer, a token-name map.
Also the per-layer override dicts (`per_layer_config`) follow the kept layers and shrink like the
config they override, and a sub-config attribute the modeling code reads but the sub-config class
no longer declares (DBRX's `attn_config.rope_theta`, which transformers moved to the parent's
`rope_parameters`) is copied from where the config keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

EXPERTS, INDEX_BUDGET, INDEX_BLOCK = 4, 16, 4

_EXPERT_COUNTS = ("num_experts", "num_local_experts", "n_routed_experts", "moe_num_experts")

# A token indexer's sizes by suffix (sparse-attention indexers: `indexer_*`, `index_*`).
_INDEXER_SUFFIXES = (
    ("_kv_heads", 1),  # one key head: the indexers transformers has all require it
    ("_n_heads", 4),
    ("_head_dim", 8),
    ("_budget", INDEX_BUDGET),
    ("_compress_ratio", INDEX_BLOCK),
)


def fill_unset(out: dict[str, Any]) -> None:
    """Fill, in place, the None fields of one config level that the modeling code needs."""
    if "vocab_size" in out and out["vocab_size"] is None:
        # ESM's default leaves it unset (each checkpoint has its own alphabet), and with it the
        # ids of its special tokens, which its position ids and token dropout read.
        out["vocab_size"] = 128
        for key, value in (("pad_token_id", 1), ("mask_token_id", 127)):
            if key in out and out[key] is None:
                out[key] = value
    if isinstance(out.get("moe_intermediate_size"), int):
        # An expert width with no expert count; a config whose MoE block is off leaves both unset
        # (Gemma 4's), and stays dense.
        for key in _EXPERT_COUNTS:
            if key in out and out[key] is None:
                out[key] = EXPERTS  # dots1: n_routed_experts None beside moe_intermediate_size
        if out.get("n_shared_experts", 0) is None:
            out["n_shared_experts"] = 1
    attention = out.get("attn_config")
    if isinstance(attention, dict) and "clip_qkv" in attention and attention["clip_qkv"] is None:
        # DBRX's attention clamps q/k/v with clamp(min=None, max=None) when unset, which torch
        # refuses; its checkpoints clip at 8.
        attention["clip_qkv"] = 8.0
    _mlp_kinds(out)
    _indexer(out)
    for key in [k for k in out if k.endswith(("vocabulary_map", "vocab_map"))]:
        if out[key] is None:
            # Chameleon / Emu3 map token names to ids (the tokenizer's vocabulary); text cells
            # read only the image token's entry.
            image = out.get("image_token_id")
            out[key] = {"<image>": image} if isinstance(image, int) else {}


def _mlp_kinds(out: dict[str, Any]) -> None:
    """`mlp_layer_types` unset beside experts: DeepSeek-style stacks keep the first layer dense."""
    layers = out.get("num_hidden_layers")
    experts = any(isinstance(out.get(k), int) and out[k] > 1 for k in _EXPERT_COUNTS)
    if "mlp_layer_types" in out and out["mlp_layer_types"] is None and isinstance(layers, int) and experts:
        out["mlp_layer_types"] = ["dense"] + ["sparse"] * (layers - 1)


def _indexer(out: dict[str, Any]) -> None:
    """A sparse-attention token indexer whose every size is unset (Qwen4-Exp's QSA, which its
    attention layers always build) gets small sizes: the budget a multiple of the block."""
    groups: dict[str, list[str]] = {}
    for key in out:
        for suffix, _ in _INDEXER_SUFFIXES:
            if key.endswith(suffix) and key.startswith("index"):
                groups.setdefault(key[: -len(suffix)], []).append(key)
    for keys in groups.values():
        if len(keys) < 3 or any(out[k] is not None for k in keys):
            continue
        for key in keys:
            out[key] = next(v for s, v in _INDEXER_SUFFIXES if key.endswith(s))


def per_layer_entries(
    value: dict[str, Any], kept: list[int], parent: dict[str, Any], shrink: Callable[[dict], dict]
) -> dict[str, Any]:
    """A per-layer override dict keyed by layer index: the entries of the kept layers, renumbered,
    each shrunk as the parent config merged with it would be (Dots3's sliding layers override the
    heads and MLA sizes of the layers between its indexed ones)."""
    width = max((len(str(k)) for k in value), default=1)
    by_index = {int(k): v for k, v in value.items() if str(k).isdigit()}
    shrunk_parent = shrink(parent)
    out: dict[str, Any] = {}
    for new, old in enumerate(kept):
        entry = by_index.get(old)
        if not isinstance(entry, dict):
            continue
        merged = shrink({**parent, **entry})
        keep = {k: merged[k] for k in entry if k in merged}
        # Derived fields that differ from the parent's under this layer's own sizes (head_dim).
        keep.update({k: v for k, v in merged.items() if k in DERIVED and v != shrunk_parent.get(k)})
        out[str(new).zfill(width)] = keep
    return out


DERIVED = {"head_dim", "qk_head_dim"}


_MISSING = re.compile(r"'(\w+)' object has no attribute '(\w+)'")


def copy_missing_attribute(config: Any, exc: BaseException) -> bool:
    """Build failed on `'XConfig' object has no attribute 'y'`: set `y` on every sub-config of
    class XConfig from the value the config keeps elsewhere (a parent field or its
    rope_parameters). False when the value is found nowhere (the failure is then the reason)."""
    found = _MISSING.search(str(exc))
    if found is None:
        return False
    klass, attribute = found.groups()
    value = _lookup(config.to_dict(), attribute)
    targets = [c for c in _configs(config) if type(c).__name__ == klass and not hasattr(c, attribute)]
    if value is None or not targets:
        return False
    for target in targets:
        setattr(target, attribute, value)
    return True


def _lookup(values: dict[str, Any], key: str) -> Any:
    if values.get(key) is not None:
        return values[key]
    for nested in values.values():
        if isinstance(nested, dict):
            found = _lookup(nested, key)
            if found is not None:
                return found
    return None


def _configs(config: Any) -> list[Any]:
    from transformers import PretrainedConfig

    found = [config]
    for value in vars(config).values():
        if isinstance(value, PretrainedConfig):
            found += _configs(value)
    return found
