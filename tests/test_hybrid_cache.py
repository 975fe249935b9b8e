"""Decoders whose cache holds fixed-size states: a pure state-space model (Mamba2) and a hybrid of
linear attention (gated delta rule) and full attention (Qwen3-Next), exported with past.

Each layer's convolution and recurrent states are inputs and outputs beside the attention
layers' keys and values. The artifact is run as a generation loop would run it (a prompt from
zero states, then steps of one and of several tokens) and compared with the model on the whole
sequence without a cache; irc's own validation and generation check must pass too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import irc

# Chunk sizes that do not divide the traced sequence (8), so that the scan pads its last chunk
# while tracing; small ones, so that prompts span several chunks.
_MODELS: dict[str, dict[str, Any]] = {
    "mamba2": dict(
        vocab_size=128,
        hidden_size=32,
        num_hidden_layers=2,
        num_heads=4,
        head_dim=16,
        n_groups=1,
        state_size=16,
        chunk_size=3,
        conv_kernel=4,
    ),
    "qwen3_next": dict(
        vocab_size=128,
        hidden_size=32,
        intermediate_size=64,
        moe_intermediate_size=32,
        shared_expert_intermediate_size=32,
        num_experts=4,
        num_experts_per_tok=2,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        linear_conv_kernel_dim=4,
        linear_key_head_dim=8,
        linear_value_head_dim=8,
        linear_num_key_heads=2,
        linear_num_value_heads=4,
        layer_types=["linear_attention", "full_attention"],
        max_position_embeddings=128,
    ),
}


def _model(name: str) -> Any:
    import transformers

    torch.manual_seed(0)
    config = transformers.AutoConfig.for_model(name, **_MODELS[name], initializer_range=0.2)
    return transformers.AutoModelForCausalLM.from_config(config).eval()


def _empty_past(session: Any, batch: int) -> dict[str, np.ndarray]:
    """Zero states and empty key/value caches: the first step of a generation loop."""
    feeds = {}
    for arg in session.get_inputs():
        if arg.name.startswith("past_key_values."):
            shape = [batch if d == "batch" else 0 if isinstance(d, str) else d for d in arg.shape]
            feeds[arg.name] = np.zeros(shape, dtype=np.float32)
    return feeds


def _run_in_steps(session: Any, ids: np.ndarray, steps: list[int]) -> list[np.ndarray]:
    """Feed `ids` in steps of the given lengths, each step's presents as the next one's past."""
    names = [o.name for o in session.get_outputs()]
    wanted = {i.name for i in session.get_inputs()}
    past, start, logits = _empty_past(session, ids.shape[0]), 0, []
    for length in steps:
        end = start + length
        feeds = {"input_ids": ids[:, start:end], "attention_mask": np.ones((ids.shape[0], end), np.int64)}
        if "position_ids" in wanted:
            feeds["position_ids"] = np.tile(np.arange(start, end), (ids.shape[0], 1))
        out = dict(zip(names, session.run(names, {**feeds, **past}), strict=True))
        logits.append(out["logits"])
        past = {name: out[name.replace("past_key_values.", "present.", 1)] for name in past}
        start = end
    return logits


@pytest.mark.parametrize("name", list(_MODELS))
def test_state_cache_exports_and_continues_exactly(name: str, tmp_path: Path) -> None:
    import onnxruntime as ort

    model = _model(name)
    result = irc.export(model, task="causal-lm-with-past", output=tmp_path / "out")
    report = result.report
    assert report.passed, report.format()
    assert report.generation and report.generation.distinct >= 4, (
        report.generation.format() if report.generation else "no generation check"
    )

    session = ort.InferenceSession(str(result.artifact), providers=["CPUExecutionProvider"])
    inputs = {i.name: i.shape for i in session.get_inputs()}
    assert inputs["past_key_values.0.conv"][0] == "batch"
    assert all(isinstance(d, int) for d in inputs["past_key_values.0.recurrent"][1:])  # fixed size
    assert "present.0.recurrent" in {o.name for o in session.get_outputs()}

    # A prompt longer than the gated delta rule's chunks of 64 (and spanning Mamba2's chunks of
    # 3), one-token steps, a multi-token step.
    ids = np.random.default_rng(1).integers(2, 120, (2, 80))
    steps = [70, 1, 1, 5, 3]
    got = _run_in_steps(session, ids, steps)
    with torch.no_grad():
        want = model(input_ids=torch.from_numpy(ids), use_cache=False).logits.numpy()
    bounds = np.cumsum([0, *steps])
    for logits, start, end in zip(got, bounds[:-1], bounds[1:], strict=True):
        np.testing.assert_allclose(logits, want[:, start:end], atol=1e-4)

    # onnxruntime-genai feeds keys and values only: no genai_config that claims it can run this.
    assert not (result.output / "genai_config.json").exists()
    manifest = json.loads((result.output / "irc.json").read_text())
    assert "recurrent states" in json.dumps(manifest)


@pytest.mark.slow
def test_state_cache_torchscript(tmp_path: Path) -> None:
    report = irc.export(
        _model("mamba2"), task="causal-lm-with-past", output=tmp_path / "out", backend="torchscript"
    ).report
    assert report.passed, report.format()
    assert report.generation and report.generation.distinct >= 4, report.generation.format()


@pytest.mark.parametrize("length", [1, 8, 70, 150])
def test_whole_sequence_delta_rule_matches_the_chunked_one(length: int) -> None:
    """The scan traced in place of transformers' chunk loop computes the same output and state at
    lengths within, at and past one chunk of 64."""
    from transformers.models.qwen3_next.modeling_qwen3_next import torch_chunk_gated_delta_rule

    from irc.frontend.scans import whole_sequence_gated_delta_rule

    gen = torch.Generator().manual_seed(length)
    query, key = (torch.randn(2, length, 2, 8, generator=gen) for _ in range(2))
    value = torch.randn(2, length, 4, 8, generator=gen)
    decay, beta = -torch.rand(2, length, 4, generator=gen) * 0.5, torch.rand(2, length, 4, generator=gen)
    state = torch.randn(2, 4, 8, 8, generator=gen)
    args = dict(
        g=decay, beta=beta, initial_state=state, output_final_state=True, use_qk_l2norm_in_kernel=True
    )
    want = torch_chunk_gated_delta_rule(query, key, value, **args)
    got = whole_sequence_gated_delta_rule(query, key, value, **args, doublings=8)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
