"""`torch.linalg.norm` (OWL-ViT's embedding normalization) as the vector norm it is here.

With no `ord` it is the 2-norm over `dim` (all elements when `dim` is None; the Frobenius norm of
two dims is that too); with an `ord` over one dim it is that vector norm. A matrix norm (an `ord`
over two dims: spectral, nuclear...) has no ONNX form here and is refused by name.
"""

from __future__ import annotations

from typing import Any

from irc.backends.onnx.builder import Builder
from irc.backends.onnx.ops_math import linalg_vector_norm
from irc.backends.onnx.registry import lowering
from irc.errors import LoweringError
from irc.ir.core import Node, Value


@lowering("aten.linalg_norm")
def linalg_norm(
    g: Builder,
    node: Node,
    self: Value,
    ord: Any = None,
    dim: Any = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> str:
    """linalg_norm(Tensor self, Scalar? ord=None, int[1]? dim=None, bool keepdim=False, *,
    ScalarType? dtype=None) -> Tensor"""
    if ord is not None and (dim is None or len(dim) != 1):
        raise LoweringError(
            f"linalg_norm with ord={ord!r} over dims {dim!r} is a matrix norm, which irc cannot lower to "
            "ONNX; only vector norms (one dim) and the default 2-norm are supported"
        )
    return linalg_vector_norm(g, node, self, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
