"""Caches irc used to refuse, exported with past: states that come from scans transformers runs
as Python loops (Mamba(1) selective scans: mamba, falcon_mamba, jamba, zamba) and the indexer keys
of sparse attention (DeepSeek V3.2's DynamicIndexedLayer, with a top-k small enough to select).

Each model is exported for causal-lm-with-past (irc's validation and generation check must pass),
then the ONNX file is run as a generation loop would run it (a prompt of 70 tokens from zero states,
steps of one and of several tokens) and compared with the model on the whole sequence without a
cache, which runs transformers' own scan.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import irc
from tests.test_hybrid_cache import _run_in_steps

_MAMBA = dict(vocab_size=128, hidden_size=16, state_size=4, intermediate_size=32, conv_kernel=4)
_ATTENTION = dict(num_attention_heads=4, num_key_value_heads=2)
_MODELS: dict[str, dict[str, Any]] = {
    "mamba": dict(_MAMBA, num_hidden_layers=2),
    "falcon_mamba": dict(_MAMBA, num_hidden_layers=2),
    "jamba": dict(
        _MAMBA,
        **_ATTENTION,
        num_hidden_layers=2,
        attn_layer_period=2,
        attn_layer_offset=1,
        expert_layer_period=2,
        expert_layer_offset=1,
        num_experts=2,
        mamba_d_state=4,
        mamba_d_conv=4,
        mamba_expand=2,
        mamba_dt_rank=4,
        use_mamba_kernels=False,
    ),
    "zamba": dict(
        _MAMBA,
        **_ATTENTION,
        num_hidden_layers=4,
        # Mamba layers and the shared attention block twice: transformers ties the block's weights
        # across its uses and refuses a config that uses it once.
        layers_block_type=["linear_attention", "hybrid", "linear_attention", "hybrid"],
        attention_hidden_size=32,
        attention_head_dim=8,
        n_mamba_heads=2,
        mamba_d_state=4,
        mamba_d_conv=4,
        mamba_expand=2,
        mamba_dt_rank=4,
        use_mamba_kernels=False,
    ),
}


# The indexer keeps the 4 best-scoring past tokens per query: fewer than the steps' totals.
_INDEXED = {"deepseek_v32": dict(index_topk=4)}


def _model(name: str) -> Any:
    import transformers

    if name in _INDEXED:
        from benchmarks.tiny_configs import tiny_model

        return tiny_model(name, "causal-lm-with-past", **_INDEXED[name])
    torch.manual_seed(0)
    config = transformers.AutoConfig.for_model(name, **_MODELS[name], initializer_range=0.2)
    return transformers.AutoModelForCausalLM.from_config(config).eval()


@pytest.mark.parametrize("name", [*_MODELS, *_INDEXED])
def test_cache_exports_and_continues_exactly(name: str, tmp_path: Path) -> None:
    import onnxruntime as ort

    model = _model(name)
    result = irc.export(model, task="causal-lm-with-past", output=tmp_path / "out")
    report = result.report
    assert report.passed, report.format()
    assert report.generation and report.generation.distinct >= 3, (
        report.generation.format() if report.generation else "no generation check"
    )
    session = ort.InferenceSession(str(result.artifact), providers=["CPUExecutionProvider"])
    inputs = {i.name: i.shape for i in session.get_inputs()}
    if name in _INDEXED:
        assert inputs["past_key_values.0.indexer_key"][:2] == ["batch", "past_sequence"]
    else:
        recurrent = [n for n in inputs if n.endswith(".recurrent")]
        assert recurrent and all(isinstance(d, int) for n in recurrent for d in inputs[n][1:])

    ids = np.random.default_rng(1).integers(2, 120, (2, 80))
    steps = [70, 1, 1, 5, 3]
    got = _run_in_steps(session, ids, steps)
    with torch.no_grad():
        want = model(input_ids=torch.from_numpy(ids), use_cache=False).logits.numpy()
    bounds = np.cumsum([0, *steps])
    for logits, start, end in zip(got, bounds[:-1], bounds[1:], strict=True):
        np.testing.assert_allclose(logits, want[:, start:end], atol=1e-4)


def _scan_inputs(length: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(length)
    channels, state = 6, 4

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen)

    return dict(
        hidden_states=randn(2, channels, length),
        dt=randn(2, channels, length),
        A=-torch.rand(channels, state, generator=gen) * 3,
        B=randn(2, state, length),
        C=randn(2, state, length),
        D=randn(channels),
        z=randn(2, channels, length),
        delta_bias=randn(channels),
    )


@pytest.mark.parametrize("length", [1, 8, 70])
def test_whole_sequence_selective_scan_matches_transformers(length: int) -> None:
    """From a zero state, the scan irc traces equals transformers' token loop; from a given state,
    it equals that loop run on the tokens before and after a split (state handed over)."""
    from transformers.models.mamba.modeling_mamba import mamba_selective_scan

    from irc.frontend.selective_scan import selective_scan

    args = _scan_inputs(length)
    flags = dict(delta_softplus=True, return_last_state=True)
    want = mamba_selective_scan(**args, **flags)
    got = selective_scan(**args, **flags, doublings=7)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)

    if length == 1:
        return
    split = length // 2
    head = {k: v[..., :split] if v.dim() == 3 else v for k, v in args.items()}
    tail = {k: v[..., split:] if v.dim() == 3 else v for k, v in args.items()}
    _, state = selective_scan(**head, **flags, doublings=7)
    out, last = selective_scan(**tail, **flags, initial_state=state, doublings=7)
    torch.testing.assert_close(out, want[0][..., split:], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(last, want[1], atol=1e-5, rtol=1e-5)


def test_scan_past_its_doublings_is_wrong() -> None:
    """The scan's reach is 2**doublings tokens (the model's positions, so the artifact is exact up
    to them): one token further, the first token's input is missing from the state."""
    from transformers.models.mamba.modeling_mamba import mamba_selective_scan

    from irc.frontend.selective_scan import selective_scan

    args = {**_scan_inputs(9), "A": -torch.full((6, 4), 1e-3)}  # slow decay: the first token counts
    want = mamba_selective_scan(**args, delta_softplus=True, return_last_state=True)[1]
    exact = selective_scan(**args, delta_softplus=True, return_last_state=True, doublings=4)[1]
    short = selective_scan(**args, delta_softplus=True, return_last_state=True, doublings=3)[1]
    torch.testing.assert_close(exact, want, atol=1e-5, rtol=1e-5)
    assert (short - want).abs().max() > 1e-3


@pytest.mark.parametrize("length", [1, 8, 70, 150])
def test_whole_sequence_kimi_delta_attention_matches_the_chunked_one(length: int) -> None:
    """Kimi delta attention (a decay per key channel) traced as one chunk equals transformers'
    chunks of 64, within, at and past one chunk, from a given state."""
    from transformers.models.kimi_linear.modeling_kimi_linear import chunk_kimi_delta_attention

    from irc.frontend.scans import whole_sequence_kimi_delta_attention

    gen = torch.Generator().manual_seed(length)
    query, key = (torch.randn(2, length, 3, 8, generator=gen) for _ in range(2))
    value = torch.randn(2, length, 3, 6, generator=gen)
    decay = -torch.rand(2, length, 3, 8, generator=gen) * 0.5
    beta, state = torch.rand(2, length, 3, generator=gen), torch.randn(2, 3, 8, 6, generator=gen)
    args = dict(
        g=decay, beta=beta, initial_state=state, output_final_state=True, use_qk_l2norm_in_kernel=True
    )
    want = chunk_kimi_delta_attention(query, key, value, **args)
    got = whole_sequence_kimi_delta_attention(query, key, value, **args, doublings=8)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
