"""Types of IR values: tensors with (possibly symbolic) shapes, and symbolic scalars."""

from __future__ import annotations

from dataclasses import dataclass

from irc.ir.dims import Dim, SymDim, format_dim
from irc.ir.dtypes import DType


@dataclass(frozen=True)
class TensorType:
    """`f32[batch, sequence, 32]`: an element type and one dim per axis."""

    dtype: DType
    shape: tuple[Dim, ...]

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_static(self) -> bool:
        return all(isinstance(d, int) for d in self.shape)

    @property
    def symbols(self) -> frozenset[str]:
        out: frozenset[str] = frozenset()
        for dim in self.shape:
            if isinstance(dim, SymDim):
                out |= dim.symbols
        return out

    def __str__(self) -> str:
        return f"{self.dtype}[{', '.join(format_dim(d) for d in self.shape)}]"


@dataclass(frozen=True)
class ScalarType:
    """`sym<i64: batch>`: a Python scalar computed at run time (a size, usually); `value` is its
    size expression when known."""

    dtype: DType
    value: Dim | None = None

    def __str__(self) -> str:
        if self.value is None:
            return f"sym<{self.dtype}>"
        return f"sym<{self.dtype}: {format_dim(self.value)}>"


Type = TensorType | ScalarType
