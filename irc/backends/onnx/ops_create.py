"""Lowerings that make or retype tensors: aliases, casts, factories, sizes and `sym.*` arithmetic.

Symbolic scalars are 0-d tensors here, so `sym.*` ops are ONNX arithmetic on 0-d tensors.
"""

from __future__ import annotations

from typing import Any

from irc.backends.emitters import CASTS, refuse_dropout
from irc.backends.onnx.builder import Builder, dtype_of, floordiv, out_dtype, remainder
from irc.backends.onnx.registry import TABLE, lowering
from irc.ir.core import Node, Value
from irc.ir.dtypes import DType

Arg = Any


# -- aliases and casts --------------------------------------------------------------------------
@lowering(
    "aten.contiguous", "aten.clone", "aten.alias", "aten.detach", "aten.lift_fresh_copy", "irc.identity"
)
def identity(g: Builder, node: Node, self: Value, *_: Arg, **__: Arg) -> str:
    """contiguous(Tensor(a) self, *, MemoryFormat memory_format=contiguous_format) -> Tensor(a)"""
    return g.tensor(self)


@lowering(*CASTS)
def to(g: Builder, node: Node, self: Value, *_: Arg, **__: Arg) -> str:
    """to.dtype_layout(Tensor(a) self, *, ScalarType? dtype=None, Layout? layout=None, Device?
    device=None, bool? pin_memory=None, bool non_blocking=False, bool copy=False,
    MemoryFormat? memory_format=None) -> Tensor(a); the output's dtype says what to cast to."""
    return g.tensor(self, out_dtype(node))


@lowering("aten.dropout", "aten.feature_dropout")
def dropout(g: Builder, node: Node, input: Value, p: float, train: bool) -> str:
    """dropout(Tensor input, float p, bool train) -> Tensor (feature_dropout's schema is the same)"""
    refuse_dropout(p if train else 0.0)
    return g.tensor(input)


@lowering("aten.copy")
def copy(g: Builder, node: Node, self: Value, src: Value, non_blocking: bool = False) -> str:
    """copy(Tensor self, Tensor src, bool non_blocking=False) -> Tensor"""
    # The result is src broadcast to self's shape, in self's dtype.
    return g.op("Expand", g.tensor(src, out_dtype(node)), g.shape(self))


# -- sizes ------------------------------------------------------------------------------------
@lowering("aten.sym_size.int")
def sym_size(g: Builder, node: Node, self: Value, dim: int) -> str:
    """sym_size.int(Tensor self, int dim) -> SymInt"""
    rank = self.tensor_type.rank
    return g.op("Gather", g.op("Shape", g.name(self)), g.const(dim % rank, DType.I64), axis=0)


@lowering("aten.sym_numel")
def sym_numel(g: Builder, node: Node, self: Value) -> str:
    """sym_numel(Tensor self) -> SymInt"""
    return g.op("Size", g.name(self))


@lowering("aten.item")
def item(g: Builder, node: Node, self: Value) -> str:
    """item(Tensor self) -> Scalar: the one element, as a 0-d tensor of the scalar's dtype (a
    Python int is int64, a float double)."""
    scalar = g.op("Reshape", g.tensor(self), g.const([], DType.I64))
    return g.cast(scalar, dtype_of(self), out_dtype(node))


def _scalar_binary(op_type: str) -> Any:
    def emit(g: Builder, node: Node, a: Arg, b: Arg) -> str:
        dtype = out_dtype(node)
        return g.op(op_type, g.tensor(a, dtype), g.tensor(b, dtype))

    emit.__doc__ = f"sym {op_type.lower()}: (SymInt a, SymInt b) -> SymInt"
    return emit


_SYM_BINARY = {
    "sym.add": "Add",
    "sym.sub": "Sub",
    "sym.mul": "Mul",
    "sym.pow": "Pow",
    "sym.min": "Min",
    "sym.max": "Max",
}
TABLE.register_each(_SYM_BINARY, _scalar_binary)


