"""`Tensor.unfold` (irc/backends/onnx/ops_unfold.py): sliding windows along a dynamic and a static
dim, checked against the interpreter (torch) in ONNX Runtime and TorchScript at several lengths."""

from __future__ import annotations

import pytest

from tests.backends.cases import SEQ
from tests.backends.util import GraphMaker, check_backend


def _windows() -> GraphMaker:
    b = GraphMaker()
    x = b.input("x", "f32", ("batch", "seq", 6))
    b.output(
        b.op("aten.unfold", x, 1, 2, 1), b.op("aten.unfold", x, 1, 2, 2), b.op("aten.unfold", x, -1, 3, 2)
    )
    return b


@pytest.mark.parametrize("backend", ["onnx", "torchscript"])
def test_unfold_lowers(backend: str) -> None:
    check_backend(_windows(), SEQ, backend_name=backend)
