"""A dim the model's code pins (a Python loop over the sequence, `len(tensor)` over the batch) is
refused with the modeling line that pinned it, quoted; real tiny models, real torch.export."""

from __future__ import annotations

import pytest

import irc
from benchmarks.tiny_configs import tiny_model
from irc.errors import IrcError


@pytest.mark.parametrize(
    ("model_type", "task", "pinned", "line"),
    [
        # RWKV's CPU attention loops `for current_index in range(seq_length)`.
        ("rwkv", "causal-lm", "input_ids's sequence to 8", "range(seq_length)"),
    ],
)
def test_a_pinned_dim_is_refused_naming_the_line(model_type, task, pinned, line, tmp_path) -> None:
    model = tiny_model(model_type, task)
    with pytest.raises(IrcError) as caught:
        irc.export(model, task=task, output=tmp_path / "out", backend="onnx", validate=False)
    message = str(caught.value)
    assert f"fixes {pinned}" in message
    assert f"modeling_{model_type}.py:" in message and line in message
    assert "Constraints violated" not in message  # torch's wording is replaced by what it means


@pytest.mark.slow
def test_a_batch_pinned_by_len_of_a_tensor_is_refused_naming_the_line(tmp_path) -> None:
    # RT-DETR's encoder: `batch_size = len(source_flatten)` turns the batch into a Python int.
    model = tiny_model("rt_detr", "object-detection")
    with pytest.raises(
        IrcError, match=r"pixel_values's batch to 2.*modeling_rt_detr\.py:\d+.*len\(source_flatten\)"
    ):
        irc.export(model, task="object-detection", output=tmp_path / "out", backend="onnx", validate=False)


def test_a_padding_mask_dropped_when_it_masks_nothing_is_kept_while_tracing(tmp_path) -> None:
    # FSMT's make_padding_mask returns None on `not mask.any()`: a branch on the data that
    # torch.export cannot trace; masking nothing is not masking, so the trace keeps the mask.
    from transformers.models.fsmt import modeling_fsmt

    original = modeling_fsmt.make_padding_mask
    model = tiny_model("fsmt", "seq2seq-lm")
    result = irc.export(model, task="seq2seq-lm", output=tmp_path / "out", backend="onnx", validate=True)
    assert result.report.passed
    assert modeling_fsmt.make_padding_mask is original  # the model's own function is back


def test_a_branch_on_tensor_data_is_refused_naming_the_line(tmp_path) -> None:
    # DBRX's experts loop `for expert_idx in expert_hit` over the experts its router hit: the
    # loop's length is data, which one trace cannot hold.
    model = tiny_model("dbrx", "causal-lm")
    with pytest.raises(IrcError) as caught:
        irc.export(model, task="causal-lm", output=tmp_path / "out", backend="onnx", validate=False)
    message = str(caught.value)
    assert "branches on the values of a tensor" in message
    assert "modeling_dbrx.py:" in message and "for expert_idx in expert_hit" in message
    assert "--sequence-length" not in message  # another size would not help


def test_the_data_dependent_line_is_read_from_torchs_caused_by() -> None:
    from irc.frontend.pinned_dims import data_dependent_message

    text = (
        "Could not guard on data-dependent expression Eq(u0, 0) (unhinted: Eq(u0, 0)).\n"
        "Caused by: (transformers/models/dbrx/modeling_dbrx.py:296 in forward)"
    )
    message = data_dependent_message(RuntimeError(text))
    assert "Eq(u0, 0)) at modeling_dbrx.py:296 in forward (`for expert_idx in expert_hit:`)" in message
    assert data_dependent_message(RuntimeError("Split sizes add up to 16")) == ""
