"""The task measures of a quantized export, on hand-made tensors."""

from __future__ import annotations

import math

import pytest
import torch

from irc.errors import IrcError
from irc.validate.measures import (
    Measure,
    Quality,
    greedy_agreement,
    kl_divergence,
    min_cosine,
    top1_agreement,
)


def test_top1_and_kl_count_only_unmasked_positions() -> None:
    reference = torch.tensor([[[3.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 3.0]]])
    actual = torch.tensor([[[3.0, 0.0, 0.0], [3.0, 0.0, 0.0], [0.0, 0.0, 3.0]]])
    assert top1_agreement(reference, actual) == (pytest.approx(2 / 3), 3)
    mask = torch.tensor([[1, 0, 1]])
    assert top1_agreement(reference, actual, mask) == (1.0, 2)
    assert kl_divergence(reference, actual, mask) == 0.0
    p = torch.softmax(torch.tensor([0.0, 3.0, 0.0], dtype=torch.float64), -1)
    q = torch.softmax(torch.tensor([3.0, 0.0, 0.0], dtype=torch.float64), -1)
    expected = float((p * (p.log() - q.log())).sum()) / 3
    assert kl_divergence(reference, actual) == pytest.approx(expected)


def test_cosine_pools_hidden_states_over_the_mask() -> None:
    reference = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]]])
    actual = reference.clone()
    actual[0, 1] = torch.tensor([-5.0, 9.0])  # a padded position: left out of the pooled embedding
    mask = torch.tensor([[1, 0], [1, 1]])
    assert min_cosine(reference, actual, mask) == (pytest.approx(1.0), 2)
    low, rows = min_cosine(reference, actual)  # no mask: every position is a row of its own
    assert rows == 4 and low < 0.9


def test_greedy_agreement_counts_leading_tokens_and_a_finished_row_in_full() -> None:
    expected = torch.tensor([[5, 6, 7, 8], [5, 2, 9, 9], [1, 1, 1, 1]])
    actual = torch.tensor([[5, 6, 0, 8], [5, 2, 4, 4], [0, 1, 1, 1]])
    # row 0: 2 tokens; row 1 ends with eos 2 after agreeing: 4; row 2: 0.
    assert greedy_agreement(expected, actual, eos=(2,)) == pytest.approx(6 / 3)


def test_a_failed_measure_says_by_how_much() -> None:
    measure = Measure("top1", 0.61, 0.85, True, "logits, 100 positions")
    assert not measure and measure.shortfall == pytest.approx(0.24)
    assert measure.format() == "-[x] top1 0.61 < 0.85 (logits, 100 positions), short by 0.24"
    assert Measure("kl", 0.1, 0.25, False).format() == "-[✓] kl 0.1 <= 0.25"
    assert not Measure("kl", math.inf, 0.25, False)


def test_quality_reads_thresholds_over_the_defaults() -> None:
    quality = Quality.parse("min_top1=0.95, max_kl=0.1")
    assert (quality.min_top1, quality.max_kl, quality.min_cosine) == (0.95, 0.1, Quality().min_cosine)
    assert Quality.parse({"min_greedy": 8}).min_greedy == 8.0
    assert Quality.parse(None) == Quality()
    with pytest.raises(IrcError, match="unknown measure threshold 'top1'"):
        Quality.parse("top1=0.9")
    with pytest.raises(IrcError, match="is not name=number"):
        Quality.parse("min_top1=high")
