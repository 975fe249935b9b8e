"""A tiny random config for any transformers model type, by a generic shrink of its defaults.

`AutoConfig.for_model(type)` gives the config class defaults (a full-size model); `tiny_config`
shrinks every size it recognises, in the config and in its sub-configs (`text_config`,
`vision_config`, `encoder`, `decoder`, `backbone_config`...): widths to 32, feed-forward widths to
64, 2 layers, 4 heads (head size consistent with the width, key/value heads still dividing the
heads), 4 experts with 2 per token, a 128-token vocabulary, 128 positions (validation uses fewer),
32x32 images. Fields derived from others follow them (XLNet's `d_head`, MLA's `qk_head_dim`, a
KV-shared layer count, rope sections, routing with no top-k); defaults that fail their own
validators are read with the validators off, and a validator that pins a field to one value ("must
be 0, got 32") gets it. No table of model types: what a key means is read from its name. A type
whose tiny config or model cannot be built raises `TinyConfigError` with the reason, which the
registry run reports rather than drops.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from benchmarks.tiny_fills import copy_missing_attribute, fill_unset, per_layer_entries

WIDTH, FFN, LAYERS, HEADS, VOCAB, POSITIONS, IMAGE, WINDOW = 32, 64, 2, 4, 128, 128, 32, 8

_WIDTHS = {
    "hidden_size",
    "d_model",
    "n_embd",
    "dim",
    "emb_dim",
    "embed_dim",
    "d_latents",
    "word_embed_proj_dim",
    "embedding_size",
    "projection_dim",
    "true_hidden_size",
    "intra_bottleneck_size",
    "hidden_size_per_layer_input",
    "embedding_dim",
    "hidden_size_global",
}
_FFNS = {
    "intermediate_size",
    "ffn_dim",
    "encoder_ffn_dim",
    "decoder_ffn_dim",
    "d_ff",
    "n_inner",
    "moe_intermediate_size",
    "shared_expert_intermediate_size",
    "intermediate_size_mlp",
    "expert_intermediate_size",
    "dense_intermediate_size",
    "shared_experts_intermediate_size",
    "moe_shared_expert_intermediate_size",
    "expert_ffn_hidden_size",
    "ffn_hidden_size",
}
_LAYERS = {
    "num_hidden_layers",
    "num_layers",
    "n_layer",
    "n_layers",
    "encoder_layers",
    "decoder_layers",
    "num_decoder_layers",
    "num_encoder_layers",
    "num_blocks",
}
_HEADS = {
    "num_attention_heads",
    "n_head",
    "n_heads",
    "num_heads",
    "encoder_attention_heads",
    "decoder_attention_heads",
}
_KV_HEADS = {"num_key_value_heads", "num_kv_heads", "n_kv_heads", "multi_query_group_num"}
_HEAD_DIMS = {
    "head_dim",
    "d_head",
    "d_kv",
    "qk_rope_head_dim",
    "qk_nope_head_dim",
    "v_head_dim",
    "attention_head_dim",
}
_EXPERTS = {"num_experts", "num_local_experts", "n_routed_experts", "moe_num_experts"}
_TOP_K = {
    "num_experts_per_tok",
    "num_experts_per_token",
    "top_k_experts",
    "top_k",
    "moe_topk",
    "num_selected_experts",
    "moe_top_k",
}
_POSITIONS = {"max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length"}
_LOW_RANK = {"kv_lora_rank", "q_lora_rank"}
_PER_LAYER_LISTS = ("layer_types", "mlp_only_layers", "block_types", "layers_block_type")
_LAYER_COUNTS = {"num_kv_shared_layers"}
"""Counts of layers within the stack (layers reusing another layer's key/value cache)."""


class TinyConfigError(Exception):
    """The generic shrink cannot build this model type; the message says why."""


def shrink(values: dict[str, Any]) -> dict[str, Any]:
    """A shrunk copy of a config dict; nested config dicts are shrunk the same way."""
    out = dict(values)
    for key, value in values.items():
        if isinstance(value, dict) and ("model_type" in value or key.endswith("_config")):
            out[key] = shrink(value)
        elif isinstance(value, bool) or not isinstance(value, (int, list)):
            continue
        elif isinstance(value, int):
            # A staged vision model's layer count is its number of stages (len(depths)).
            staged = key in _LAYERS and isinstance(values.get("depths"), list)
            out[key] = value if staged else _shrink_int(key, value, values)
        elif value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            out[key] = _shrink_stages(key, value)
    fill_unset(out)
    if "head_dim" in out and out["head_dim"] is None:
        # Some attention classes read head_dim straight from the config (Ministral's).
        out["head_dim"] = WIDTH // HEADS
    if any(isinstance(out.get(k), int) and out[k] > 1 for k in _EXPERTS):
        for key in _TOP_K & {k for k, v in out.items() if v is None}:
            # Routing with experts but no top-k (DeepSeek-V2's default) fails in topk(k=None).
            out[key] = 2
    if out.get("default_language") is None and out.get("languages"):
        # X-MOD refuses input without a language: its adapters are per language.
        out["default_language"] = list(out["languages"])[0]
    stride, patch = out.get("output_stride"), out.get("patch_size")
    if isinstance(out.get("image_size"), int) and isinstance(stride, int) and isinstance(patch, int):
        # MobileViT unfolds patches of its last feature map, `output_stride` times smaller than the image.
        out["image_size"] = max(out["image_size"], stride * patch)
    _per_layer_lists(out, values)
    _layer_counts(out, values)
    _sums(out, values)
    _factored_widths(out)
    _following_widths(out, values)
    _cross_widths(out, values)
    _unshrunk_stage_channels(out, values)
    _per_class_thresholds(out)
    _drop_stage_picks(out, values)
    _rope(out)
    _token_ids(out)
    _vision_language(out)
    _grid_vision(out)
    return out


def _vision_language(out: dict[str, Any]) -> None:
    # Image-geometry fields of vision-language configs (anyres tiles, tokens per image, feature
    # layers): benchmarks/tiny_vlm.py.
    try:
        from benchmarks.tiny_vlm import vision_language
    except ImportError:  # imported as a top-level module (sys.path holds benchmarks/)
        from tiny_vlm import vision_language
    vision_language(out)


def _grid_vision(out: dict[str, Any]) -> None:
    # Vision towers that read a patch grid (qwen2-vl and kin): benchmarks/tiny_grid.py.
    try:
        from benchmarks.tiny_grid import grid_vision
    except ImportError:  # imported as a top-level module (sys.path holds benchmarks/)
        from tiny_grid import grid_vision
    grid_vision(out)


def _shrink_int(key: str, value: int, values: dict[str, Any]) -> int:
    if key in _WIDTHS:
        return min(value, WIDTH)
    if key in _FFNS:
        return min(value, FFN)
    if key in _LAYERS:
        return min(value, LAYERS)
    if key in _HEADS:
        return min(value, HEADS)
    if key in _KV_HEADS:
        heads = next((values[k] for k in _HEADS if isinstance(values.get(k), int)), HEADS)
        # Grouped-query attention stays grouped (2 key/value heads for 4), multi-query stays 1.
        return 1 if value == 1 else (HEADS if value >= heads else 2)
    if key in _HEAD_DIMS:
        return min(value, WIDTH // HEADS)
    if key in _EXPERTS:
        return min(value, 4)
    if key in _TOP_K:
        return min(value, 2)
    if key in _POSITIONS:
        return min(value, POSITIONS)
    if key in _LOW_RANK:
        return min(value, 16)
    if key in ("vocab_size", "decoder_vocab_size", "vocab_size_per_layer_input"):
        return min(value, VOCAB)
    if key in ("image_size", "input_size"):
        return min(value, IMAGE)
    if key == "attention_window":
        # Longformer pads every input to a multiple of its window (512): past the shrunk positions.
        return min(value, WINDOW)
    if key == "patch_size":
        return min(value, 8)
    if key in (
        "n_shared_experts",
        "n_group",
        "num_expert_group",
        "topk_group",
        "first_k_dense_replace",
    ):
        return min(value, 1)
    return value


def _shrink_stages(key: str, value: list[int]) -> list[int]:
    """Per-stage lists of hierarchical vision models (Swin, ConvNeXt): one block per stage,
    widths 8, 16, 32... and heads 1, 2, 4... so that each stage's width still divides."""
    if key == "depths":
        return [min(v, 1) for v in value]
    if key == "attention_window":
        return [min(v, WINDOW) for v in value]
    if key in ("hidden_sizes", "embed_dims", "dims"):
        return [min(v, 8 * 2**i) for i, v in enumerate(value)]
    if key in _HEADS:
        return [min(v, 2**i) for i, v in enumerate(value)]
    return value


def _per_layer_lists(out: dict[str, Any], before: dict[str, Any]) -> None:
    """Lists with one entry per layer (by name, or by having the old layer count's length), and
    dicts keyed by layer index, follow the layer count down."""
    key = next((k for k in _LAYERS if isinstance(out.get(k), int)), None)
    if key is None:
        return
    layers, old = out[key], before[key]
    for name, value in list(out.items()):
        per_layer = name in _PER_LAYER_LISTS or (
            old > layers and len(value) == old if isinstance(value, list) else False
        )
        if per_layer and len(value) > layers:
            out[name] = _keep_kinds(value, layers)
        elif name.startswith("per_layer") and isinstance(value, dict):
            kinds = before.get("layer_types")
            kept = _kept(kinds, layers) if isinstance(kinds, list) else list(range(layers))
            parent = {k: v for k, v in before.items() if not isinstance(v, dict)}
            out[name] = per_layer_entries(value, kept, parent, shrink)
    if isinstance(out.get("image_size"), list):
        out["image_size"] = [min(int(s), IMAGE) for s in out["image_size"]]


def _layer_counts(out: dict[str, Any], before: dict[str, Any]) -> None:
    """A count of layers that was the whole stack stays the whole stack (an assistant model whose
    every layer reuses the cache); a part of it becomes 0, since with two layers kept, one of each
    kind, every kind must still produce its own cache."""
    key = next((k for k in _LAYERS if isinstance(out.get(k), int)), None)
    if key is None:
        return
    for name in _LAYER_COUNTS:
        value = out.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value:
            out[name] = out[key] if value == before[key] else 0


_SUMS = {
    "qk_head_dim": ("qk_nope_head_dim", "qk_rope_head_dim"),
    # Dots3's sliding layers: a head_dim that is the MLA query head is that sum too.
    "head_dim": ("qk_nope_head_dim", "qk_rope_head_dim"),
}
"""Fields defined as the sum of others (a query head of MLA attention: its unrotated and rotated parts)."""


def _sums(out: dict[str, Any], before: dict[str, Any]) -> None:
    for name, parts in _SUMS.items():
        if isinstance(out.get(name), int) and all(isinstance(before.get(p), int) for p in parts):
            if before[name] == sum(before[p] for p in parts):
                out[name] = sum(out[p] for p in parts)


def _factored_widths(out: dict[str, Any]) -> None:
    """Widths derived as `hidden_size * *_dim_factor` are rounded up to a multiple of 64 by some
    configs (xLSTM's qk_dim) but not by their modeling code: the width is raised until every such
    product is a whole multiple of 64, where the two agree."""
    factors = [v for k, v in out.items() if k.endswith("_dim_factor") and isinstance(v, float)]
    if not factors:
        return
    widths = range(WIDTH, 64 * 64 + 1, WIDTH)
    width = next((w for w in widths if all((w * f) % 64 == 0 for f in factors)), WIDTH)
    for key in _WIDTHS:
        if isinstance(out.get(key), int) and out[key] == WIDTH:
            out[key] = width


def _following_widths(out: dict[str, Any], before: dict[str, Any]) -> None:
    """Fields named `*_hidden_size` or `*_dim` that equalled the model width before the shrink are
    that width under another name (DeBERTa-v2's pooler_hidden_size), and `*_channels` lists of it
    are that width per level (DEIMv2's decoder_in_channels): they follow it down."""
    key = next((k for k in ("hidden_size", "d_model", "n_embd", "dim") if isinstance(out.get(k), int)), None)
    if key is None or isinstance(before.get(key), bool) or out[key] == before.get(key):
        return
    old, new = before[key], out[key]
    for name, value in before.items():
        if out.get(name) != value:
            continue  # another rule has shrunk it
        # `*_input_size`: an adapter fed the width (Dots3's audio adapter_input_size).
        named = name.endswith(("_hidden_size", "_dim", "_input_size")) and name not in _HEAD_DIMS
        if named and type(value) is int and value == old:
            out[name] = new
        # Per-level channel lists that are the width at every level (RT-DETR-style decoders).
        elif name.endswith("_channels") and isinstance(value, list) and value and value == [old] * len(value):
            out[name] = [new] * len(value)


def _cross_widths(out: dict[str, Any], before: dict[str, Any]) -> None:
    """A sub-config's `*_dim` / `*_hidden_size` left whole that equalled another sub-config's old
    width is that width (Dots3's vision adapter_out_dim is the text hidden size): it follows it."""
    subs = [
        k
        for k, v in out.items()
        if isinstance(v, dict) and isinstance(before.get(k), dict) and "hidden_size" in v
    ]
    widths = {}
    for key in subs:
        old, new = before[key].get("hidden_size"), out[key].get("hidden_size")
        if type(old) is int and type(new) is int and old != new:
            widths.setdefault(old, new)
    for key in subs:
        for name, value in before[key].items():
            named = (
                isinstance(name, str) and name.endswith(("_hidden_size", "_dim")) and name not in _HEAD_DIMS
            )
            if named and type(value) is int and out[key].get(name) == value and value in widths:
                out[key][name] = widths[value]


def _unshrunk_stage_channels(out: dict[str, Any], before: dict[str, Any]) -> None:
    """A backbone that builds its stages from `stage_out_channels` (HGNetV2, which the shrink
    leaves whole) but reports `hidden_sizes` as its feature widths needs the two to agree: its
    `hidden_sizes` keep their full widths."""
    if isinstance(before.get("stage_out_channels"), list) and isinstance(before.get("hidden_sizes"), list):
        out["hidden_sizes"] = before["hidden_sizes"]


def _per_class_thresholds(out: dict[str, Any]) -> None:
    """Per-class lists the default config leaves unset (PP-DocLayoutV2's head indexes its score
    thresholds and reading-order ranks by class; its checkpoints ship them): one entry per label,
    a 0.5 threshold and the identity order."""
    labels = out.get("id2label")
    if not isinstance(labels, dict):
        return
    for key, value in (("class_thresholds", [0.5] * len(labels)), ("class_order", list(range(len(labels))))):
        if key in out and out[key] is None:
            out[key] = value


def _keep_kinds(value: list[Any], layers: int) -> list[Any]:
    """The first `layers` entries, unless that loses a kind of layer a hybrid model needs (OLMo
    hybrid wants an attention layer among its linear ones): then the first layer of each kind."""
    return [value[i] for i in _kept(value, layers)]


def _kept(value: list[Any], layers: int) -> list[int]:
    """The indices `_keep_kinds` keeps."""
    head = value[:layers]
    kinds = list(dict.fromkeys(map(repr, value)))
    if len(set(map(repr, head))) == len(kinds) or len(kinds) > layers:
        return list(range(min(layers, len(value))))
    firsts = sorted({next(i for i, v in enumerate(value) if repr(v) == k) for k in kinds})
    rest = [i for i in range(len(value)) if i not in firsts]
    return sorted(firsts + rest[: layers - len(firsts)])


def _rope(out: dict[str, Any]) -> None:
    """Multimodal rotary sections (`mrope_section`) must sum to half the shrunk rotary size,
    including the sections a modeling file defaults to when the config (whose class declares the
    key) leaves them out (Qwen2-VL's [16, 24, 24]); rotary parameters kept per layer kind but left
    empty by the defaults (Cohere Compass's) get the default rotation for each kind."""
    if out.get("rope_parameters") == {} and isinstance(out.get("layer_types"), list):
        default = {"rope_type": "default", "rope_theta": 10000.0}
        out["rope_parameters"] = {kind: dict(default) for kind in out["layer_types"]}
    rope = out.get("rope_parameters") or out.get("rope_scaling")
    if not isinstance(rope, dict):
        return
    sections = rope.get("mrope_section")
    if sections is None and "rope_type" in rope and _declares_mrope(out.get("model_type")):
        sections = [2, 3, 3]
    if not isinstance(sections, list):
        return
    factor = rope.get("partial_rotary_factor", out.get("partial_rotary_factor")) or 1.0
    half = int(int(out.get("head_dim") or WIDTH // HEADS) * factor) // 2
    total = sum(sections)
    scaled = [max(1, s * half // total) for s in sections]
    scaled[0] += half - sum(scaled)
    rope["mrope_section"] = scaled


def _declares_mrope(model_type: Any) -> bool:
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    try:  # the lazy mapping has no working .get()
        cls = CONFIG_MAPPING[model_type]
    except KeyError:
        return False
    return "mrope_section" in (getattr(cls, "ignore_keys_at_rope_validation", None) or ())


def _token_ids(out: dict[str, Any]) -> None:
    """Special token ids past the shrunk vocabulary are moved into it."""
    vocab = out.get("vocab_size")
    text = out.get("text_config")
    if not isinstance(vocab, int) and isinstance(text, dict):
        vocab = text.get("vocab_size")  # a vision-language config's ids are its text model's
    if not isinstance(vocab, int):
        return
    for key, value in list(out.items()):
        special = key.endswith(("token_id", "token_index"))
        if special and isinstance(value, int) and value >= vocab:
            # Deterministic (not hash(), which is salted per process) and distinct per key.
            out[key] = vocab - 1 - sum(map(ord, key)) % 8


def _drop_stage_picks(values: dict[str, Any], defaults: dict[str, Any]) -> None:
    """A backbone's `out_features` / `out_indices` name stages by number; with fewer layers they
    would name stages that are gone, so the config's own default (the last stage) is used."""
    if any(values.get(k) != defaults.get(k) for k in _LAYERS):
        for key in ("out_features", "out_indices", "stage_names"):
            values.pop(key, None)


def tiny_config(model_type: str, **overrides: Any) -> Any:
    """The shrunk default config of `model_type`, with `overrides` applied last."""
    from transformers import AutoConfig

    values = shrink(_defaults(model_type))
    values.pop("model_type", None)
    values.pop("transformers_version", None)
    values.update(overrides)
    for _ in range(_REPAIRS):
        try:
            config = AutoConfig.for_model(model_type, **values)
            break
        except Exception as exc:  # noqa: BLE001
            if not _repair(values, exc):
                raise TinyConfigError(f"the shrunk config is refused: {_line(exc)}") from exc
    config.architectures = []
    return config


_REPAIRS = 8
_PINNED = re.compile(r"`?(\w+)`? must be (0|False|True|None), got")


def _defaults(model_type: str) -> dict[str, Any]:
    """The config class defaults as a dict. A few types' own defaults fail their validators
    (Gemma 4 assistant's text config keeps the per-layer inputs the assistant forbids): those are
    read with the validators off, and the shrunk config is validated (and repaired) as usual."""
    from unittest import mock

    from transformers import AutoConfig
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    try:
        return AutoConfig.for_model(model_type).to_dict()
    except Exception as exc:  # noqa: BLE001 - any failure is the type's reason
        error = exc
    try:
        cls = CONFIG_MAPPING[model_type]
        with contextlib.ExitStack() as stack:
            for klass in cls.__mro__:
                if "validate" in vars(klass):
                    stack.enter_context(mock.patch.object(klass, "validate", lambda self: None))
            return cls().to_dict()
    except Exception:  # noqa: BLE001 - the validators were not the only problem
        raise TinyConfigError(f"AutoConfig.for_model fails: {_line(error)}") from error


def _repair(values: dict[str, Any], exc: BaseException) -> bool:
    """A validator that pins a field to one value ("hidden_size_per_layer_input must be 0, got
    32") names the fix: set that field, wherever in the nested config it is. False if it does not."""
    found = _PINNED.search(str(exc))
    if found is None:
        return False
    key, text = found.groups()
    value = {"False": False, "True": True, "None": None}.get(text, 0)
    return _set_everywhere(values, key, value)


def _set_everywhere(values: dict[str, Any], key: str, value: Any) -> bool:
    changed = False
    if key in values and values[key] != value:
        values[key], changed = value, True
    for nested in values.values():
        if isinstance(nested, dict):
            changed = _set_everywhere(nested, key, value) or changed
    return changed


def tiny_model(model_type: str, task: str, seed: int = 0, **overrides: Any) -> Any:
    """A random-weight tiny `model_type` with the head of irc's `task`, in eval mode; seeded."""
    import transformers

    from irc.frontend.tasks import TASKS

    config = tiny_config(model_type, **overrides)
    auto = getattr(transformers, TASKS[task].auto_class)
    try:
        model = _build(auto, config, seed)
    except Exception as exc:  # noqa: BLE001
        either = (
            " (so does transformers' unshrunk default config)" if _default_fails(model_type, auto) else ""
        )
        raise TinyConfigError(f"{TASKS[task].auto_class}.from_config fails{either}: {_line(exc)}") from exc
    _redraw_constant_matrices(model)
    return model


def _build(auto: Any, config: Any, seed: int) -> Any:
    """`auto.from_config`, after copying sub-config attributes the modeling code reads but the
    sub-config class lacks (tiny_fills.copy_missing_attribute)."""
    import torch

    for _ in range(_REPAIRS):
        torch.manual_seed(seed)
        try:
            return auto.from_config(config).eval()
        except AttributeError as exc:
            if not copy_missing_attribute(config, exc):
                raise
    return auto.from_config(config).eval()


def _redraw_constant_matrices(model: Any) -> None:
    """Some inits leave a matrix constant (afmoe zeroes its router gate), so every expert scores
    alike and top-k picks among exact ties, which torch and ONNX's TopK break differently: the
    cell would fail on a tie no trained checkpoint has. Such matrices get small random values."""
    import torch

    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.ndim >= 2 and parameter.is_floating_point() and parameter.numel() > 1:
                flat = parameter.reshape(-1)
                if bool((flat == flat[0]).all()):
                    parameter.normal_(0.0, 0.02)


def _default_fails(model_type: str, auto: Any) -> bool:
    """Whether the type's own default config fails to build too (on the meta device: no memory),
    which says the failure is the type's defaults, not the shrink."""
    import torch
    from transformers import AutoConfig

    try:
        config = AutoConfig.for_model(model_type)
        config.architectures = []
        with torch.device("meta"):
            auto.from_config(config)
    except Exception:  # noqa: BLE001 - any failure counts
        return True
    return False


def _line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__
