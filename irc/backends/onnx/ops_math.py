"""Elementwise arithmetic, comparisons, logic, unary math and reductions.

Type promotion follows torch exactly by reading it off the IR: an arithmetic op computes in its
output's dtype (int64 tensor + 1.5 -> f32, so both sides are cast to f32 first); a comparison
computes in `torch.result_type` of its operands.
"""

from __future__ import annotations

import math
from typing import Any

from irc.backends.onnx.builder import Builder, dtype_of, floordiv, out_dtype, promote, rank_of, remainder
from irc.backends.onnx.registry import lowering
from irc.errors import LoweringError
from irc.ir.core import Node, Value
from irc.ir.dtypes import DType

Arg = Any


def binary(g: Builder, node: Node, op_type: str, a: Arg, b: Arg, **attrs: Any) -> str:
    dtype = out_dtype(node)
    return g.op(op_type, g.tensor(a, dtype), g.tensor(b, dtype), **attrs)


def _scaled(g: Builder, node: Node, other: Arg, alpha: Arg) -> str:
    dtype = out_dtype(node)
    if alpha == 1:
        return g.tensor(other, dtype)
    return g.op("Mul", g.tensor(other, dtype), g.tensor(alpha, dtype))


@lowering("aten.add.Tensor", "aten.add.Scalar")
def add(g: Builder, node: Node, self: Arg, other: Arg, alpha: Arg = 1) -> str:
    """add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor"""
    return g.op("Add", g.tensor(self, out_dtype(node)), _scaled(g, node, other, alpha))


@lowering("aten.sub.Tensor", "aten.sub.Scalar")
def sub(g: Builder, node: Node, self: Arg, other: Arg, alpha: Arg = 1) -> str:
    """sub.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor"""
    return g.op("Sub", g.tensor(self, out_dtype(node)), _scaled(g, node, other, alpha))


@lowering("aten.rsub.Scalar", "aten.rsub.Tensor")
def rsub(g: Builder, node: Node, self: Arg, other: Arg, alpha: Arg = 1) -> str:
    """rsub.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor: other - alpha * self"""
    return g.op("Sub", g.tensor(other, out_dtype(node)), _scaled(g, node, self, alpha))


@lowering("aten.mul.Tensor", "aten.mul.Scalar", "aten.multiply.Tensor", "aten.multiply.Scalar")
def mul(g: Builder, node: Node, self: Arg, other: Arg) -> str:
    """mul.Tensor(Tensor self, Tensor other) -> Tensor"""
    if out_dtype(node) is DType.BOOL:
        return binary(g, node, "And", self, other)
    return binary(g, node, "Mul", self, other)


@lowering("aten.div.Tensor", "aten.div.Scalar", "aten.div.Tensor_mode", "aten.div.Scalar_mode")
def div(g: Builder, node: Node, self: Arg, other: Arg, *, rounding_mode: str | None = None) -> str:
    """div.Tensor_mode(Tensor self, Tensor other, *, str? rounding_mode) -> Tensor"""
    dtype = out_dtype(node)
    a, b = g.tensor(self, dtype), g.tensor(other, dtype)
    if rounding_mode == "floor":
        return floordiv(g, a, b, dtype)
    quotient = g.op("Div", a, b)
    if rounding_mode != "trunc" or not dtype.is_floating:
        return quotient  # ONNX integer Div already truncates
    negative = g.op("Less", quotient, g.const(0, dtype))
    return g.op("Where", negative, g.op("Ceil", quotient), g.op("Floor", quotient))


@lowering("aten.floor_divide", "aten.floor_divide.Scalar")
def floor_divide(g: Builder, node: Node, self: Arg, other: Arg) -> str:
    """floor_divide(Tensor self, Tensor other) -> Tensor"""
    dtype = out_dtype(node)
    return floordiv(g, g.tensor(self, dtype), g.tensor(other, dtype), dtype)


@lowering("aten.remainder.Tensor", "aten.remainder.Scalar")
def remainder_(g: Builder, node: Node, self: Arg, other: Arg) -> str:
    """remainder.Tensor(Tensor self, Tensor other) -> Tensor (Python's %: the sign of other)"""
    dtype = out_dtype(node)
    return remainder(g, g.tensor(self, dtype), g.tensor(other, dtype), dtype)


@lowering("aten.pow.Tensor_Scalar", "aten.pow.Tensor_Tensor", "aten.pow.Scalar")
def pow_(g: Builder, node: Node, self: Arg, exponent: Arg) -> str:
    """pow.Tensor_Scalar(Tensor self, Scalar exponent) -> Tensor"""
    dtype = out_dtype(node)
    if isinstance(self, Value) and not isinstance(exponent, Value) and exponent in (2, 3):
        # torch multiplies for these exponents; std::pow can differ in the last bit
        base = g.tensor(self, dtype)
        square = g.op("Mul", base, base)
        return square if exponent == 2 else g.op("Mul", square, base)
    return binary(g, node, "Pow", self, exponent)


