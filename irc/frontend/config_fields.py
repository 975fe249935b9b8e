"""The config fields irc reads, each with a documented default or a one-line error.

transformers 5 raises `AttributeError` for a field a config class does not define (a bare
`T5Config` has no `decoder_start_token_id`, no `bos_token_id`, no `max_position_embeddings`), so
irc never reads a config attribute directly: `read_field` returns the field (or one of its
aliases, the names other families use), else its default, else raises `ConfigFieldError` naming
the field and what to set. `FIELDS` is the whole list; tests/test_config_fields.py feeds each one
through a minimal config.

Generation settings (`generation_settings`) come from the checkpoint's generation config
(generation_config.json) first and the model config second, as transformers' generate() does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from irc.errors import IrcError


class ConfigFieldError(IrcError):
    """A config field irc needs is absent and has no default."""


REQUIRED = object()
"""The default of a field irc cannot do without."""


@dataclass(frozen=True)
class Field:
    """A config field: the names it goes by, its default, and what it is for."""

    name: str
    aliases: tuple[str, ...] = ()
    default: Any = None
    purpose: str = ""


FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("model_type", default=REQUIRED, purpose="picks irc's task specs; save with save_pretrained"),
        Field("text_config", purpose="a multimodal model's text half (default: the config itself)"),
        Field("vision_config", purpose="a multimodal model's vision half (default: the config itself)"),
        Field("vocab_size", default=REQUIRED, purpose="dummy token ids stay below it"),
        Field("type_vocab_size", default=1, purpose="above 1, the artifact takes token_type_ids"),
        Field("is_encoder_decoder", default=False, purpose="encoder-decoder layout"),
        Field("pad_token_id", purpose="padding id of prompts; decoders' sequence-classification needs it"),
        Field("bos_token_id", purpose="start of text; a decoder start token when none is named"),
        Field("eos_token_id", purpose="end of sequence; generation stops a row there"),
        Field("decoder_start_token_id", purpose="first decoder token of an encoder-decoder"),
        Field("forced_bos_token_id", purpose="forced first generated token (copied to clients)"),
        Field("forced_eos_token_id", purpose="forced last generated token (copied to clients)"),
        Field(
            "max_position_embeddings",
            ("n_positions", "max_position", "n_ctx", "max_sequence_length"),
            purpose="the longest sequence (None: relative positions, no limit)",
        ),
        Field("hidden_size", ("d_model", "n_embd", "dim", "emb_dim"), REQUIRED, "width of the model"),
        Field("num_hidden_layers", ("num_layers", "n_layer", "n_layers"), REQUIRED, "decoder layers"),
        Field("num_attention_heads", ("num_heads", "n_head", "n_heads"), REQUIRED, "attention heads"),
        Field("num_key_value_heads", purpose="key/value heads (default: num_attention_heads)"),
        Field("head_dim", purpose="size of one head (default: hidden_size / num_attention_heads)"),
        Field("num_channels", default=3, purpose="image channels"),
        Field("image_size", ("input_size",), purpose="image side (default: the model spec's, else 224)"),
    )
}


def read_field(config: Any, name: str) -> Any:
    """`config`'s value of the field `name` (or of an alias), else the field's default; a
    `ConfigFieldError` when the field is required."""
    field = FIELDS[name]
    for key in (field.name, *field.aliases):
        value = _get(config, key)
        if value is not None:
            return value
    if field.default is REQUIRED:
        also = f" (or {', '.join(field.aliases)})" if field.aliases else ""
        raise ConfigFieldError(
            f"{_what(config)} has no {name}{also}, which irc needs ({field.purpose}); set it in config.json."
        )
    return field.default


def _get(config: Any, key: str) -> Any:
    if isinstance(config, dict):
        return config.get(key)
    try:
        return getattr(config, key)
    except AttributeError:  # transformers 5: a field the config class does not define
        return None


def _what(config: Any) -> str:
    model_type = _get(config, "model_type")
    return f"the {model_type} config" if model_type else "the model config"


@dataclass(frozen=True)
class GenerationSettings:
    """What a generation loop needs, and where each came from (for irc.json)."""

    start: int | None
    eos: tuple[int, ...]
    pad: int | None
    bos: int | None
    forced_bos: int | None = None
    forced_eos: int | None = None
    sources: tuple[tuple[str, str], ...] = ()


def _ids(value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    return tuple(int(v) for v in value) if isinstance(value, (list, tuple)) else (int(value),)


def generation_settings(model: Any) -> GenerationSettings:
    """Start, end, pad and forced tokens from `model.generation_config`, else `model.config`.

    An encoder-decoder's start token falls back to `bos_token_id` (as generate() does), then to
    `pad_token_id` (T5's convention: transformers' T5 docs say "usually set to the pad_token_id");
    with none of them it is a ConfigFieldError."""
    generation = getattr(model, "generation_config", None)
    config = model.config
    sources: list[tuple[str, str]] = []

    def pick(name: str) -> Any:
        for where, holder in (("generation_config.json", generation), ("config.json", config)):
            value = _get(holder, name) if holder is not None else None
            if value is not None:
                sources.append((name, where))
                return value
        return None

    eos, pad, bos = _ids(pick("eos_token_id")), pick("pad_token_id"), pick("bos_token_id")
    start = pick("decoder_start_token_id")
    if start is None and read_field(config, "is_encoder_decoder"):
        start = bos if bos is not None else pad
        if start is None:
            raise ConfigFieldError(
                f"{_what(config)} names no decoder_start_token_id (nor bos_token_id or pad_token_id) to "
                "start decoding with; set decoder_start_token_id in generation_config.json or config.json."
            )
        sources.append(("decoder_start_token_id", "bos_token_id" if bos is not None else "pad_token_id"))
    pad = pad if pad is not None else next(iter(eos), None)
    forced_bos, forced_eos = pick("forced_bos_token_id"), pick("forced_eos_token_id")
    return GenerationSettings(start, eos, pad, bos, forced_bos, forced_eos, tuple(sources))


def max_positions(config: Any) -> tuple[int | None, str]:
    """The longest sequence the model takes and the config field that says so; (None, "") for
    models without a limit (relative positions)."""
    field = FIELDS["max_position_embeddings"]
    for key in (field.name, *field.aliases):
        value = _get(config, key)
        if isinstance(value, int) and not isinstance(value, bool):
            # GPT-2's config maps max_position_embeddings to n_positions, config.json's name.
            return value, (getattr(config, "attribute_map", None) or {}).get(key, key)
    return None, ""
