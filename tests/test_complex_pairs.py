"""Complex tensors as real pairs (irc/frontend/complex_pairs.py): the rewritten graph computes
what the complex one did (interpreter before and after), keeps no complex value, and lowers to
ONNX and TorchScript; an op with no rule is refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from irc.errors import TraceError
from irc.frontend.complex_pairs import rewrite_complex
from irc.ir.dtypes import DType
from irc.ir.interpreter import interpret
from irc.ir.verifier import verify
from tests.backends.cases import SEQ
from tests.backends.util import GraphMaker, check_backend, make_inputs


def llama4_rotary(b: GraphMaker) -> None:
    """Llama 4's apply_rotary_emb: polar frequencies, scaled, times (x as complex), back to real."""
    x = b.input("x", "f32", ("batch", "seq", 3, 8))
    angle = b.input("angle", "f32", ("batch", "seq", 4))
    cis = b.op("aten.polar", b.op("aten.ones_like", angle), angle)
    cis = b.op("aten.mul.Tensor", cis, 0.5)
    cis = b.op("aten.unsqueeze", b.op("aten.slice.Tensor", cis, 1, 0, 9223372036854775807), 2)
    sizes = [b.op("aten.sym_size.int", x, 0), b.op("aten.sym_size.int", x, 1), 3, 4, 2]
    z = b.op("aten.view_as_complex", b.op("aten.view", x, sizes))
    rotated = b.op("aten.view_as_real", b.op("aten.mul.Tensor", z, cis))
    b.output(b.op("aten.flatten.using_ints", rotated, 3))


def moves_and_mixed_arithmetic(b: GraphMaker) -> None:
    """Element moves with dims counted from either end, a real factor, complex sums."""
    x = b.input("x", "f32", ("batch", "seq", 6, 2))
    w = b.input("w", "f32", ("seq", 1))
    z = b.op("aten.view_as_complex", x)
    t = b.op("aten.transpose.int", z, -1, 0)
    p = b.op("aten.permute", t, [1, 0, 2])
    back = b.op("aten.permute", p, [2, 0, 1])
    scaled = b.op("aten.mul.Tensor", w, b.op("aten.clone", back))
    total = b.op("aten.sub.Tensor", b.op("aten.add.Tensor", scaled, z, alpha=2.0), z)
    picked = b.op("aten.select.int", total, -1, 1)
    grown = b.op("aten.expand", b.op("aten.unsqueeze", picked, -1), [-1, -1, 3])
    b.output(b.op("aten.view_as_real", grown), b.op("aten.view_as_real", b.op("aten.reshape", total, [-1])))


BUILDS = [llama4_rotary, moves_and_mixed_arithmetic]


@pytest.mark.parametrize("build", BUILDS, ids=[b.__name__ for b in BUILDS])
def test_pairs_compute_what_complex_did(build: object) -> None:
    maker = GraphMaker()
    build(maker)  # type: ignore[operator]
    inputs = make_inputs(maker, SEQ[1], 3)
    expected = interpret(maker.graph, inputs)
    assert rewrite_complex(maker.graph)
    verify(maker.graph)
    assert all(v.type.dtype != DType.C64 for v in maker.graph.values())
    actual = interpret(maker.graph, inputs)
    for name, want in expected.items():
        torch.testing.assert_close(actual[name], want, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("backend", ["onnx", "torchscript"])
@pytest.mark.parametrize("build", BUILDS, ids=[b.__name__ for b in BUILDS])
def test_pairs_lower(build: object, backend: str) -> None:
    maker = GraphMaker()
    build(maker)  # type: ignore[operator]
    rewrite_complex(maker.graph)
    check_backend(maker, SEQ, backend_name=backend)


def test_graph_without_complex_is_untouched() -> None:
    maker = GraphMaker()
    x = maker.input("x", "f32", ("batch", 2))
    maker.output(maker.op("aten.mul.Tensor", x, 2.0))
    before = [n.op for n in maker.graph.nodes]
    assert not rewrite_complex(maker.graph)
    assert [n.op for n in maker.graph.nodes] == before


def test_op_without_rule_is_refused_by_name() -> None:
    maker = GraphMaker()
    x = maker.input("x", "f32", ("batch", 4, 2))
    z = maker.op("aten.view_as_complex", x)
    maker.output(maker.op("aten.abs", z, module="model.layers.0.attn"))
    with pytest.raises(TraceError, match=r"aten\.abs at model\.layers\.0\.attn \(test\.py:1\).*aten\.polar"):
        rewrite_complex(maker.graph)


@pytest.mark.slow  # a minute or more on a loaded machine; the graph-level cases above run by default
def test_llama4_rotary_exports_and_validates(tmp_path: Path) -> None:
    """Llama 4's text decoder, whose rotary embedding multiplies complex numbers, exports to ONNX
    and matches the model at new shapes (irc.export validates, and raises if it does not)."""
    import irc
    from benchmarks.tiny_configs import tiny_model

    model = tiny_model("llama4_text", "causal-lm")
    graph = irc.trace(model, "causal-lm")
    assert "aten.polar" not in graph.ops() and "aten.view_as_real" not in graph.ops()
    result = irc.export(model, "causal-lm", tmp_path / "out", backend="onnx")
    assert result.report.passed
