"""torch.fft under the complex-pairs rewrite (irc/frontend/complex_fft.py, `irc.dft`): the pair
graph computes what the complex one did, lowers to ONNX's DFT (both of its opset forms) and to
TorchScript, and FNet, whose token mixing is `fftn(x, dim=(1, 2)).real`, exports and validates."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from irc.errors import LoweringError, TraceError
from irc.frontend.complex_pairs import rewrite_complex
from irc.ir.dtypes import DType
from irc.ir.interpreter import interpret
from irc.ir.verifier import verify
from tests.backends.cases import SEQ
from tests.backends.util import GraphMaker, check_backend, make_inputs


def fnet_mixing(b: GraphMaker) -> None:
    """FNet's mixing (fftn over sequence and hidden, real part), and a one-dim fft of a complex
    view read back as its imaginary part."""
    x = b.input("x", "f32", ("batch", "seq", 6))
    mixed = b.op("aten.real", b.op("aten.fft_fftn", x, None, [1, 2]))
    z = b.op("aten.view_as_complex", b.op("aten.view", x, [b.op("aten.sym_size.int", x, 0), -1, 3, 2]))
    spectrum = b.op("aten.imag", b.op("aten.fft_fft", z, None, 1))
    b.output(mixed, spectrum)


def _graph() -> GraphMaker:
    maker = GraphMaker()
    fnet_mixing(maker)
    return maker


def test_pairs_compute_the_fft() -> None:
    maker = _graph()
    inputs = make_inputs(maker, SEQ[1], 3)
    expected = interpret(maker.graph, inputs)
    assert rewrite_complex(maker.graph)
    verify(maker.graph)
    assert all(v.type.dtype != DType.C64 for v in maker.graph.values())
    assert maker.graph.ops()["irc.dft"] == 3
    actual = interpret(maker.graph, inputs)
    for name, want in expected.items():
        torch.testing.assert_close(actual[name], want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    ("backend", "options"),
    [("onnx", {}), ("onnx", {"opset": 20}), ("torchscript", {})],
    ids=["onnx-opset18", "onnx-opset20", "torchscript"],
)
def test_dft_lowers(backend: str, options: dict[str, int]) -> None:
    maker = _graph()
    rewrite_complex(maker.graph)
    check_backend(maker, SEQ, atol=1e-4, backend_name=backend, **options)


def test_onnx_below_opset_17_is_refused_with_the_opset_needed() -> None:
    maker = _graph()
    rewrite_complex(maker.graph)
    with pytest.raises(LoweringError, match=r"irc\.dft needs opset >= 17.*Pass --opset 17"):
        check_backend(maker, SEQ, backend_name="onnx", opset=16)


def test_normalized_fft_is_refused_by_name() -> None:
    maker = GraphMaker()
    x = maker.input("x", "f32", ("batch", 4))
    maker.output(maker.op("aten.real", maker.op("aten.fft_fft", x, None, -1, "ortho", module="model.mix")))
    with pytest.raises(TraceError, match=r"aten\.fft_fft at model\.mix .*norm='ortho'.*norm='backward' only"):
        rewrite_complex(maker.graph)


@pytest.mark.parametrize("backend", ["onnx", "torchscript"])
def test_fnet_exports_and_validates(tmp_path: Path, backend: str) -> None:
    import irc
    from benchmarks.tiny_configs import tiny_model

    model = tiny_model("fnet", "default")
    result = irc.export(model, "default", tmp_path / "out", backend=backend)
    assert result.report.passed
    assert "irc.dft" in result.graph.ops()
