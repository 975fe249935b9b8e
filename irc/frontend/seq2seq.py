"""Encoder-decoders with their cache: the components of `seq2seq-lm-with-past`.

A generation loop runs the encoder once and the decoder once per token, so the export is four
models, named and laid out as Optimum's ONNX Runtime loop expects:

- `encoder_model`: `input_ids`, `attention_mask` -> `last_hidden_state`;
- `decoder_model` (first step): `input_ids`, `encoder_attention_mask`, `encoder_hidden_states`
  -> `logits`, `present.{i}.decoder.key/value` and the cross-attention `present.{i}.encoder.*`;
- `decoder_with_past_model` (later steps): `input_ids`, `encoder_attention_mask`,
  `past_key_values.{i}.decoder.*` and `past_key_values.{i}.encoder.*` -> `logits`,
  `present.{i}.decoder.*` (the cross-attention cache does not change);
- `decoder_model_merged`: one file for every step: `encoder_hidden_states` plus a self-attention
  past that may be empty (length 0); it recomputes the cross-attention keys and values at each
  step instead of branching on whether a cache was given, so it needs no control flow.

Dims: `sequence` is the encoder's length (in every component), `decoder_sequence` the new
decoder tokens, `past_sequence` the decoder tokens already in the cache.

The same four models serve encoders that do not read text (`speech-seq2seq-with-past`,
`image-to-text-with-past`): the encoder's inputs are the head's (`input_features`, `pixel_values`),
and the decoders' `encoder_hidden_states` and cross-attention cache run over `encoder_sequence`,
the encoder's output length, which follows from its input (frames / 2 for Whisper, patches for a
ViT) rather than being an input dim itself. Where the encoder takes no attention mask (Whisper,
vision encoders) the decoders take no `encoder_attention_mask` either; irc makes no mask for a
speech encoder that takes one (Speech2Text), so it attends to every frame, as Whisper always
does. An encoder with a mask over its input (Pix2Struct's patches) keeps `sequence`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from irc.errors import TraceError
from irc.frontend.cache import PAST, cache_keyword
from irc.frontend.loading import LoadedModel
from irc.frontend.tasks import InputSpec, model_inputs
from irc.frontend.trace import TaskModule, Wrap

ENCODER = "encoder_model"
DECODER = "decoder_model"
DECODER_WITH_PAST = "decoder_with_past_model"
MERGED = "decoder_model_merged"
COMPONENTS = (ENCODER, DECODER, DECODER_WITH_PAST, MERGED)


@dataclass(frozen=True)
class Component:
    """One model of a multi-model export: its file stem, inputs and traced module."""

    name: str
    inputs: tuple[InputSpec, ...]
    wrap: Wrap


class EncoderModule(TaskModule):
    """The encoder alone: its inputs in, `last_hidden_state` out."""

    def forward(self, *args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        kwargs = dict(zip(self.arg_names, args, strict=True))
        out = self.model.get_encoder()(**kwargs, return_dict=True)
        self.record(["last_hidden_state"])
        return (out.last_hidden_state,)


class DecoderModule(TaskModule):
    """One decoder step with the cache as flat tensors.

    `self_past`: the self-attention past is an input (length `past_sequence`, possibly 0);
    `cross_past`: the cross-attention keys/values are inputs rather than recomputed from
    `encoder_hidden_states`; `cross_out`: they are returned as `present.{i}.encoder.*`.
    """

    def __init__(self, model: Any, probe: Probe, self_past: bool, cross_past: bool, cross_out: bool) -> None:
        super().__init__(model, [], ("logits",))
        self.layers = len(probe.layout)
        self.masked = probe.masked
        self.width = probe.width
        self.self_past = self_past
        self.cross_past = cross_past
        self.cross_out = cross_out

    def forward(self, *args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        from transformers.modeling_outputs import BaseModelOutput

        input_ids, *rest = args
        mask = rest.pop(0) if self.masked else None
        hidden = None if self.cross_past else rest.pop(0)
        cache = self._cache(rest) if (self.self_past or self.cross_past) else None
        if hidden is None:
            hidden = self._stand_in_hidden(rest)
        kwargs: dict[str, Any] = {
            "encoder_outputs": BaseModelOutput(last_hidden_state=hidden),
            "decoder_input_ids": input_ids,
        }
        if mask is not None:
            kwargs["attention_mask"] = mask
        if cache is not None:
            kwargs[cache_keyword(self.model)] = cache
        out = self.model(**kwargs, use_cache=True, return_dict=True)
        returned = out.get("past_key_values") or out.get("cache")
        names, values = ["logits"], [out.logits]
        for i, (own, cross) in enumerate(_layers(returned)):
            names += [f"present.{i}.decoder.key", f"present.{i}.decoder.value"]
            values += list(own)
            if self.cross_out:
                names += [f"present.{i}.encoder.key", f"present.{i}.encoder.value"]
                values += list(cross)
        self.record(names)
        return tuple(values)

    def _cache(self, flat: list[torch.Tensor]) -> Any:
        from transformers import DynamicCache, EncoderDecoderCache

        per_layer = len(flat) // self.layers
        own, cross = [], []
        for i in range(self.layers):
            entries = flat[i * per_layer : (i + 1) * per_layer]
            if self.self_past:
                own.append((entries[0], entries[1]))
                entries = entries[2:]
            if self.cross_past:
                cross.append((entries[0], entries[1]))
        config = self.model.config
        return EncoderDecoderCache(DynamicCache(own, config=config), DynamicCache(cross, config=config))

    def _stand_in_hidden(self, flat: list[torch.Tensor]) -> torch.Tensor:
        # With the cross-attention cache given, the encoder output is never read, but the models
        # take its shape (batch, sequence, hidden) for their masks; the cache's key has both.
        key = flat[2] if self.self_past else flat[0]
        return key.new_zeros((key.shape[0], key.shape[2], self.width))


def _layers(cache: Any) -> list[tuple[tuple[torch.Tensor, torch.Tensor], tuple[Any, Any]]]:
    own = getattr(getattr(cache, "self_attention_cache", None), "layers", None)
    cross = getattr(getattr(cache, "cross_attention_cache", None), "layers", None)
    if own is None or cross is None:
        raise TraceError(
            f"the decoder returned a {type(cache).__name__}, not an EncoderDecoderCache; irc cannot "
            "flatten its cache."
        )
    return [((s.keys, s.values), (c.keys, c.values)) for s, c in zip(own, cross, strict=True)]


@dataclass(frozen=True)
class Probe:
    """What one real forward pass says about an encoder-decoder's components."""

    layout: list[tuple[tuple[int, int], tuple[int, int]]]
    """Per decoder layer, (heads, head_dim) of the self-attention and the cross-attention cache."""
    width: int
    """The width of the encoder's output (a vision-encoder-decoder projects it for its decoder)."""
    masked: bool
    """The encoder takes an attention mask, which the decoders take as `encoder_attention_mask`."""


