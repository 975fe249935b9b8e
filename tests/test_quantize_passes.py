"""The quantize-weights and quantize-dynamic passes on the IR: what they rewrite, their reference
math against ONNX Runtime's kernels (MatMulNBits, DynamicQuantizeMatMul) on random weights, and
the dequantized weights' error against the quantization step."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from irc.backends import get_backend
from irc.errors import PassError
from irc.ir import Graph, Node, Param, interpret, parse_graph, print_graph
from irc.ir.dtypes import DType
from irc.ir.ops_quant import dequantize_blocks
from irc.ir.types import TensorType
from irc.passes import parse_pipeline
from irc.passes.quantize_blocks import quantize_blocks
from irc.passes.quantize_dynamic import QuantizeDynamic
from irc.passes.quantize_weights import QuantizeWeights
from tests.models import traced_tiny


def _linear_graph(k: int, n: int, bias: bool = True, seed: int = 0) -> Graph:
    """x [batch, 5, k] -> linear by a random [n, k] weight (and bias) -> y."""
    gen = torch.Generator().manual_seed(seed)
    graph = Graph("mlp")
    x = graph.add_input("x", TensorType(DType.F32, ("batch", 5, k)))
    weight = graph.add_param(
        Param("fc.weight", TensorType(DType.F32, (n, k)), data=torch.randn(n, k, generator=gen))
    )
    args: tuple = (x, weight)
    if bias:
        args += (
            graph.add_param(
                Param("fc.bias", TensorType(DType.F32, (n,)), data=torch.randn(n, generator=gen))
            ),
        )
    out = graph.new_value("y", TensorType(DType.F32, ("batch", 5, n)))
    graph.append(Node("aten.linear", args, {}, [out], {"module": "fc"}))
    graph.set_outputs([out])
    return graph


def _ort(graph: Graph, inputs: dict[str, torch.Tensor], tmp_path: Path) -> dict[str, torch.Tensor]:
    backend = get_backend("onnx")
    backend.lower({"model": graph}, tmp_path, backend.make_options())
    with backend.load(tmp_path) as runner:
        return runner.run(inputs)


CONFIGS = [
    dict(bits=4, block=32, symmetric=True),
    dict(bits=4, block=16, symmetric=False),
    dict(bits=4, block=128, symmetric=True),
    dict(bits=8, block=32, symmetric=True),
    dict(bits=8, block=64, symmetric=False),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{k}{v}" for k, v in c.items()))
def test_matmul_nbits_reference_matches_onnx_runtime(config: dict, tmp_path: Path) -> None:
    # K = 100 is no multiple of any block: the last block is zero-padded in the packed weight.
    graph = _linear_graph(100, 48)
    float_graph_out = interpret(graph, {"x": torch.randn(3, 5, 100)})
    assert QuantizeWeights(**config, accuracy_level=0).run(graph)
    assert graph.ops() == {"irc.matmul_nbits": 1}
    assert "fc.weight" not in graph.params  # nothing reads the float weight any more
    x = torch.randn(3, 5, 100, generator=torch.Generator().manual_seed(1))
    expected = interpret(graph, {"x": x})["y"]
    actual = _ort(graph, {"x": x}, tmp_path)["y"]
    torch.testing.assert_close(actual, expected, atol=1e-4 * float(expected.abs().max()), rtol=0)
    assert float_graph_out["y"].shape == expected.shape


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{k}{v}" for k, v in c.items()))
def test_dequantized_weights_are_within_one_step_of_the_float_ones(config: dict) -> None:
    weight = torch.randn(48, 100, generator=torch.Generator().manual_seed(2))
    blocks = quantize_blocks(weight, config["bits"], config["block"], config["symmetric"])
    n_blocks = -(-100 // config["block"])
    assert blocks.packed.dtype is torch.uint8
    assert tuple(blocks.packed.shape) == (48, n_blocks, config["block"] * config["bits"] // 8)
    restored = dequantize_blocks(
        blocks.packed,
        blocks.scales,
        blocks.zero_points,
        K=100,
        N=48,
        bits=config["bits"],
        block_size=config["block"],
    )
    step = blocks.scales.abs().reshape(48, n_blocks).repeat_interleave(config["block"], dim=1)[:, :100]
    error = (restored - weight).abs()
    # Rounding moves a value by at most half a step; the symmetric grid's one missing top code
    # (its range is [-2^(b-1), 2^(b-1) - 1] steps) can cost a whole step at the far end.
    assert bool((error <= step * 1.0001).all())
    assert float((error / step).mean()) < 0.3  # most values round, few clip
    levels = 2 ** config["bits"]
    assert float(error.max()) < 2 * float(weight.abs().max()) / (levels - 1) * 1.01


def test_quantize_dynamic_reference_matches_onnx_runtime(tmp_path: Path) -> None:
    graph = _linear_graph(64, 40)
    assert QuantizeDynamic().run(graph)
    assert graph.ops() == {"irc.dynamic_quant_linear": 1}
    assert graph.params["fc.weight.i8"].tensor().dtype is torch.int8
    x = torch.randn(2, 5, 64, generator=torch.Generator().manual_seed(3))
    expected = interpret(graph, {"x": x})["y"]
    actual = _ort(graph, {"x": x}, tmp_path)["y"]
    torch.testing.assert_close(actual, expected, atol=1e-4 * float(expected.abs().max()), rtol=0)


def test_a_quantized_graph_prints_and_parses_back() -> None:
    graph = _linear_graph(40, 24, bias=False)
    QuantizeWeights(bits=4, block=16, symmetric=False).run(graph)
    text = print_graph(graph)
    assert "irc.matmul_nbits(%x, %fc.weight.q4, %fc.weight.scales, %fc.weight.zero_points, none" in text
    assert "K=40, N=24, bits=4, block_size=16, accuracy_level=4" in text
    assert print_graph(parse_graph(text)) == text


def test_a_tied_embedding_gathers_from_the_int8_head_table() -> None:
    traced = traced_tiny("llama", "causal-lm", tie_word_embeddings=True)
    graph = traced.graph
    inputs = traced.debug_inputs()
    table = graph.params["model.embed_tokens.weight"].tensor().clone()
    assert QuantizeWeights(bits=4).run(graph)
    assert "aten.embedding" not in graph.ops() and "model.embed_tokens.weight" not in graph.params
    (gather,) = [n for n in graph.nodes if n.op == "irc.gather_nbits"]
    (head,) = [n for n in graph.nodes if n.meta.get("module") == "lm_head"]
    assert gather.args[0] is head.args[1] and gather.args[2] is head.args[2]
    # The gathered rows are the head's dequantized rows, within int8's step of the float table.
    rows = interpret_node(gather, {gather.args[1]: inputs["input_ids"]})
    expected = table[inputs["input_ids"]]
    assert float((rows - expected).abs().max()) <= float(table.abs().max()) / 127
    bits = {n.meta.get("module"): n.kwargs["bits"] for n in graph.nodes if n.op == "irc.matmul_nbits"}
    assert bits.pop("lm_head") == 8
    assert set(bits.values()) == {4} and len(bits) == 14  # 7 matmuls in each of 2 layers
    assert "aten.linear" not in graph.ops()


def interpret_node(node: Node, values: dict) -> torch.Tensor:
    from irc.ir.ops import get_op

    args = [values.get(a, a.tensor() if isinstance(a, Param) else a) for a in node.args]
    return get_op(node.op).target(*args, **node.kwargs)


def test_lm_head_bits_none_and_skip_globs_leave_matmuls_in_float() -> None:
    graph = traced_tiny("llama", "causal-lm", tie_word_embeddings=True).graph
    (quantize,) = parse_pipeline(
        "quantize-weights{lm_head_bits=none,skip=*.mlp.down_proj*|model.layers.0.self_attn.*}"
    )
    assert quantize.run(graph)
    float_modules = sorted(n.meta["module"] for n in graph.nodes if n.op == "aten.linear")
    assert float_modules == [
        "lm_head",
        "model.layers.0.mlp.down_proj",
        "model.layers.0.self_attn.k_proj",
        "model.layers.0.self_attn.o_proj",
        "model.layers.0.self_attn.q_proj",
        "model.layers.0.self_attn.v_proj",
        "model.layers.1.mlp.down_proj",
    ]
    assert graph.ops()["irc.matmul_nbits"] == 15 - 7


def test_the_interpreter_runs_a_quantized_decoder_close_to_float() -> None:
    traced = traced_tiny("llama", "causal-lm", tie_word_embeddings=True)
    inputs = traced.debug_inputs()
    expected = interpret(traced.graph, inputs)["logits"]
    QuantizeWeights(bits=8).run(traced.graph)
    actual = interpret(traced.graph, inputs)["logits"]
    # int8 per block of 32 at the default init: the logits move by about 1% of their range.
    assert float((actual - expected).abs().max()) < 0.05 * float(expected.abs().max())
    assert float((actual - expected).abs().max()) > 0  # the weights did change


@pytest.mark.parametrize(
    "options, message",
    [
        ("bits=3", "bits must be 4 or 8"),
        ("block=48", "block must be one of 16, 32, 64, 128, 256"),
        ("lm_head_bits=2", "lm_head_bits must be 8, 4 or none"),
    ],
)
def test_bad_options_are_refused(options: str, message: str) -> None:
    with pytest.raises(PassError, match=message):
        parse_pipeline(f"quantize-weights{{{options}}}")
