"""An encoder-decoder whose decoder takes a single new token once it has a cache (ProphetNet
asserts it) is refused for seq2seq-lm-with-past before tracing, saying so and what to export."""

from __future__ import annotations

import pytest

from benchmarks.tiny_configs import tiny_model
from irc.errors import TraceError
from irc.frontend.traced import trace_components


def test_a_decoder_of_one_token_after_a_cache_is_refused_naming_the_reason() -> None:
    model = tiny_model("prophetnet", "seq2seq-lm-with-past")
    with pytest.raises(TraceError) as caught:
        trace_components(model, "seq2seq-lm-with-past")
    message = str(caught.value)
    assert "fails on 2 new decoder tokens after a cache" in message
    assert "only supported for `decoder_input_ids` of length 1" in message
    assert "export seq2seq-lm (no past)" in message
