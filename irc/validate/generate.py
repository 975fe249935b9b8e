"""Greedy decoding through an exported decoder with its key/value cache as plain tensors.

The loop is the one an ONNX Runtime generation loop runs: the whole prompt with an empty past
first, then one token at a time, feeding each step's `present.*` back as `past_key_values.*`.
Prompts of different lengths are left-padded, and `position_ids` (where the artifact takes
them) come from the mask at every step, as transformers' generate() makes them.
Comparing its tokens with `model.generate(do_sample=False)` checks the cache end to end: a
wrong present, a wrong mask or a baked past length changes the tokens. Tiny random models often
repeat one token, which a broken cache could reproduce, so each step's logits are compared too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

Step = Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]
Decoded = tuple[torch.Tensor, torch.Tensor]
"""Tokens (batch, steps) and the logits each step chose from (batch, steps, vocab)."""


PROMPT_LENGTHS = (3, 7, 11)
"""Prompt lengths of the generation check's batch, left-padded to the longest: a loop that
ignores the mask or numbers positions by column gets the short rows wrong."""


def left_padded_prompt(
    ids: torch.Tensor, lengths: tuple[int, ...] = PROMPT_LENGTHS, pad_id: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """`ids` (one row per length, `max(lengths)` columns) with row i cut to its last `lengths[i]`
    tokens, left-padded with `pad_id` (kept as they are when None: the mask hides them), and its
    attention mask."""
    width = max(lengths)
    if ids.shape != (len(lengths), width):
        raise ValueError(f"prompt ids {tuple(ids.shape)} do not hold {len(lengths)} rows of {width}")
    mask = torch.ones_like(ids)
    ids = ids.clone()
    for row, length in enumerate(lengths):
        mask[row, : width - length] = 0
        if pad_id is not None:
            ids[row, : width - length] = pad_id
    return ids, mask


def greedy_decode(
    step: Step,
    input_ids: torch.Tensor,
    empty_past: dict[str, torch.Tensor],
    new_tokens: int,
    attention_mask: torch.Tensor | None = None,
    position_ids: bool = False,
) -> Decoded:
    """`new_tokens` greedy tokens after `input_ids` (batch, prompt), whose rows may be
    left-padded (`attention_mask` 0 there); `empty_past` holds each `past_key_values.*` input
    with a past length of 0. With `position_ids`, each step passes them computed from the mask
    as generate() does (`irc.frontend.dummy.positions_from_mask`)."""
    from irc.frontend.dummy import positions_from_mask

    batch = input_ids.shape[0]
    past = dict(empty_past)
    mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
    current = input_ids
    tokens, logits = [], []
    for _ in range(new_tokens):
        feed = {"input_ids": current, "attention_mask": mask}
        if position_ids:
            feed["position_ids"] = positions_from_mask(mask, tuple(current.shape))
        out = step({**feed, **past})
        logits.append(out["logits"][:, -1])
        token = logits[-1].argmax(-1)
        tokens.append(token)
        past = {name: out[name.replace("past_key_values.", "present.", 1)] for name in past}
        current = token[:, None].to(input_ids.dtype)
        mask = torch.cat([mask, torch.ones((batch, 1), dtype=mask.dtype)], dim=1)
    return torch.stack(tokens, dim=1), torch.stack(logits, dim=1)


def greedy_decode_seq2seq(
    encoder: Step,
    decoder: Step,
    decoder_with_past: Step | None,
    encoder_inputs: dict[str, torch.Tensor],
    start_id: int,
    new_tokens: int,
    empty_past: dict[str, torch.Tensor] | None = None,
) -> Decoded:
    """`new_tokens` greedy tokens of an encoder-decoder exported as components, after the
    encoder ran on `encoder_inputs` (`input_ids` and `attention_mask` of text; `input_features`
    or `pixel_values`, without a mask, of audio and images).

    With `decoder_with_past`, the first step runs `decoder` (no cache in, the whole cache out)
    and later ones `decoder_with_past` (self- and cross-attention cache in); without it,
    `decoder` is a merged decoder that takes `encoder_hidden_states` and a self-attention past,
    starting from `empty_past`.
    """
    first = next(iter(encoder_inputs.values()))
    batch = first.shape[0]
    hidden = encoder(encoder_inputs)["last_hidden_state"]
    current = torch.full((batch, 1), start_id, dtype=torch.int64)
    mask = encoder_inputs.get("attention_mask")
    common = {} if mask is None else {"encoder_attention_mask": mask}
    past = dict(empty_past or {})
    tokens, logits = [], []
    for step in range(new_tokens):
        if decoder_with_past is not None and step > 0:
            out = decoder_with_past({"input_ids": current, **common, **past})
        else:
            out = decoder({"input_ids": current, **common, "encoder_hidden_states": hidden, **past})
        logits.append(out["logits"][:, -1])
        token = logits[-1].argmax(-1)
        tokens.append(token)
        # The cross-attention cache comes out of the first step only and stays as it is.
        keep = past if decoder_with_past is None else _presents_as_past(out)
        past = {**past, **{name: out[name.replace("past_key_values.", "present.", 1)] for name in keep}}
        current = token[:, None].to(torch.int64)
    return torch.stack(tokens, dim=1), torch.stack(logits, dim=1)


def _presents_as_past(out: dict[str, torch.Tensor]) -> list[str]:
    return [n.replace("present.", "past_key_values.", 1) for n in out if n.startswith("present.")]


@dataclass(frozen=True)
class GenerationResult:
    """Tokens of the reference and of the artifact; truthy when they agree token for token and
    every step's logits agree within `atol`.

    `model.generate` stops a row at its end-of-sequence token, so each row is compared up to
    and including that token; `compared` counts the tokens compared.
    """

    expected: torch.Tensor
    actual: torch.Tensor
    eos: tuple[int, ...] = ()
    via: str = ""
    """Which loop made `actual`, when the artifact has several models."""
    expected_logits: torch.Tensor | None = None
    actual_logits: torch.Tensor | None = None
    atol: float = float("inf")

    @property
    def logits_diff(self) -> float:
        """Max abs difference of the logits over the compared steps (0 when not recorded)."""
        if self.expected_logits is None or self.actual_logits is None:
            return 0.0
        diffs = [
            float((self.expected_logits[row, :n] - self.actual_logits[row, :n]).abs().max())
            for row, n in enumerate(self._row_lengths())
            if n and self.actual_logits.shape[1] >= n
        ]
        return max(diffs, default=0.0)

    def _row_lengths(self) -> list[int]:
        lengths = []
        for row in self.expected.tolist():
            stops = [i for i, token in enumerate(row) if token in self.eos]
            lengths.append(stops[0] + 1 if stops else len(row))
        return lengths

    @property
    def compared(self) -> int:
        return sum(self._row_lengths())

    @property
    def distinct(self) -> int:
        return len(
            {t for row, n in zip(self.expected.tolist(), self._row_lengths(), strict=True) for t in row[:n]}
        )

    def first_difference(self) -> int | None:
        for row, n in enumerate(self._row_lengths()):
            if self.actual.shape[1] < n:
                return self.actual.shape[1]
            differ = (self.expected[row, :n] != self.actual[row, :n]).nonzero()
            if len(differ):
                return int(differ[0])
        return None

    @property
    def logits_tolerance(self) -> float:
        """`atol` scaled by the largest logit: twenty steps of float32 through a cache computed
        in another order drift further than one forward pass does (4e-4 on logits of 23 for a
        tiny BLOOM), while a broken cache moves logits by their own size."""
        if self.expected_logits is None:
            return self.atol
        return self.atol * max(1.0, float(self.expected_logits.abs().max()))

    def __bool__(self) -> bool:
        return self.first_difference() is None and self.logits_diff <= self.logits_tolerance

    def format(self) -> str:
        via = f" through {self.via}" if self.via else ""
        logits = f"step logits max abs diff {self.logits_diff:.3g}"
        if self:
            return (
                f"-[✓] {self.compared} greedy tokens over {self.expected.shape[0]} prompts{via} "
                f"match model.generate() ({self.distinct} distinct ids; {logits})"
            )
        if self.first_difference() is None:
            return (
                f"-[x] greedy tokens{via} match model.generate() but the {logits} > "
                f"{self.logits_tolerance:.3g} (atol {self.atol:g} x the largest logit)"
            )
        return f"-[x] greedy tokens{via} differ from model.generate() from token {self.first_difference()} on"
