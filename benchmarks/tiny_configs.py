"""A tiny random config for any transformers model type, by a generic shrink of its defaults.

`AutoConfig.for_model(type)` gives the config class defaults (a full-size model); `tiny_config`
shrinks every size it recognises, in the config and in its sub-configs (`text_config`,
`vision_config`, `encoder`, `decoder`, `backbone_config`...): widths to 32, feed-forward widths to
64, 2 layers, 4 heads (head size consistent with the width, key/value heads still dividing the
heads), 4 experts with 2 per token, a 128-token vocabulary, 128 positions (validation uses fewer),
32x32 images. No table of model types: what a key means is read from its name. A type whose tiny
config or model cannot be built raises `TinyConfigError` with the reason, which the registry run
reports rather than drops.
"""

from __future__ import annotations

from typing import Any

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
_HEAD_DIMS = {"head_dim", "d_kv", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim", "attention_head_dim"}
_EXPERTS = {"num_experts", "num_local_experts", "n_routed_experts", "moe_num_experts"}
_TOP_K = {"num_experts_per_tok", "top_k", "moe_topk", "num_selected_experts", "moe_top_k"}
_POSITIONS = {"max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length"}
_LOW_RANK = {"kv_lora_rank", "q_lora_rank"}
_PER_LAYER_LISTS = ("layer_types", "mlp_only_layers", "block_types", "layers_block_type")


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
    if "head_dim" in out and out["head_dim"] is None:
        # Some attention classes read head_dim straight from the config (Ministral's).
        out["head_dim"] = WIDTH // HEADS
    stride, patch = out.get("output_stride"), out.get("patch_size")
    if isinstance(out.get("image_size"), int) and isinstance(stride, int) and isinstance(patch, int):
        # MobileViT unfolds patches of its last feature map, `output_stride` times smaller than the image.
        out["image_size"] = max(out["image_size"], stride * patch)
    _per_layer_lists(out, values)
    _drop_stage_picks(out, values)
    _rope(out)
    _token_ids(out)
    return out


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
    if key in ("n_shared_experts", "n_group", "topk_group", "first_k_dense_replace"):
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
            out[name] = {k: v for k, v in value.items() if str(k).isdigit() and int(k) < layers}
    if isinstance(out.get("image_size"), list):
        out["image_size"] = [min(int(s), IMAGE) for s in out["image_size"]]


def _keep_kinds(value: list[Any], layers: int) -> list[Any]:
    """The first `layers` entries, unless that loses a kind of layer a hybrid model needs (OLMo
    hybrid wants an attention layer among its linear ones): then the first layer of each kind."""
    head = value[:layers]
    kinds = list(dict.fromkeys(map(repr, value)))
    if len(set(map(repr, head))) == len(kinds) or len(kinds) > layers:
        return head
    firsts = sorted({next(i for i, v in enumerate(value) if repr(v) == k) for k in kinds})
    rest = [i for i in range(len(value)) if i not in firsts]
    return [value[i] for i in sorted(firsts + rest[: layers - len(firsts)])]


def _rope(out: dict[str, Any]) -> None:
    """Multimodal rotary sections (`mrope_section`) must sum to half the shrunk head size; rotary
    parameters kept per layer kind but left empty by the defaults (Cohere Compass's) get the
    default rotation for each kind."""
    if out.get("rope_parameters") == {} and isinstance(out.get("layer_types"), list):
        default = {"rope_type": "default", "rope_theta": 10000.0}
        out["rope_parameters"] = {kind: dict(default) for kind in out["layer_types"]}
    rope = out.get("rope_parameters") or out.get("rope_scaling")
    if not isinstance(rope, dict) or not isinstance(rope.get("mrope_section"), list):
        return
    sections = rope["mrope_section"]
    half = int(out.get("head_dim") or WIDTH // HEADS) // 2
    total = sum(sections)
    scaled = [max(1, s * half // total) for s in sections]
    scaled[0] += half - sum(scaled)
    rope["mrope_section"] = scaled


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

    try:
        defaults = AutoConfig.for_model(model_type).to_dict()
    except Exception as exc:  # noqa: BLE001 - any failure is the type's reason
        raise TinyConfigError(f"AutoConfig.for_model fails: {_line(exc)}") from exc
    values = shrink(defaults)
    values.pop("model_type", None)
    values.pop("transformers_version", None)
    values.update(overrides)
    try:
        config = AutoConfig.for_model(model_type, **values)
    except Exception as exc:  # noqa: BLE001
        raise TinyConfigError(f"the shrunk config is refused: {_line(exc)}") from exc
    config.architectures = []
    return config


def tiny_model(model_type: str, task: str, seed: int = 0, **overrides: Any) -> Any:
    """A random-weight tiny `model_type` with the head of irc's `task`, in eval mode; seeded."""
    import torch
    import transformers

    from irc.frontend.tasks import TASKS

    config = tiny_config(model_type, **overrides)
    torch.manual_seed(seed)
    auto = getattr(transformers, TASKS[task].auto_class)
    try:
        return auto.from_config(config).eval()
    except Exception as exc:  # noqa: BLE001
        either = (
            " (so does transformers' unshrunk default config)" if _default_fails(model_type, auto) else ""
        )
        raise TinyConfigError(f"{TASKS[task].auto_class}.from_config fails{either}: {_line(exc)}") from exc


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
