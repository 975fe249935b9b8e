"""The ONNX backend's contract: registry, op check, errors, names, ties, options, external data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import onnx
import pytest
import torch

from irc.backends import backend_names, get_backend
from irc.errors import BackendError, IrcError, LoweringError
from tests.backends.util import GraphMaker, check_backend, lower


def test_registry_lists_onnx_and_rejects_unknown_names() -> None:
    assert "onnx" in backend_names()
    backend = get_backend("onnx")
    assert backend.name == "onnx" and backend.default_pipeline == "simplify,dce,cse,fold-constants"
    with pytest.raises(IrcError, match="unknown backend 'tflite'; choose one of: .*onnx"):
        get_backend("tflite")


def test_registry_import_is_lazy() -> None:
    code = "import sys, irc.backends; irc.backends.backend_names(); print('onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def _unsupported() -> GraphMaker:
    b = GraphMaker()
    x = b.input("x", "f32", ("batch", 3))
    y = b.op("aten.erfinv", x, module="encoder.layer.0.act")
    y = b.op("aten.erfinv", y, module="encoder.layer.1.act")
    z = b.op("aten.logcumsumexp", b.op("aten.relu", y), 1, module="pooler")
    b.output(z)
    return b


def test_check_names_every_missing_op_and_where_it_is_used(tmp_path: Path) -> None:
    graph = _unsupported().graph
    with pytest.raises(LoweringError) as info:
        get_backend("onnx").check(graph)
    message = str(info.value)
    assert "\n" not in message and "2 op(s)" in message and "aten.relu" not in message
    assert "aten.erfinv (2 node(s), at encoder.layer.0.act" in message
    assert "aten.logcumsumexp (1 node(s), at pooler (test.py:1))" in message
    for where in ("encoder.layer.0.act (test.py:1)", "encoder.layer.1.act (test.py:1)", "pooler (test.py:1)"):
        assert where in message
    with pytest.raises(LoweringError, match="aten.erfinv"):
        lower(graph, tmp_path)
    assert not (tmp_path / "model.onnx").exists()


def test_emitter_failures_name_the_op_and_provenance(tmp_path: Path) -> None:
    b = GraphMaker()
    x = b.input("x", "f32", ("batch", 3))
    b.output(b.op("aten.dropout", x, 0.5, True, module="encoder.dropout"))
    with pytest.raises(
        LoweringError, match=r"aten.dropout \(%dropout\) at encoder.dropout \(test.py:1\): .*eval mode"
    ):
        lower(b.graph, tmp_path)


def test_symbolic_dims_become_dim_params(tmp_path: Path) -> None:
    b = GraphMaker()
    past = b.input("past", "f32", ("batch", "past_sequence", 4))
    new = b.input("new", "f32", ("batch", "sequence", 4))
    b.output(b.op("aten.cat", [past, new], 1))  # typed f32[batch, past_sequence + sequence, 4]
    graph = onnx.load(lower(b.graph, tmp_path)).graph
    dims = [
        [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in (*graph.input, *graph.output)
    ]
    assert dims == [
        ["batch", "past_sequence", 4],
        ["batch", "sequence", 4],
        ["batch", "past_sequence + sequence", 4],
    ]
    assert [v.name for v in graph.input] == ["past", "new"] and graph.output[0].name == "cat"


def test_tied_params_are_one_initializer_and_unused_params_are_dropped(tmp_path: Path) -> None:
    b = GraphMaker()
    ids = b.input("ids", "i64", ("batch",))
    table = torch.randn(5, 4)
    wte = b.param("wte.weight", table, tie_group="wte.weight")
    head = b.param("head.weight", table, tie_group="wte.weight")
    b.param("unused.weight", torch.randn(3))
    b.output(b.op("aten.linear", b.op("aten.embedding", wte, ids), head))
    names = [t.name for t in onnx.load(lower(b.graph, tmp_path)).graph.initializer]
    assert names == ["wte.weight"]
    check_backend(b, ({"batch": 3},))


def test_external_data_option_and_threshold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = GraphMaker()
    x = b.input("x", "f32", ("batch", 64))
    b.output(b.op("aten.linear", x, b.param("w", torch.randn(64, 64))))
    (tmp_path / "a").mkdir()
    lower(b.graph, tmp_path / "a", external_data=True)
    assert (tmp_path / "a" / "model.onnx_data").stat().st_size == 64 * 64 * 4
    check_backend(b, ({"batch": 2},), external_data=True)

    import irc.backends.onnx as backend_module

    monkeypatch.setattr(backend_module, "PROTOBUF_LIMIT", 1000)
    (tmp_path / "b").mkdir()
    lower(b.graph, tmp_path / "b")
    assert (tmp_path / "b" / "model.onnx_data").exists()


def test_options_are_checked(tmp_path: Path) -> None:
    b = GraphMaker()
    b.output(b.op("aten.relu", b.input("x", "f32", (2,))))
    with pytest.raises(
        BackendError, match=r"unknown option .opst.*Did you mean opset.*takes: opset \(int\), external_data"
    ):
        lower(b.graph, tmp_path, opst=18)
    with pytest.raises(BackendError, match="opset 9 is outside"):
        lower(b.graph, tmp_path, opset=9)
    model = onnx.load(lower(b.graph, tmp_path, opset=21))
    assert model.opset_import[0].version == 21


def test_outputs_that_alias_inputs_or_constants_keep_their_names(tmp_path: Path) -> None:
    b = GraphMaker()
    x = b.input("x", "f32", ("batch", 3))
    b.output(b.op("irc.identity", x), b.op("aten.arange", 4), b.op("aten.contiguous", x))
    graph = onnx.load(lower(b.graph, tmp_path)).graph
    assert [o.name for o in graph.output] == ["identity", "arange", "contiguous"]
    check_backend(b, ({"batch": 2},))


def test_attention_is_one_onnx_op_from_opset_23(tmp_path: Path) -> None:
    b = GraphMaker()
    q = b.input("q", "f32", ("batch", 2, "seq", 8))
    mask = b.input("mask", "bool", ("batch", 1, 1, "seq"))
    b.output(b.op("aten.scaled_dot_product_attention", q, q, q, mask))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    new = [n.op_type for n in onnx.load(lower(b.graph, tmp_path / "a", opset=23)).graph.node]
    old = [n.op_type for n in onnx.load(lower(b.graph, tmp_path / "b", opset=22)).graph.node]
    assert new.count("Attention") == 1 and "Softmax" not in new
    assert "Attention" not in old and "Softmax" in old
    check_backend(b, ({"batch": 2, "seq": 5},), opset=23)


def test_intermediate_tensors_carry_their_symbolic_types(tmp_path: Path) -> None:
    """ONNX Runtime's fusions need shapes that ONNX shape inference loses behind computed
    reshapes; irc writes the IR's types of intermediate values, dims named."""
    b = GraphMaker()
    x = b.input("x", "f32", ("batch", "seq", 4))
    y = b.op(
        "aten.relu",
        b.op("aten.view", x, [b.op("aten.sym_size.int", x, 0), b.op("aten.sym_size.int", x, 1), 2, 2]),
    )
    b.output(b.op("aten.tanh", y))
    graph = onnx.load(lower(b.graph, tmp_path)).graph
    types = {
        v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in graph.value_info
    }
    assert types[y.name] == ["batch", "seq", 2, 2]
    check_backend(b, ({"batch": 2, "seq": 3},))
