"""Element types of IR tensors, with their short textual names (`f32`, `i64`, ...)."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


class DType(enum.Enum):
    """An element type; its value is the name used in the IR text."""

    F64 = "f64"
    F32 = "f32"
    F16 = "f16"
    BF16 = "bf16"
    I64 = "i64"
    I32 = "i32"
    I16 = "i16"
    I8 = "i8"
    U8 = "u8"
    BOOL = "bool"
    C64 = "c64"

    def __str__(self) -> str:
        return self.value

    @property
    def is_floating(self) -> bool:
        return self in (DType.F64, DType.F32, DType.F16, DType.BF16)

    def to_torch(self) -> torch.dtype:
        import torch

        return getattr(torch, _TORCH_NAMES[self])

    @staticmethod
    def from_torch(dtype: torch.dtype) -> DType:
        name = str(dtype).removeprefix("torch.")
        for member, torch_name in _TORCH_NAMES.items():
            if torch_name == name:
                return member
        from irc.errors import IRError

        raise IRError(f"irc has no element type for {dtype}; supported: {', '.join(_TORCH_NAMES.values())}.")

    @staticmethod
    def parse(text: str) -> DType:
        return DType(text)


_TORCH_NAMES = {
    DType.F64: "float64",
    DType.F32: "float32",
    DType.F16: "float16",
    DType.BF16: "bfloat16",
    DType.I64: "int64",
    DType.I32: "int32",
    DType.I16: "int16",
    DType.I8: "int8",
    DType.U8: "uint8",
    DType.BOOL: "bool",
    DType.C64: "complex64",
}