@lowering("aten.maximum", "aten.minimum", "aten.max.other", "aten.min.other")
def extremum(g: Builder, node: Node, self: Value, other: Value) -> str:
    """maximum(Tensor self, Tensor other) -> Tensor (max.other is the same op)"""
    return binary(g, node, "Max" if node.op in ("aten.maximum", "aten.max.other") else "Min", self, other)


@lowering("aten.clamp", "aten.clamp.Tensor", "aten.clip", "aten.clip.Tensor")
def clamp(g: Builder, node: Node, self: Value, min: Arg = None, max: Arg = None) -> str:
    """clamp(Tensor self, Scalar? min=None, Scalar? max=None) -> Tensor"""
    dtype = out_dtype(node)
    x = g.tensor(self, dtype)
    if min is not None:
        x = g.op("Max", x, g.tensor(min, dtype))
    if max is not None:
        x = g.op("Min", x, g.tensor(max, dtype))
    return x


@lowering("aten.clamp_min", "aten.clamp_max")
def clamp_one(g: Builder, node: Node, self: Value, bound: Arg) -> str:
    """clamp_min(Tensor self, Scalar min) -> Tensor"""
    return binary(g, node, "Max" if node.op == "aten.clamp_min" else "Min", self, bound)


# -- comparisons and logic ----------------------------------------------------------------------
_COMPARE = {
    "eq": "Equal",
    "lt": "Less",
    "le": "LessOrEqual",
    "gt": "Greater",
    "ge": "GreaterOrEqual",
}


def compare(g: Builder, op_type: str, a: Arg, b: Arg) -> str:
    dtype = promote(a, b)
    if dtype is DType.BOOL and op_type != "Equal":
        dtype = DType.I32  # ONNX orders numbers only
    return g.op(op_type, g.tensor(a, dtype), g.tensor(b, dtype))


def _comparison(op_type: str) -> Any:
    def emit(g: Builder, node: Node, self: Arg, other: Arg) -> str:
        return compare(g, op_type, self, other)

    emit.__doc__ = f"{op_type}.Tensor(Tensor self, Tensor other) -> Tensor"
    return emit


for _name, _onnx in _COMPARE.items():
    lowering(f"aten.{_name}.Tensor", f"aten.{_name}.Scalar")(_comparison(_onnx))


@lowering("aten.ne.Tensor", "aten.ne.Scalar")
def ne(g: Builder, node: Node, self: Arg, other: Arg) -> str:
    """ne.Tensor(Tensor self, Tensor other) -> Tensor"""
    return g.op("Not", compare(g, "Equal", self, other))


_LOGICAL = {"and": "And", "or": "Or", "xor": "Xor"}
_BITWISE = {"and": "BitwiseAnd", "or": "BitwiseOr", "xor": "BitwiseXor"}


def _logic(kind: str) -> Any:
    def emit(g: Builder, node: Node, self: Arg, other: Arg) -> str:
        dtype = out_dtype(node)
        if dtype is DType.BOOL or node.op.startswith("aten.logical_"):
            return g.op(_LOGICAL[kind], g.tensor(self, DType.BOOL), g.tensor(other, DType.BOOL))
        return binary(g, node, _BITWISE[kind], self, other)

    emit.__doc__ = f"bitwise_{kind}.Tensor(Tensor self, Tensor other) -> Tensor"
    return emit


for _kind in _LOGICAL:
    lowering(
        f"aten.__{_kind}__.Tensor",
        f"aten.__{_kind}__.Scalar",
        f"aten.bitwise_{_kind}.Tensor",
        f"aten.bitwise_{_kind}.Scalar",
        f"aten.logical_{_kind}",
    )(_logic(_kind))


@lowering("aten.logical_not", "aten.bitwise_not")
def logical_not(g: Builder, node: Node, self: Value) -> str:
    """logical_not(Tensor self) -> Tensor"""
    if node.op == "aten.bitwise_not" and dtype_of(self) is not DType.BOOL:
        return g.op("BitwiseNot", g.tensor(self))
    return g.op("Not", g.tensor(self, DType.BOOL))


@lowering("aten.where.self", "aten.where.ScalarSelf", "aten.where.ScalarOther", "aten.where.Scalar")
def where(g: Builder, node: Node, condition: Value, self: Arg, other: Arg) -> str:
    """where.self(Tensor condition, Tensor self, Tensor other) -> Tensor"""
    dtype = out_dtype(node)
    cond = g.tensor(condition, DType.BOOL)
    return g.op("Where", cond, g.tensor(self, dtype), g.tensor(other, dtype))