def _operand_dtype(a: Arg, b: Arg) -> DType:
    """The dtype Python computes `a op b` in: double if either side is a float, else int64."""
    for arg in (a, b):
        if isinstance(arg, float) or (isinstance(arg, Value) and dtype_of(arg).is_floating):
            return DType.F64
    return DType.I64


@lowering("sym.truediv")
def sym_truediv(g: Builder, node: Node, a: Arg, b: Arg) -> str:
    """sym truediv: (SymInt a, SymInt b) -> SymFloat"""
    dtype = out_dtype(node)
    return g.op("Div", g.tensor(a, dtype), g.tensor(b, dtype))


@lowering("sym.floordiv")
def sym_floordiv(g: Builder, node: Node, a: Arg, b: Arg) -> str:
    """sym floordiv: (SymInt a, SymInt b) -> SymInt"""
    dtype = out_dtype(node)
    return floordiv(g, g.tensor(a, dtype), g.tensor(b, dtype), dtype)


@lowering("sym.mod")
def sym_mod(g: Builder, node: Node, a: Arg, b: Arg) -> str:
    """sym mod: (SymInt a, SymInt b) -> SymInt"""
    dtype = out_dtype(node)
    return remainder(g, g.tensor(a, dtype), g.tensor(b, dtype), dtype)


@lowering("sym.neg")
def sym_neg(g: Builder, node: Node, a: Arg) -> str:
    """sym neg: (SymInt a) -> SymInt"""
    return g.op("Neg", g.tensor(a, out_dtype(node)))


_SYM_COMPARE = {
    "sym.eq": "Equal",
    "sym.lt": "Less",
    "sym.le": "LessOrEqual",
    "sym.gt": "Greater",
    "sym.ge": "GreaterOrEqual",
}


def _scalar_compare(op_type: str) -> Any:
    def emit(g: Builder, node: Node, a: Arg, b: Arg) -> str:
        dtype = _operand_dtype(a, b)
        return g.op(op_type, g.tensor(a, dtype), g.tensor(b, dtype))

    emit.__doc__ = f"sym {op_type}: (SymInt a, SymInt b) -> SymBool"
    return emit


TABLE.register_each(_SYM_COMPARE, _scalar_compare)


@lowering("sym.not")
def sym_not(g: Builder, node: Node, a: Arg) -> str:
    """sym not: (SymBool a) -> SymBool"""
    return g.op("Not", g.tensor(a, DType.BOOL))


@lowering("sym.ne")
def sym_ne(g: Builder, node: Node, a: Arg, b: Arg) -> str:
    """sym ne: (SymInt a, SymInt b) -> SymBool"""
    dtype = _operand_dtype(a, b)
    return g.op("Not", g.op("Equal", g.tensor(a, dtype), g.tensor(b, dtype)))


# -- factories --------------------------------------------------------------------------------
@lowering("aten.arange", "aten.arange.start", "aten.arange.start_step")
def arange(g: Builder, node: Node, *args: Arg, **_: Arg) -> str:
    """arange.start_step(Scalar start, Scalar end, Scalar step=1, *, ScalarType? dtype=None,
    Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor"""
    dtype = out_dtype(node)
    start, end, step = (0, args[0], 1) if len(args) == 1 else (*args, 1)[:3]
    if not any(isinstance(a, Value) for a in (start, end, step)):
        import torch

        # torch's own values: its length rule (in double) and ONNX Range's (in dtype) can differ
        return g.const(torch.arange(start, end, step, dtype=dtype.to_torch()), dtype)
    return g.op("Range", g.tensor(start, dtype), g.tensor(end, dtype), g.tensor(step, dtype))


def fill(g: Builder, node: Node, size: Arg, value: Arg) -> str:
    """A tensor of `size` (ints and symbolic scalars) filled with `value`, in the output dtype."""
    dtype = out_dtype(node)
    if isinstance(value, Value):
        return g.op("Expand", g.tensor(value, dtype), g.ints(size))
    return g.op("ConstantOfShape", g.ints(size), value=_one_element(value, dtype))


def _one_element(value: Any, dtype: DType) -> Any:
    import torch

    from irc.backends.onnx.builder import tensor_proto

    return tensor_proto("value", torch.tensor([value], dtype=dtype.to_torch()))


