"""`torch.linalg.norm` (irc/backends/onnx/ops_linalg_norm.py): its default 2-norm over one dim,
two dims and all elements, and an `ord` over one dim, against torch in ONNX Runtime and
TorchScript; a matrix norm is refused by name."""

from __future__ import annotations

import pytest

from irc.errors import LoweringError
from tests.backends.cases import SEQ
from tests.backends.util import GraphMaker, check_backend


def _norms() -> GraphMaker:
    b = GraphMaker()
    x = b.input("x", "f32", ("batch", "seq", 6))
    b.output(
        b.op("aten.linalg_norm", x, None, [-1], True),
        b.op("aten.linalg_norm", x, None, [1, 2]),
        b.op("aten.linalg_norm", x),
        b.op("aten.linalg_norm", x, 1, [2]),
    )
    return b


@pytest.mark.parametrize("backend", ["onnx", "torchscript"])
def test_linalg_norm_lowers(backend: str) -> None:
    check_backend(_norms(), SEQ, backend_name=backend)


def test_matrix_norm_is_refused() -> None:
    b = GraphMaker()
    x = b.input("x", "f32", ("batch", 3, 3))
    b.output(b.op("aten.linalg_norm", x, 2, [1, 2]))
    with pytest.raises(LoweringError, match="matrix norm"):
        check_backend(b, SEQ)
