"""The generation check of a with-past export: greedy-decode through the artifact's runners and
compare tokens and each step's logits with the original model's `generate`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from irc.frontend.traced import Traced

GENERATED_TOKENS = 20
_PROMPT = {"batch": 3, "sequence": 11, "past_sequence": 0}  # left-padded to lengths 3, 7, 11


@dataclass
class _Expected:
    """`model.generate`'s side of the generation check, computed before the artifact loads."""

    ids: Any
    mask: Any
    tokens: Any
    logits: Any
    eos: tuple[int, ...]
    start: int | None = None
    """The decoder start token of an encoder-decoder."""
    encoder_inputs: dict[str, Any] | None = None
    """What an encoder-decoder's encoder reads: text ids and mask, audio features or pixels."""


def _expected_generation(parts: list[Traced], new_tokens: int = GENERATED_TOKENS) -> _Expected:
    """Plain greedy `model.generate` on the check's prompt: tokens and each step's logits."""
    from irc.frontend.config_fields import generation_settings
    from irc.validate.generate import left_padded_prompt

    first = parts[0]
    if first.loaded.task.name == "image-text-to-text-with-past":
        from irc.validate.vlm_generation import expected_generation

        return expected_generation(parts, new_tokens)  # type: ignore[return-value]
    model = first.loaded.module
    if len(parts) == 1:
        pad = generation_settings(model).pad
        ids, mask = left_padded_prompt(first.make_inputs(_PROMPT, seed=11)["input_ids"], pad_id=pad)
        tokens, logits, eos = _plain_generate(model, ids, mask, new_tokens, {})
        return _Expected(ids, mask, tokens[:, ids.shape[1] :], logits, eos)
    # The encoder's inputs: two different texts, audio clips or images (`frames` at the trace's).
    inputs = first.make_inputs({**first.sizes, "batch": 2, "sequence": 7}, seed=11)
    ids, mask = next(iter(inputs.values())), inputs.get("attention_mask")
    start = generation_settings(model).start  # generation_config.json, then config.json
    extra = {k: v for k, v in inputs.items() if k not in ("input_ids", "attention_mask")}
    tokens, logits, eos = _plain_generate(
        model, inputs.get("input_ids"), mask, new_tokens, {"decoder_start_token_id": start, **extra}, True
    )
    return _Expected(ids, mask, tokens[:, 1:], logits, eos, start, inputs)  # less the start token


def check_generation(
    parts: list[Traced], runners: dict[str, Any], atol: float, expected: _Expected | None = None
) -> Any:
    """Greedy-decode through the artifact's runners and compare with `model.generate`: tokens,
    and each step's logits within `atol`. An encoder-decoder decodes twice, through encoder,
    decoder and decoder with past, then through encoder and merged decoder; the first loop that
    disagrees is the one reported."""
    from irc.validate.generate import GenerationResult, greedy_decode, greedy_decode_seq2seq

    if parts[0].loaded.task.name == "image-text-to-text-with-past":
        from irc.validate import vlm_generation

        return vlm_generation.check_generation(parts, runners, atol, expected)
    want = _expected_generation(parts) if expected is None else expected
    # generate() stops early when every row has ended; the loops still run the full length.
    new_tokens = GENERATED_TOKENS

    def result(tokens: Any, logits: Any, via: str = "") -> Any:
        return GenerationResult(want.tokens, tokens, want.eos, via, want.logits, logits, atol)

    if len(parts) == 1:
        batch = want.ids.shape[0]
        positions = any(s.name == "position_ids" for s in parts[0].specs)
        past = _empty_past(parts[0], batch)
        tokens, logits = greedy_decode(runners["model"], want.ids, past, new_tokens, want.mask, positions)
        return result(tokens, logits)

    from irc.frontend.seq2seq import DECODER, DECODER_WITH_PAST, ENCODER, MERGED

    merged = next(p for p in parts if p.component == MERGED)
    runs = [
        (f"{ENCODER}, {DECODER}, {DECODER_WITH_PAST}", runners[DECODER], runners[DECODER_WITH_PAST], None),
        (f"{ENCODER}, {MERGED}", runners[MERGED], None, _empty_past(merged, want.ids.shape[0])),
    ]
    outcome = None
    for via, first_step, later, past in runs:
        tokens, logits = greedy_decode_seq2seq(
            runners[ENCODER], first_step, later, want.encoder_inputs, want.start, new_tokens, past
        )
        outcome = result(tokens, logits, via)
        if not outcome:
            break
    return outcome


def _plain_generate(
    model: Any, ids: Any, mask: Any, new_tokens: int, extra: dict[str, Any], mixin: bool = False
) -> tuple[Any, Any, tuple[int, ...]]:
    """`model.generate` as plain greedy search: its tokens, each step's raw logits and the
    end-of-sequence ids. The checkpoint's own settings (forced end tokens, banned words,
    minimum lengths) are not part of what the artifact computes, so they are turned off;
    generate() fills unset fields from the checkpoint, so they are given explicitly. With
    `mixin`, an encoder-decoder's class's own generate is bypassed for GenerationMixin's."""
    from functools import partial

    import torch
    from transformers import GenerationMixin

    from irc.frontend.config_fields import generation_settings

    settings = generation_settings(model)
    eos_ids, pad = settings.eos, settings.pad
    # GenerationMixin's generate, not Whisper's: its override adds task and language tokens,
    # timestamps and long-form logic; the plain greedy loop from decoder_start_token_id is what
    # the exported decoders compute step by step.
    generate = partial(GenerationMixin.generate, model) if mixin else model.generate
    with torch.no_grad():
        out = generate(
            do_sample=False,
            num_beams=1,
            max_new_tokens=new_tokens,
            pad_token_id=pad,
            forced_bos_token_id=None,
            forced_eos_token_id=None,
            bad_words_ids=None,
            suppress_tokens=None,
            begin_suppress_tokens=None,
            no_repeat_ngram_size=0,
            repetition_penalty=1.0,
            min_length=0,
            return_dict_in_generate=True,
            output_logits=True,
            **{k: v for k, v in (("input_ids", ids), ("attention_mask", mask)) if v is not None},
            **extra,
        )
    return out.sequences, torch.stack(out.logits, dim=1), eos_ids


def _empty_past(part: Traced, batch: int) -> dict[str, Any]:
    """Each `past_key_values.*` input of `part` at past length 0: the first decoding step."""
    import torch

    return {
        spec.name: torch.zeros(
            tuple(0 if a == "past_sequence" else batch if a == "batch" else a for a in spec.axes),
            dtype=getattr(torch, spec.dtype),
        )
        for spec in part.specs
        if spec.kind == "past"
    }
