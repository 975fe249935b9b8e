"""Validation's reference for a type whose SDPA path is wrong (irc/frontend/reference_attention.py):
Aimv2's text tower is causal, but transformers' SDPA attention drops the causal mask when the
attention mask is all ones. The reference runs eager attention for such a type, and the exported
artifact (causal) validates against it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from benchmarks.tiny_configs import tiny_model
from irc.frontend.loading import load
from irc.frontend.tasks import get_model
from irc.frontend.trace import call_reference


def _unpadded_inputs(loaded: object) -> dict[str, torch.Tensor]:
    from irc.frontend.dummy import make_inputs

    return make_inputs(loaded.inputs, loaded.config, {"batch": 2, "sequence": 7}, seed=1, pad=False)  # type: ignore[attr-defined]


def test_reference_runs_eager_attention_and_restores_the_model() -> None:
    model = tiny_model("aimv2", "default")
    assert model.config._attn_implementation == "sdpa"
    loaded = load(model, "default")
    inputs = _unpadded_inputs(loaded)
    assert int(inputs["attention_mask"].min()) == 1
    reference = call_reference(loaded, inputs)["text_embeds"]
    assert model.config._attn_implementation == "sdpa"  # switched back after the call
    with torch.no_grad():
        sdpa = model(**inputs).text_embeds
        model.set_attn_implementation("eager")
        eager = model(**inputs).text_embeds
    torch.testing.assert_close(reference, eager)
    # The case the override exists for: SDPA without the causal mask computes something else.
    assert (sdpa - eager).abs().max() > 1e-3


def test_types_without_the_override_keep_their_attention() -> None:
    assert get_model("aimv2").eager_reference
    assert not get_model("bert").eager_reference


@pytest.mark.parametrize("backend", ["onnx", "torchscript"])
def test_aimv2_exports_and_validates(tmp_path: Path, backend: str) -> None:
    import irc

    result = irc.export(tiny_model("aimv2", "default"), "default", tmp_path / "out", backend=backend)
    assert result.report.passed