@lowering("aten.masked_fill.Scalar", "aten.masked_fill.Tensor")
def masked_fill(g: Builder, node: Node, self: Value, mask: Value, value: Arg) -> str:
    """masked_fill.Scalar(Tensor self, Tensor mask, Scalar value) -> Tensor"""
    dtype = out_dtype(node)
    mask_name = g.tensor(mask, DType.BOOL)
    return g.op("Where", mask_name, g.tensor(value, dtype), g.tensor(self, dtype))


# -- unary --------------------------------------------------------------------------------------
_UNARY = {
    "aten.abs": "Abs",
    "aten.neg": "Neg",
    "aten.exp": "Exp",
    "aten.log": "Log",
    "aten.sqrt": "Sqrt",
    "aten.reciprocal": "Reciprocal",
    "aten.sin": "Sin",
    "aten.cos": "Cos",
    "aten.tanh": "Tanh",
    "aten.sigmoid": "Sigmoid",
    "aten.erf": "Erf",
    "aten.relu": "Relu",
    "aten.floor": "Floor",
    "aten.ceil": "Ceil",
    "aten.sign": "Sign",
    "aten.isnan": "IsNaN",
}


def _unary(op_type: str) -> Any:
    def emit(g: Builder, node: Node, self: Value) -> str:
        # Float-valued ops on integer input compute in the output's float dtype, as torch does.
        dtype = dtype_of(self) if op_type == "IsNaN" else out_dtype(node)
        return g.op(op_type, g.tensor(self, dtype))

    emit.__doc__ = f"{op_type.lower()}(Tensor self) -> Tensor"
    return emit


for _op, _onnx in _UNARY.items():
    lowering(_op)(_unary(_onnx))


@lowering("aten.rsqrt")
def rsqrt(g: Builder, node: Node, self: Value) -> str:
    """rsqrt(Tensor self) -> Tensor"""
    return g.op("Reciprocal", g.op("Sqrt", g.tensor(self, out_dtype(node))))


@lowering("aten.silu")
def silu(g: Builder, node: Node, self: Value) -> str:
    """silu(Tensor self) -> Tensor"""
    x = g.tensor(self, out_dtype(node))
    return g.op("Mul", x, g.op("Sigmoid", x))


@lowering("aten.hardswish", "aten.hardsigmoid")
def hardswish(g: Builder, node: Node, self: Value) -> str:
    """hardswish(Tensor self) -> Tensor: x * relu6(x + 3) / 6 (hardsigmoid: relu6(x + 3) / 6)"""
    op_type = "HardSwish" if node.op == "aten.hardswish" else "HardSigmoid"
    attrs = {} if op_type == "HardSwish" else {"alpha": 1 / 6, "beta": 0.5}
    return g.op(op_type, g.tensor(self, out_dtype(node)), **attrs)


@lowering("aten.hardtanh")
def hardtanh(g: Builder, node: Node, self: Value, min_val: Arg = -1, max_val: Arg = 1) -> str:
    """hardtanh(Tensor self, Scalar min_val=-1, Scalar max_val=1) -> Tensor"""
    return clamp(g, node, self, min_val, max_val)


@lowering("aten.square")
def square(g: Builder, node: Node, self: Value) -> str:
    """square(Tensor self) -> Tensor"""
    x = g.tensor(self, out_dtype(node))
    return g.op("Mul", x, x)


@lowering("aten.softplus")
def softplus(g: Builder, node: Node, self: Value, beta: Arg = 1, threshold: Arg = 20) -> str:
    """softplus(Tensor self, Scalar beta=1, Scalar threshold=20) -> Tensor: log(1 + exp(beta x)) / beta,
    and x itself where beta x > threshold (torch's switch back to the identity)."""
    dtype = out_dtype(node)
    x = g.tensor(self, dtype)
    scaled = g.op("Mul", x, g.const(float(beta), dtype))
    smooth = g.op(
        "Div", g.op("Log", g.op("Add", g.op("Exp", scaled), g.const(1.0, dtype))), g.const(float(beta), dtype)
    )
    return g.op("Where", g.op("Greater", scaled, g.const(float(threshold), dtype)), x, smooth)


@lowering("aten.relu6")
def relu6(g: Builder, node: Node, self: Value) -> str:
    """relu6(Tensor self) -> Tensor"""
    return clamp(g, node, self, 0, 6)


