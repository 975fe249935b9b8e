"""Generation on a left-padded batch: prompts of lengths 3, 7 and 11 padded to 11, greedy-decoded
through the with-past ONNX file by a plain ONNX Runtime loop written here (not irc's), every row
equal to `model.generate(..., attention_mask=...)`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

import irc
from irc.frontend.dummy import positions_from_mask
from irc.validate.generate import left_padded_prompt
from tests.models import tiny_model

NEW_TOKENS = 20
LENGTHS = (3, 7, 11)
# Weights large enough that the tokens depend on the whole context; OPT's eos (2) moved out of
# the way (and llama's, 0) so that all 20 tokens are compared; BLOOM's tiny width repeats itself.
OVERRIDES = {
    "bloom": {"hidden_size": 64, "initializer_range": 1.0},
    "opt": {"eos_token_id": 98},
    "llama": {"eos_token_id": 98},
}


def ort_greedy(path: Path, ids: np.ndarray, mask: np.ndarray, new_tokens: int) -> np.ndarray:
    """Greedy decoding as a client writes it: prompt with an empty cache, then one token at a time,
    presents fed back as pasts, positions from the mask (cumsum - 1, 0 on padding)."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = [o.name for o in session.get_outputs()]
    past = {
        name: np.zeros((ids.shape[0], i.shape[1], 0, i.shape[3]), dtype=np.float32)
        for name, i in inputs.items()
        if name.startswith("past_key_values.")
    }
    current, tokens = ids, []
    for _ in range(new_tokens):
        feed = {"input_ids": current, "attention_mask": mask, **past}
        if "position_ids" in inputs:
            positions = np.cumsum(mask, axis=-1) - 1
            positions[mask == 0] = 0
            feed["position_ids"] = positions[:, -current.shape[1] :].astype(np.int64)
        values = dict(zip(outputs, session.run(outputs, feed), strict=True))
        token = values["logits"][:, -1].argmax(-1)
        tokens.append(token)
        past = {name: values[name.replace("past_key_values.", "present.", 1)] for name in past}
        current = token[:, None].astype(np.int64)
        mask = np.concatenate([mask, np.ones((mask.shape[0], 1), dtype=np.int64)], axis=1)
    return np.stack(tokens, axis=1)


@pytest.mark.parametrize("model_type", ["gpt2", "gpt_neo", "opt", "llama", "bloom"])
def test_left_padded_batch_generates_like_transformers(model_type: str, tmp_path: Path) -> None:
    model = tiny_model(model_type, "causal-lm", **{"initializer_range": 0.7, **OVERRIDES.get(model_type, {})})
    result = irc.export(model, task="causal-lm-with-past", output=tmp_path / "out", validate=False)
    pad = model.generation_config.pad_token_id
    raw = torch.randint(5, 99, (len(LENGTHS), max(LENGTHS)), generator=torch.Generator().manual_seed(3))
    ids, mask = left_padded_prompt(raw, LENGTHS, pad)
    with torch.no_grad():
        expected = model.generate(
            input_ids=ids,
            attention_mask=mask,
            do_sample=False,
            max_new_tokens=NEW_TOKENS,
            pad_token_id=pad,
        )[:, ids.shape[1] :]
    actual = ort_greedy(result.artifact, ids.numpy(), mask.numpy(), NEW_TOKENS)
    eos = model.generation_config.eos_token_id
    compared = []
    for row in range(len(LENGTHS)):
        # generate() ends a row at its end-of-sequence token and pads the rest.
        want = expected[row].tolist()
        want = want[: want.index(eos) + 1] if eos in want else want
        assert actual[row, : len(want)].tolist() == want, f"row {row} (prompt of {LENGTHS[row]})"
        compared += want
    assert len(compared) >= 2 * NEW_TOKENS and len(set(compared)) >= 8  # not one repeated token


def test_positions_follow_the_mask_after_the_cache() -> None:
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    assert positions_from_mask(mask, (2, 5)).tolist() == [[0, 0, 0, 1, 2], [0, 1, 2, 3, 4]]
    assert positions_from_mask(mask, (2, 1)).tolist() == [[2], [4]]


def test_left_padded_prompt_pads_the_start_of_short_rows() -> None:
    ids, mask = left_padded_prompt(torch.arange(1, 12).repeat(3, 1), LENGTHS, pad_id=0)
    assert mask.sum(-1).tolist() == list(LENGTHS)
    assert ids[0].tolist() == [0] * 8 + [9, 10, 11]
    assert mask[0].tolist() == [0] * 8 + [1, 1, 1]
