"""Greedy decoding through an exported decoder with its key/value cache as plain tensors.

The loop is the one an ONNX Runtime generation loop runs: the whole prompt with an empty past
first, then one token at a time, feeding each step's `present.*` back as `past_key_values.*`.
Comparing its tokens with `model.generate(do_sample=False)` checks the cache end to end: a
wrong present, a wrong mask or a baked past length changes the tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

Step = Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]


def greedy_decode(
    step: Step, input_ids: torch.Tensor, empty_past: dict[str, torch.Tensor], new_tokens: int
) -> torch.Tensor:
    """`new_tokens` greedy tokens after `input_ids` (batch, prompt); `empty_past` holds each
    `past_key_values.*` input with a past length of 0."""
    batch = input_ids.shape[0]
    past = dict(empty_past)
    mask = torch.ones_like(input_ids)
    current = input_ids
    tokens = []
    for _ in range(new_tokens):
        out = step({"input_ids": current, "attention_mask": mask, **past})
        token = out["logits"][:, -1].argmax(-1)
        tokens.append(token)
        past = {name: out[name.replace("past_key_values.", "present.", 1)] for name in past}
        current = token[:, None].to(input_ids.dtype)
        mask = torch.cat([mask, torch.ones((batch, 1), dtype=mask.dtype)], dim=1)
    return torch.stack(tokens, dim=1)


@dataclass(frozen=True)
class GenerationResult:
    """Tokens of the reference and of the artifact; truthy when they agree token for token.

    `model.generate` stops a row at its end-of-sequence token, so each row is compared up to
    and including that token; `compared` counts the tokens compared.
    """

    expected: torch.Tensor
    actual: torch.Tensor
    eos: tuple[int, ...] = ()

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

    def __bool__(self) -> bool:
        return self.first_difference() is None

    def format(self) -> str:
        if self:
            return (
                f"-[✓] {self.compared} greedy tokens over {self.expected.shape[0]} prompts match "
                f"model.generate() ({self.distinct} distinct ids)"
            )
        return f"-[x] greedy tokens differ from model.generate() from token {self.first_difference()} on"