def probe(model: Any, config: Any, encoder_inputs: tuple[InputSpec, ...]) -> Probe:
    """Run the encoder and two decoder steps on small inputs and read the cache layout off them."""
    from transformers.modeling_outputs import BaseModelOutput

    from irc.frontend.dummy import make_inputs

    inputs = make_inputs(encoder_inputs, config, {"batch": 1, "sequence": 3, "frames": 16})
    with torch.no_grad():
        hidden = model.get_encoder()(**inputs, return_dict=True).last_hidden_state
        ids = torch.full((1, 2), 5, dtype=torch.long)
        extra = {k: v for k, v in inputs.items() if k == "attention_mask"}
        encoded = BaseModelOutput(last_hidden_state=hidden)
        try:
            out = model(
                encoder_outputs=encoded, decoder_input_ids=ids, use_cache=True, return_dict=True, **extra
            )
        except AttributeError as exc:  # the decoder reads more of the encoder's output than its states
            raise TraceError(
                f"{type(model).__name__}'s decoder reads more of the encoder's output than its hidden "
                f"states ({' '.join(str(exc).split())[:120]}), as Canary's reads the subsampled attention mask "
                "its encoder returns. irc's with-past decoders take the encoder's hidden states "
                "only and cannot export this model with past yet: export the task without -with-past."
            ) from exc
    layout = []
    for (key, _), (cross_key, _) in _layers(out.get("past_key_values") or out.get("cache")):
        if key.dim() != 4 or key.shape[2] != 2 or cross_key.shape[2] != hidden.shape[1]:
            raise TraceError(
                f"{type(model).__name__} keeps its cache as {tuple(key.shape)} per layer; irc expects "
                "(batch, heads, sequence, head_dim)."
            )
        layout.append(((key.shape[1], key.shape[3]), (cross_key.shape[1], cross_key.shape[3])))
    _check_later_steps(model, encoded, ids, out, extra)
    return Probe(layout, int(hidden.shape[-1]), "attention_mask" in extra)


