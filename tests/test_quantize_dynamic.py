"""`--quantize int8` on encoders (`quantize-dynamic`): which matmuls become which int8 kernel, with
and without `--ort-fusions`, and validation that catches a quantizer broken on purpose."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import irc
from irc.errors import PassError, ValidationError
from irc.passes import PassManager, parse_pipeline
from irc.passes.quantize_dynamic import QuantizeDynamic
from tests.models import tiny_model, traced_tiny


def _onnx_ops(folder: Path) -> Counter[str]:
    import onnx

    model = onnx.load(str(folder / "model.onnx"), load_external_data=False)
    return Counter(n.op_type for n in model.graph.node)


def test_fused_bert_int8_quantizes_qkv_and_the_down_projection_per_block(tmp_path: Path) -> None:
    result = irc.export(
        tiny_model("bert"), task="default", output=tmp_path / "out", quantize="int8", ort_fusions=True
    )
    assert result.report.passed, result.report.format()
    ops = Counter(n.op for n in result.graph.nodes)
    layers = 2
    assert "irc.attention" not in ops and ops["irc.qkv_attention"] == layers
    # per layer: packed QKV, attention output, FFN up per tensor; the pooler too
    assert ops["irc.dynamic_quant_linear"] == 3 * layers + 1
    down = [n for n in result.graph.nodes if n.op == "irc.matmul_nbits"]
    assert len(down) == layers and {n.kwargs["bits"] for n in down} == {8}
    assert {n.kwargs["block_size"] for n in down} == {128} and {n.kwargs["accuracy_level"] for n in down} == {
        4
    }
    files = _onnx_ops(tmp_path / "out")
    assert files["MultiHeadAttention"] == layers and files["Split"] == layers
    assert files["DynamicQuantizeMatMul"] == 3 * layers + 1 and files["MatMulNBits"] == layers
    assert "Attention" not in files and "MatMul" not in files  # no float32 matmul by a weight is left
    measures = {m.name: m for m in result.report.measures["model"]}
    assert measures["cosine"].value >= 0.99


def test_block_0_leaves_the_down_projection_float_and_skip_keeps_fused_attention() -> None:
    graph = traced_tiny("bert").graph
    PassManager(parse_pipeline("simplify,dce,cse,fuse-gelu,ort-fusions")).run(graph)
    assert Counter(n.op for n in graph.nodes)["irc.attention"] == 2
    PassManager(parse_pipeline("quantize-dynamic{block=0,skip=encoder.layer.0.*}")).run(graph)
    ops = Counter(n.op for n in graph.nodes)
    assert ops["irc.attention"] == 1 and ops["irc.qkv_attention"] == 1  # layer 0's stays fused, float
    assert "irc.matmul_nbits" not in ops and ops["aten.linear"] == 2 + 2  # layer 0's dense + up, both downs
    with pytest.raises(PassError, match="block must be one of 0, 16"):
        QuantizeDynamic(block=100)


def test_a_broken_dynamic_quantizer_fails_validation_naming_cosine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import irc.passes.quantize_dynamic as quantize_dynamic

    real = quantize_dynamic.new_param

    def scrambled(graph: object, base: str, tensor: object, like: object) -> object:
        if base.endswith(".scale"):
            tensor = tensor.flip(0)  # type: ignore[attr-defined]  # each channel scaled by another's
        return real(graph, base, tensor, like)  # type: ignore[arg-type]

    monkeypatch.setattr(quantize_dynamic, "new_param", scrambled)
    with pytest.raises(ValidationError) as caught:
        irc.export(tiny_model("bert"), task="default", output=tmp_path / "out", quantize="int8")
    message = str(caught.value)
    assert "cosine of model" in message and "short by" in message
    assert not (tmp_path / "out").exists()