# -- reductions ---------------------------------------------------------------------------------
def axes_of(dim: Arg, rank: int) -> list[int]:
    """Reduction axes, normalized; an empty list means all axes."""
    if dim is None:
        return []
    dims = [dim] if isinstance(dim, int) else list(dim)
    return sorted(d % rank for d in dims) if rank else []


def _reduce(op_type: str) -> Any:
    def emit(g: Builder, node: Node, self: Value, dim: Arg = None, keepdim: bool = False, **_: Arg) -> str:
        x = g.tensor(self, out_dtype(node))
        return g.reduce(op_type, x, axes_of(dim, rank_of(self)), keepdim)

    emit.__doc__ = (
        f"{op_type}: (Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor"
    )
    return emit


_REDUCE = {
    "aten.mean.dim": "ReduceMean",
    "aten.mean": "ReduceMean",
    "aten.sum.dim_IntList": "ReduceSum",
    "aten.sum": "ReduceSum",
    "aten.amax": "ReduceMax",
    "aten.max": "ReduceMax",
    "aten.amin": "ReduceMin",
    "aten.min": "ReduceMin",
    "aten.prod.dim_int": "ReduceProd",
    "aten.prod": "ReduceProd",
}

for _op, _onnx in _REDUCE.items():
    lowering(_op)(_reduce(_onnx))


@lowering("aten.linalg_vector_norm")
def linalg_vector_norm(
    g: Builder,
    node: Node,
    self: Value,
    ord: Arg = 2,
    dim: Arg = None,
    keepdim: bool = False,
    *,
    dtype: Arg = None,
) -> str:
    """linalg_vector_norm(Tensor self, Scalar ord=2, int[1]? dim=None, bool keepdim=False, *,
    ScalarType? dtype=None) -> Tensor"""
    if isinstance(ord, Value):
        raise LoweringError("linalg_vector_norm needs a constant ord")
    dtype_ = out_dtype(node)
    x = g.tensor(self, dtype_)
    axes = axes_of(dim, rank_of(self))
    if ord == 2:
        return g.reduce("ReduceL2", x, axes, keepdim)
    if ord == 1:
        return g.reduce("ReduceL1", x, axes, keepdim)
    if ord == math.inf:
        return g.reduce("ReduceMax", g.op("Abs", x), axes, keepdim)
    if ord == -math.inf:
        return g.reduce("ReduceMin", g.op("Abs", x), axes, keepdim)
    if ord == 0:
        nonzero = g.op("Not", g.op("Equal", x, g.const(0, dtype_)))
        return g.reduce("ReduceSum", g.cast(nonzero, DType.BOOL, dtype_), axes, keepdim)
    powered = g.op("Pow", g.op("Abs", x), g.const(float(ord), dtype_))
    total = g.reduce("ReduceSum", powered, axes, keepdim)
    return g.op("Pow", total, g.const(1.0 / float(ord), dtype_))


@lowering("aten.max.dim", "aten.min.dim")
def max_dim(g: Builder, node: Node, self: Value, dim: int, keepdim: bool = False) -> list[str]:
    """max.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)"""
    kind = "Max" if node.op == "aten.max.dim" else "Min"
    axis = dim % max(rank_of(self), 1)
    values = g.reduce(f"Reduce{kind}", g.tensor(self), [axis], keepdim)
    return [values, g.op(f"Arg{kind}", g.tensor(self), axis=axis, keepdims=int(keepdim))]


@lowering("aten.argmax", "aten.argmin")
def argmax(g: Builder, node: Node, self: Value, dim: int | None = None, keepdim: bool = False) -> str:
    """argmax(Tensor self, int? dim=None, bool keepdim=False) -> Tensor (first index of the max)"""
    kind = "ArgMax" if node.op == "aten.argmax" else "ArgMin"
    x = g.tensor(self, DType.F32) if dtype_of(self) is DType.BOOL else g.tensor(self)
    if dim is None:
        flat = g.op("Reshape", x, g.const([-1], DType.I64))
        result = g.op(kind, flat, axis=0, keepdims=0)
        return g.op("Reshape", result, g.ints([1] * rank_of(self))) if keepdim else result
    return g.op(kind, x, axis=dim % max(rank_of(self), 1), keepdims=int(keepdim))


@lowering("aten.cumsum")
def cumsum(g: Builder, node: Node, self: Value, dim: int, *, dtype: Arg = None) -> str:
    """cumsum(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor (ints accumulate in int64)"""
    x = g.tensor(self, out_dtype(node))
    return g.op("CumSum", x, g.const(dim, DType.I64))


# Op modules added after registry.py's import list was written register through this import.
from irc.backends.onnx import ops_fold, ops_moe, ops_scatter, ops_stats  # noqa: E402, F401
