"""Caches whose states come from scans transformers runs as Python loops: Mamba(1) selective
scans (mamba, falcon_mamba, jamba, zamba), exported with past.

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
        num_hidden_layers=2,
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


def _model(name: str) -> Any:
    import transformers

    torch.manual_seed(0)
    config = transformers.AutoConfig.for_model(name, **_MODELS[name], initializer_range=0.2)
    return transformers.AutoModelForCausalLM.from_config(config).eval()


@pytest.mark.parametrize("name", list(_MODELS))
def test_selective_scan_cache_exports_and_continues_exactly(name: str, tmp_path: Path) -> None:
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