def _check_later_steps(model: Any, encoded: Any, ids: torch.Tensor, out: Any, extra: dict[str, Any]) -> None:
    """The with-past decoders take any number of new tokens after a cache; a decoder that takes
    only one (ProphetNet asserts it) cannot be traced that way, so it is refused here, before a
    trace fails on it."""
    cache = out.get("past_key_values") or out.get("cache")
    try:
        with torch.no_grad():
            model(
                encoder_outputs=encoded,
                decoder_input_ids=ids,
                use_cache=True,
                return_dict=True,
                **extra,
                **{cache_keyword(model): cache},
            )
    except Exception as exc:  # noqa: BLE001 - any failure is the reason
        raise TraceError(
            f"{type(model).__name__} fails on 2 new decoder tokens after a cache ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:160]}); irc's with-past decoders take any number of new "
            "tokens, and one fixed to a single token is not supported yet: export seq2seq-lm (no past)."
        ) from exc


def encoder_inputs(loaded: LoadedModel) -> tuple[InputSpec, ...]:
    """The encoder's inputs: those of the task without a cache, less the decoder's."""
    task = loaded.task.name.removesuffix("-with-past")
    specs = model_inputs(loaded.model_type, task, loaded.config, type(loaded.module))
    return tuple(s for s in specs if not s.name.startswith("decoder_"))


def components(loaded: LoadedModel) -> list[Component]:
    """The four models of an encoder-decoder with past, in the order a generation loop first
    runs them."""
    model = loaded.module
    encoder_specs = encoder_inputs(loaded)
    found = probe(model, loaded.config, encoder_specs)
    layout = found.layout
    dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
    # An encoder with a mask (text, Pix2Struct's patches) keeps its input's length; the others'
    # follows from their input (`encoder_sequence`).
    length = "sequence" if found.masked else "encoder_sequence"
    head = (InputSpec("input_ids", ("batch", "decoder_sequence"), "ids", arg="decoder_input_ids"),)
    if found.masked:
        head += (InputSpec("encoder_attention_mask", ("batch", length), "mask"),)
    hidden = InputSpec("encoder_hidden_states", ("batch", length, found.width), "float", dtype)

    def past(self_past: bool, cross_past: bool) -> tuple[InputSpec, ...]:
        specs = []
        for i, ((heads, size), (cross_heads, cross_size)) in enumerate(layout):
            if self_past:
                for kind in ("key", "value"):
                    axes = ("batch", heads, PAST, size)
                    specs.append(InputSpec(f"past_key_values.{i}.decoder.{kind}", axes, "past", dtype))
            if cross_past:
                for kind in ("key", "value"):
                    axes = ("batch", cross_heads, length, cross_size)
                    specs.append(InputSpec(f"past_key_values.{i}.encoder.{kind}", axes, "past", dtype))
        return tuple(specs)

    def decoder(self_past: bool, cross_past: bool, cross_out: bool) -> Wrap:
        def wrap(loaded: LoadedModel, names: list[str]) -> TaskModule:
            return DecoderModule(loaded.module, found, self_past, cross_past, cross_out)

        return wrap

    def encoder(loaded: LoadedModel, names: list[str]) -> TaskModule:
        by_name = {s.name: s.model_arg for s in encoder_specs}
        return EncoderModule(loaded.module, [by_name[n] for n in names], ("last_hidden_state",))

    return [
        Component(ENCODER, encoder_specs, encoder),
        Component(DECODER, (*head, hidden), decoder(False, False, True)),
        Component(DECODER_WITH_PAST, (*head, *past(True, True)), decoder(True, True, False)),
        Component(MERGED, (*head, hidden, *past(True, False)), decoder(True, False, False)),
    ]