@lowering("aten.full")
def full(g: Builder, node: Node, size: Arg, fill_value: Arg, **_: Arg) -> str:
    """full(SymInt[] size, Scalar fill_value, *, ScalarType? dtype=None, Layout? layout=None,
    Device? device=None, bool? pin_memory=None) -> Tensor"""
    return fill(g, node, size, fill_value)


@lowering("aten.zeros", "aten.empty.memory_format")
def zeros(g: Builder, node: Node, size: Arg, **_: Arg) -> str:
    """zeros(SymInt[] size, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None,
    bool? pin_memory=None) -> Tensor; `empty` is lowered as zeros (its contents are unspecified)."""
    return fill(g, node, size, 0)


@lowering("aten.ones")
def ones(g: Builder, node: Node, size: Arg, **_: Arg) -> str:
    """ones(SymInt[] size, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None,
    bool? pin_memory=None) -> Tensor"""
    return fill(g, node, size, 1)


@lowering("aten.new_ones")
def new_ones(g: Builder, node: Node, self: Value, size: Arg, **_: Arg) -> str:
    """new_ones(Tensor self, SymInt[] size, *, ScalarType? dtype=None, Layout? layout=None,
    Device? device=None, bool? pin_memory=None) -> Tensor"""
    return fill(g, node, size, 1)


@lowering("aten.new_zeros", "aten.new_empty")
def new_zeros(g: Builder, node: Node, self: Value, size: Arg, **_: Arg) -> str:
    """new_zeros(Tensor self, SymInt[] size, *, ScalarType? dtype=None, Layout? layout=None,
    Device? device=None, bool? pin_memory=None) -> Tensor"""
    return fill(g, node, size, 0)


@lowering("aten.new_full")
def new_full(g: Builder, node: Node, self: Value, size: Arg, fill_value: Arg, **_: Arg) -> str:
    """new_full(Tensor self, SymInt[] size, Scalar fill_value, *, ScalarType? dtype=None,
    Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor"""
    return fill(g, node, size, fill_value)


def _fill_like(g: Builder, node: Node, self: Value, value: Arg) -> str:
    shape = g.shape(self)
    dtype = out_dtype(node)
    if isinstance(value, Value):
        return g.op("Expand", g.tensor(value, dtype), shape)
    return g.op("ConstantOfShape", shape, value=_one_element(value, dtype))


@lowering("aten.zeros_like", "aten.empty_like")
def zeros_like(g: Builder, node: Node, self: Value, **_: Arg) -> str:
    """zeros_like(Tensor self, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None,
    bool? pin_memory=None, MemoryFormat? memory_format=None) -> Tensor"""
    return _fill_like(g, node, self, 0)


@lowering("aten.ones_like")
def ones_like(g: Builder, node: Node, self: Value, **_: Arg) -> str:
    """ones_like(Tensor self, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None,
    bool? pin_memory=None, MemoryFormat? memory_format=None) -> Tensor"""
    return _fill_like(g, node, self, 1)


@lowering("aten.full_like")
def full_like(g: Builder, node: Node, self: Value, fill_value: Arg, **_: Arg) -> str:
    """full_like(Tensor self, Scalar fill_value, *, ScalarType? dtype=None, Layout? layout=None,
    Device? device=None, bool? pin_memory=None, MemoryFormat? memory_format=None) -> Tensor"""
    return _fill_like(g, node, self, fill_value)


@lowering("aten.scalar_tensor")
def scalar_tensor(g: Builder, node: Node, s: Arg, **_: Arg) -> str:
    """scalar_tensor(Scalar s, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None,
    bool? pin_memory=None) -> Tensor"""
    return g.tensor(s, out_dtype(node))


@lowering("aten.fill.Scalar", "aten.fill.Tensor")
def fill_(g: Builder, node: Node, self: Value, value: Arg) -> str:
    """fill.Tensor(Tensor self, Tensor value) -> Tensor; fill.Scalar takes a Scalar value."""
    return _fill_like(g, node, self, value)
