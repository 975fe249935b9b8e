"""The decoder fusions (`ort-norm`, `ort-rotary`, `ort-gqa`, in `--ort-fusions`) on tiny decoders with
a cache: the exported file holds ORT's fused kernels, irc's validation at the task's atol passes,
a left-padded batch generates what transformers generates, and onnxruntime-genai drives the folder."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import onnx
import pytest
import torch

import irc
from irc.validate.generate import left_padded_prompt
from tests.models import tiny_model
from tests.test_generation_padded import LENGTHS, NEW_TOKENS, ort_greedy
from tests.test_with_past import ATOL

LAYERS = 2
# Grouped-query (4 heads over 2 KV heads, the tiny configs' default), multi-query and plain heads.
CASES = {
    "llama": {},
    "qwen2": {},
    "mistral": {},
    "phi3": {},
    "llama-mqa": {"num_key_value_heads": 1},
    "llama-mha": {"num_key_value_heads": 4},
    # heads of 16: rotary goes inside GroupQueryAttention (ORT's do_rotary wants multiples of 16)
    "qwen2-h16": {"hidden_size": 64},
    "llama-mqa-h16": {"hidden_size": 64, "num_key_value_heads": 1},
}


def _rotary_inside(case: str) -> bool:
    return case.endswith("-h16")


def _splits(case: str) -> int:
    """Split kernels left: gate/up's, and Q/K/V's unless packed Q|K|V goes into the attention
    (rotary inside it) or the model slices its own packed QKV (Phi-3)."""
    return LAYERS if _rotary_inside(case) or case == "phi3" else 2 * LAYERS


def _model(case: str, **overrides: object) -> torch.nn.Module:
    return tiny_model(case.split("-")[0], "causal-lm", **{**CASES[case], **overrides})


def _op_counts(folder: Path) -> Counter[str]:
    model = onnx.load(str(folder / "model.onnx"), load_external_data=False)
    return Counter(node.op_type for node in model.graph.node)


@pytest.mark.parametrize("case", list(CASES))
def test_the_fused_file_has_ort_kernels_passes_validation_and_generates(case: str, tmp_path: Path) -> None:
    # Weights large enough that greedy tokens depend on the whole context (see test_with_past).
    model = _model(case, initializer_range=0.7, eos_token_id=98)
    irc.export(model, task="causal-lm-with-past", output=tmp_path / "plain", validate=False)
    # hidden 64 at initializer_range 0.7 gives larger logits: 1.0e-4 to 1.4e-4, rotary inside or not
    atol = ATOL.get(case, 2e-4 if _rotary_inside(case) else None)
    fused = irc.export(
        model, task="causal-lm-with-past", output=tmp_path / "fused", ort_fusions=True, atol=atol
    )
    report = fused.report
    assert report.passed, report.format()
    assert {c.sizes["past_sequence"] for c in report.cases} >= {0, 1}
    assert report.generation and report.generation.distinct >= 8, report.generation.format()
    ops = _op_counts(tmp_path / "fused")
    assert ops["GroupQueryAttention"] == LAYERS
    # query and key of each layer, unless inside the attention
    assert ops["RotaryEmbedding"] == (0 if _rotary_inside(case) else 2 * LAYERS)
    assert ops["Split"] == _splits(case)
    # every norm but the first layer's reads a residual add
    assert ops["SkipSimplifiedLayerNormalization"] == 2 * LAYERS
    assert "Softmax" not in ops
    assert ops["MatMul"] == 4 * LAYERS + 1  # packed QKV, o, packed gate/up, down; the head
    before = sum(_op_counts(tmp_path / "plain").values())
    assert sum(ops.values()) < 0.6 * before, (sum(ops.values()), before)


@pytest.mark.parametrize("case", ["qwen2", "llama-mqa", "qwen2-h16"])
def test_a_left_padded_batch_generates_like_transformers(case: str, tmp_path: Path) -> None:
    model = _model(case, initializer_range=0.7, eos_token_id=98)
    result = irc.export(
        model, task="causal-lm-with-past", output=tmp_path / "out", validate=False, ort_fusions=True
    )
    assert _op_counts(tmp_path / "out")["GroupQueryAttention"] == LAYERS
    pad = model.generation_config.pad_token_id
    raw = torch.randint(5, 99, (len(LENGTHS), max(LENGTHS)), generator=torch.Generator().manual_seed(3))
    ids, mask = left_padded_prompt(raw, LENGTHS, pad)
    with torch.no_grad():
        expected = model.generate(
            input_ids=ids, attention_mask=mask, do_sample=False, max_new_tokens=NEW_TOKENS, pad_token_id=pad
        )[:, ids.shape[1] :]
    actual = ort_greedy(result.artifact, ids.numpy(), mask.numpy(), NEW_TOKENS)
    eos, compared = model.generation_config.eos_token_id, []
    for row in range(len(LENGTHS)):
        want = expected[row].tolist()  # generate() ends a row at its end-of-sequence token
        want = want[: want.index(eos) + 1] if eos in want else want
        assert actual[row, : len(want)].tolist() == want, f"row {row} (prompt of {LENGTHS[row]})"
        compared += want
    assert len(set(compared)) >= 5, compared  # a broken cache would repeat itself


@pytest.mark.parametrize("case", ["qwen2", "phi3", "qwen2-h16"])
def test_onnxruntime_genai_generates_like_transformers_from_the_fused_folder(
    case: str, tmp_path: Path
) -> None:
    og = pytest.importorskip("onnxruntime_genai")
    from tests.test_clients import PROMPTS, genai_greedy

    model = _model(case, initializer_range=0.7, eos_token_id=98)
    out = tmp_path / "out"
    irc.export(model, task="causal-lm-with-past", output=out, validate=False, ort_fusions=True)
    assert _op_counts(out)["GroupQueryAttention"] == LAYERS
    compared = []
    for prompt in PROMPTS:
        with torch.no_grad():
            expected = model.generate(torch.tensor([prompt]), max_new_tokens=NEW_TOKENS, do_sample=False)
        actual = genai_greedy(out, prompt, NEW_TOKENS)
        assert actual == expected[0, len(prompt) :].tolist()
        compared += actual
    assert len(set(compared)) >= 5, compared
    del og


def test_without_ort_fusions_the_file_keeps_standard_onnx(tmp_path: Path) -> None:
    irc.export(_model("qwen2"), task="causal-lm-with-past", output=tmp_path / "out", validate=False)
    model = onnx.load(str(tmp_path / "out" / "model.onnx"), load_external_data=False)
    assert {node.domain for node in model.graph.node} <= {"", "ai.onnx"}


@pytest.mark.parametrize("case", ["qwen2", "phi3", "llama-mqa", "llama-mqa-h16"])
def test_the_passes_preserve_the_interpreters_outputs_and_reach_a_fixed_point(case: str) -> None:
    from irc.api import trace_model
    from irc.ir.interpreter import interpret
    from irc.passes import PassManager

    traced = trace_model(_model(case), "causal-lm-with-past")
    graph = traced.graph
    inputs = traced.make_inputs({"batch": 3, "sequence": 3, "past_sequence": 4}, seed=3)
    inputs["attention_mask"][0, :5] = 0  # left padding past the cache into the new tokens
    expected = interpret(graph, inputs)
    passes = "simplify,dce,cse,ort-norm,ort-rotary,ort-gqa,pack-projections,dce"
    PassManager(passes, debug=True, debug_inputs=inputs).run(graph)
    ops = Counter(n.op for n in graph.nodes)
    assert ops["irc.group_query_attention"] == LAYERS
    assert ops["irc.rotary_embedding"] == (0 if _rotary_inside(case) else 2 * LAYERS)
    assert ops["aten.split_with_sizes"] == _splits(case) - (case == "phi3") * LAYERS  # phi3: chunk
    assert ops["irc.skip_simplified_layer_norm"] == 2 * LAYERS
    assert ops["aten.linear"] == 4 * LAYERS + 1  # Q/K/V and gate/up packed (Phi-3 ships them so)
    assert "aten.scaled_dot_product_attention" not in ops
    torch.testing.assert_close(interpret(graph, inputs), expected, atol=1e-5, rtol=1e-5)
    assert not PassManager("ort-norm,ort-rotary,ort-gqa,pack-projections").run(graph).changed
