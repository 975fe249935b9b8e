"""Sliding-window decoders with past, validated past their window.

The tiny configs slide a window of 4 tokens. irc's artifact keeps the whole past (the model's
mask applies the window); transformers' own cache keeps only the last `window - 1` tokens. The
two must agree: the artifact is run at past 6 + sequence 3 against the model on its own sliding
cache, and its greedy generation (60 tokens, far past the window) must equal `generate`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import irc
from tests.models import _DECODER, tiny_model

WINDOW = 4

# Gemma 2 and Gemma 3 checkpoints alternate sliding and full layers and soft-cap their logits.
_GEMMA = dict(
    _DECODER, head_dim=8, sliding_window=WINDOW, query_pre_attn_scalar=8, final_logit_softcapping=30.0
)
_MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "mistral+sliding-window": ("mistral+sliding-window", {}),
    "qwen2+sliding-window": ("qwen2+sliding-window", {}),
    "gemma2": ("gemma2", dict(_GEMMA, attn_logit_softcapping=50.0)),
    "gemma3_text": ("gemma3_text", dict(_GEMMA, layer_types=["sliding_attention", "full_attention"])),
}


def _model(name: str) -> Any:
    import transformers

    base, config = _MODELS[name]
    if not config:
        return tiny_model(base, "causal-lm", initializer_range=0.2)
    torch.manual_seed(0)
    built = transformers.AutoConfig.for_model(base, **config, initializer_range=0.2)
    return transformers.AutoModelForCausalLM.from_config(built).eval()


def _native_logits(model: Any, feeds: dict[str, np.ndarray]) -> np.ndarray:
    """The model on transformers' own cache for its config (sliding layers keep `window - 1`)."""
    from transformers import DynamicCache

    layers = len(model.config.layer_types) if getattr(model.config, "layer_types", None) else None
    count = layers or model.config.num_hidden_layers
    pairs = [
        (
            torch.from_numpy(feeds[f"past_key_values.{i}.key"]),
            torch.from_numpy(feeds[f"past_key_values.{i}.value"]),
        )
        for i in range(count)
    ]
    cache = DynamicCache(pairs, config=model.config)
    assert any(cache.is_sliding), "the reference cache must slide, or this test checks nothing"
    with torch.no_grad():
        out = model(
            input_ids=torch.from_numpy(feeds["input_ids"]),
            attention_mask=torch.from_numpy(feeds["attention_mask"]),
            position_ids=torch.from_numpy(feeds["position_ids"]),
            past_key_values=cache,
            use_cache=True,
        )
    return out.logits.numpy()


def _feeds(session: Any, past: int, sequence: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    feeds: dict[str, np.ndarray] = {}
    for arg in session.get_inputs():
        if arg.name.startswith("past_key_values."):
            _, heads, _, head_dim = arg.shape
            feeds[arg.name] = rng.standard_normal((2, heads, past, head_dim)).astype(np.float32)
    feeds["input_ids"] = rng.integers(2, 99, (2, sequence))
    feeds["attention_mask"] = np.ones((2, past + sequence), dtype=np.int64)
    feeds["position_ids"] = np.tile(np.arange(past, past + sequence), (2, 1))
    return {name: feeds[name] for name in (arg.name for arg in session.get_inputs())}


@pytest.mark.parametrize("name", list(_MODELS))
def test_with_past_beyond_the_window(name: str, tmp_path: Path) -> None:
    import onnxruntime as ort

    model = _model(name)
    result = irc.export(model, task="causal-lm-with-past", output=tmp_path / "out")
    report = result.report
    assert report.passed, report.format()
    generation = report.generation
    assert generation and generation.distinct >= 4, (
        generation.format() if generation else "no generation check"
    )

    session = ort.InferenceSession(str(result.artifact), providers=["CPUExecutionProvider"])
    feeds = _feeds(session, past=WINDOW + 2, sequence=3)
    logits = session.run(["logits"], feeds)[0]
    np.testing.assert_allclose(logits, _native_logits(model, feeds), atol=1e-4)
    present = session.run(["present.0.key"], feeds)[0]
    assert present.shape[2] == WINDOW + 2 + 3  # the whole past, not the window's


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mistral+sliding-window", "gemma2"])
def test_with_past_beyond_the_window_torchscript(name: str, tmp_path: Path) -> None:
    report = irc.export(
        _model(name), task="causal-lm-with-past", output=tmp_path / "out", backend="torchscript"
    ).report
    assert report.passed, report.format()
    assert report.generation and report.generation.distinct >= 4, report.generation.format()
