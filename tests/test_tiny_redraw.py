"""Registry tiny models: matrices an init leaves constant are redrawn, so top-k routers see no ties."""

from __future__ import annotations

import torch

from benchmarks.tiny_configs import tiny_model


def test_router_gate_left_zero_by_the_init_is_redrawn() -> None:
    model = tiny_model("afmoe", "default")
    gates = [m.gate.weight for m in model.modules() if type(m).__name__ == "AfmoeTokenChoiceRouter"]
    assert gates, "afmoe has no router any more: pick another zero-initialised matrix"
    for weight in gates:
        assert torch.unique(weight).numel() > 1


def test_norm_weights_keep_their_init() -> None:
    model = tiny_model("llama", "default")
    norms = [p for n, p in model.named_parameters() if p.ndim == 1 and "norm" in n]
    assert norms and all(bool((p == 1).all()) for p in norms)
