"""The wrapper's `use_cache` flag and the short form of errors that carry a module repr."""

from __future__ import annotations

from benchmarks.tiny_configs import tiny_model
from irc.frontend.call_flags import use_cache_flag, without_module_reprs
from irc.frontend.traced import trace_components


def test_a_head_that_sets_use_cache_itself_is_traced_without_the_flag() -> None:
    # T5Gemma2's token-classification head passes use_cache=False to its model with **kwargs:
    # irc's flag on top was "got multiple values for keyword argument 'use_cache'".
    model = tiny_model("t5gemma2", "token-classification")
    assert use_cache_flag(model, with_past=False) == {}
    (traced,) = trace_components(model, "token-classification")
    assert [v.name for v in traced.graph.outputs] == ["logits"]


def test_other_heads_get_the_flag() -> None:
    model = tiny_model("bert", "sequence-classification")
    assert use_cache_flag(model, with_past=False) == {"use_cache": False}
    assert use_cache_flag(model, with_past=True) == {"use_cache": True}


def test_a_module_repr_in_an_error_is_shortened_to_its_name() -> None:
    text = "T5Gemma2Model(\n  (encoder): Enc(\n    (x): Linear()\n  )\n) got multiple values for 'use_cache'"
    assert without_module_reprs(text) == "T5Gemma2Model(...) got multiple values for 'use_cache'"


def test_an_error_on_none_names_the_optional_inputs_irc_left_unset() -> None:
    import pytest

    from irc.errors import TraceError

    # MiniCPM-V 4.7's vision tower reads its optional target_sizes unconditionally.
    model = tiny_model("minicpmv4_7_vision", "default")
    with pytest.raises(TraceError, match=r"irc leaves the forward's optional target_sizes unset"):
        trace_components(model, "default")


def test_an_error_that_names_no_place_gets_the_modeling_line() -> None:
    import pytest

    from irc.errors import TraceError

    # UDOP iterates a tensor in Python (`zip(*ind)`): torch's message says only that the data
    # is not allocated; the model's line is what tells the user why.
    model = tiny_model("udop", "default")
    with pytest.raises(TraceError, match=r"\(at modeling_udop\.py:\d+ in combine_image_text_embeddings\)"):
        trace_components(model, "default")


def test_distribution_checks_are_off_while_tracing_and_restored_after() -> None:
    import torch
    from torch.distributions import Categorical, Distribution

    from irc.frontend.call_flags import unchecked_distributions

    before = Distribution._validate_args
    with unchecked_distributions():
        assert Categorical(logits=torch.zeros(2, 3))._validate_args is False
    assert Distribution._validate_args == before


def test_blt_traces_past_its_categorical_argument_check() -> None:
    from irc.errors import TraceError

    # BLT's entropy patcher builds a Categorical, whose argument check guarded on data. What
    # stops its trace now (if anything: the patcher's no_grad block, today) is not that guard.
    model = tiny_model("blt", "default")
    try:
        trace_components(model, "default")
    except TraceError as exc:
        assert "data-dependent" not in str(exc)


def test_a_dim_the_model_fixed_is_named_as_irc_names_it() -> None:
    from irc.frontend.call_flags import hints
    from irc.frontend.tasks import InputSpec

    # torch.export's text when a model loops over its sequence in Python (xLSTM's kernel).
    error = RuntimeError(
        "Constraints violated (L['args'][1].size()[1])! For more information, run with TORCH_LOGS\n"
        "  - You marked L['args'][1].size()[1] as dynamic but your code specialized it to be a constant (8)."
    )
    specs = (
        InputSpec("input_ids", ("batch", "sequence"), "ids"),
        InputSpec("mask", ("batch", "past"), "mask"),
    )
    assert hints(object(), specs, error).startswith(
        " (the model's code fixes mask's past to 8, the trace size"
    )
    assert hints(object(), specs, RuntimeError("something else")) == ""
