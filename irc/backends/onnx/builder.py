"""Emission state shared by all emitters: the ONNX nodes so far, names, constants and helpers.

Emitters never build NodeProtos themselves; they call `g.op("MatMul", a, b)` and get the output
name back. Names: IR values keep their IR names in ONNX (the last node an emitter creates is
renamed to the IR output name), temporaries are `<ir output>__<n>`. Symbolic scalars
(`sym<i64>`) are 0-d tensors of their dtype; int lists that mix ints and Values become one 1-D
int64 tensor (`g.ints`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import onnx
from onnx import TensorProto, helper

from irc.errors import LoweringError
from irc.ir.core import Node, Value
from irc.ir.dtypes import DType
from irc.ir.types import ScalarType, TensorType

if TYPE_CHECKING:
    import torch

ONNX_DTYPES: dict[DType, int] = {
    DType.F64: TensorProto.DOUBLE,
    DType.F32: TensorProto.FLOAT,
    DType.F16: TensorProto.FLOAT16,
    DType.BF16: TensorProto.BFLOAT16,
    DType.I64: TensorProto.INT64,
    DType.I32: TensorProto.INT32,
    DType.I16: TensorProto.INT16,
    DType.I8: TensorProto.INT8,
    DType.U8: TensorProto.UINT8,
    DType.BOOL: TensorProto.BOOL,
    DType.C64: TensorProto.COMPLEX64,
}

INT64_MAX = 2**63 - 1
MS_DOMAIN = "com.microsoft"


class OpsetError(LoweringError):
    """An emitter asked for an ONNX op that the chosen opset does not have yet."""

    def __init__(self, op_type: str, needed: int, opset: int) -> None:
        super().__init__(f"ONNX {op_type} needs opset >= {needed} (got {opset})")
        self.op_type = op_type
        self.needed = needed


@cache
def first_opsets() -> dict[str, int]:
    """The opset in which each op of the default ONNX domain first appears."""
    first: dict[str, int] = {}
    for schema in onnx.defs.get_all_schemas_with_history():
        if schema.domain in ("", "ai.onnx"):
            first[schema.name] = min(first.get(schema.name, schema.since_version), schema.since_version)
    return first


def tensor_proto(name: str, tensor: torch.Tensor) -> onnx.TensorProto:
    """A TensorProto holding `tensor`'s bytes (raw_data, so bf16 and bool need no numpy type)."""
    import torch

    data = tensor.detach().to("cpu").contiguous()
    proto = TensorProto()
    proto.name = name
    proto.data_type = ONNX_DTYPES[DType.from_torch(data.dtype)]
    proto.dims.extend(int(d) for d in data.shape)
    proto.raw_data = data.reshape(-1).view(torch.uint8).numpy().tobytes()
    return proto


def dtype_of(arg: Any) -> DType:
    """The element type of a Value (tensor or symbolic scalar)."""
    if isinstance(arg, Value):
        return arg.type.dtype
    raise LoweringError(f"expected a tensor or symbolic scalar, got {arg!r}")


def out_dtype(node: Node, index: int = 0) -> DType:
    return node.outputs[index].type.dtype


def rank_of(value: Value) -> int:
    return value.type.rank if isinstance(value.type, TensorType) else 0


def promote(a: Any, b: Any) -> DType:
    """torch's result type of a binary op on `a` and `b` (Values or Python scalars)."""
    import torch

    return DType.from_torch(torch.result_type(_example(a), _example(b)))


def _example(arg: Any) -> Any:
    """A stand-in with the same promotion category and priority as `arg`."""
    import torch

    if not isinstance(arg, Value):
        return arg
    if isinstance(arg.type, ScalarType):
        dtype = arg.type.dtype
        return True if dtype is DType.BOOL else 1.0 if dtype.is_floating else 1
    ttype = arg.tensor_type
    return torch.empty((1,) * ttype.rank, dtype=ttype.dtype.to_torch())


def floordiv(g: Builder, a: str, b: str, dtype: DType) -> str:
    """Python's `a // b` (rounding toward -inf, also for negative operands)."""
    if dtype.is_floating:
        return g.op("Floor", g.op("Div", a, b))
    # ONNX integer Div truncates; subtracting the Python remainder first makes it exact.
    return g.op("Div", g.op("Sub", a, g.op("Mod", a, b, fmod=0)), b)


def remainder(g: Builder, a: str, b: str, dtype: DType) -> str:
    """Python's `a % b` (the sign of `b`)."""
    if dtype.is_floating:
        return g.op("Sub", a, g.op("Mul", g.op("Floor", g.op("Div", a, b)), b))
    return g.op("Mod", a, b, fmod=0)


class Builder:
    """The ONNX graph being emitted for one IR graph."""

    def __init__(self, opset: int, reserved: set[str]) -> None:
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.env: dict[Value, str] = {}
        self._used = set(reserved)
        self._consts: dict[tuple[Any, ...], str] = {}
        self._hint = "t"
        self._start = 0
        self._temps: set[str] = set()
        self.transposed: set[str] = set()
        """Initializers stored transposed (`<weight>.T`, read only by linear)."""
        self.ort_ops = False
        """Whether `ms()` may emit ONNX Runtime's com.microsoft ops (the `ort_fusions` option)."""

    # -- names ----------------------------------------------------------------------------
    def _new_name(self, base: str) -> str:
        i = 0
        while f"{base}__{i}" in self._used:
            i += 1
        name = f"{base}__{i}"
        self._used.add(name)
        return name

    def fresh(self) -> str:
        """A temporary name for an output of the node being lowered."""
        name = self._new_name(self._hint)
        self._temps.add(name)
        return name

    def name(self, value: Value) -> str:
        if value not in self.env:
            raise LoweringError(f"%{value.name} is used before the ONNX graph defines it")
        return self.env[value]

    # -- one IR node at a time --------------------------------------------------------------
    def begin(self, node: Node) -> None:
        self._hint = node.outputs[0].name if node.outputs else node.op.replace(".", "_")
        self._start = len(self.nodes)
        self._temps = set()

    def finish(self, node: Node, result: str | Sequence[str]) -> None:
        """Bind the node's outputs to `result`, giving fresh temporaries the IR names."""
        names = [result] if isinstance(result, str) else list(result)
        if len(names) != len(node.outputs):
            raise LoweringError(f"the emitter returned {len(names)} outputs for {len(node.outputs)}")
        renamed: dict[str, str] = {}
        for value, name in zip(node.outputs, names, strict=True):
            if name in self._temps and name not in renamed:
                self._rename(name, value.name)
                renamed[name] = value.name
            self.env[value] = renamed.get(name, name)

    def _rename(self, old: str, new: str) -> None:
        for proto in self.nodes[self._start :]:
            for field in (proto.input, proto.output):
                for i, name in enumerate(field):
                    if name == old:
                        field[i] = new

    # -- emitting ---------------------------------------------------------------------------
    def op(self, op_type: str, *inputs: str | None, **attrs: Any) -> str:
        """Append one single-output ONNX node; `None` inputs are omitted optional inputs."""
        return self.ops(op_type, inputs, 1, **attrs)[0]

    def ops(self, op_type: str, inputs: Sequence[str | None], outputs: int, **attrs: Any) -> list[str]:
        # Emitters that have another form for older opsets branch on `self.opset` before calling
        # this; reaching here with an op the opset lacks means the IR op has no such form.
        needed = first_opsets().get(op_type, 1)
        if needed > self.opset:
            raise OpsetError(op_type, needed, self.opset)
        names = [self.fresh() for _ in range(outputs)]
        ins = [name or "" for name in inputs]
        while ins and not ins[-1]:
            ins.pop()
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(helper.make_node(op_type, ins, names, **attrs))
        return names

    def ms(self, op_type: str, *inputs: str | None, **attrs: Any) -> str:
        """One node of ONNX Runtime's contrib domain (com.microsoft, version 1), for the rewrites
        `--ort-fusions` asks for."""
        (name,) = self.ms_nodes(op_type, inputs, 1, **attrs)
        return name

    def ms_nodes(
        self,
        op_type: str,
        inputs: Sequence[str | None],
        outputs: int,
        *,
        opted_in: bool = False,
        **attrs: Any,
    ) -> list[str]:
        """One com.microsoft node with `outputs` outputs; `None` inputs are omitted optional ones.
        `opted_in`: the user asked for this op by other means than `--ort-fusions` (`--quantize`:
        its matmuls have no standard ONNX form), so no fusion flag is needed."""
        if not (self.ort_ops or opted_in):
            raise LoweringError(
                f"this op lowers to com.microsoft.{op_type}, which only ONNX Runtime runs; export with "
                "--ort-fusions (ort_fusions=True), or leave the ort-* passes out of the pipeline."
            )
        names = [self.fresh() for _ in range(outputs)]
        ins = [i or "" for i in inputs]
        while ins and not ins[-1]:
            ins.pop()
        self.nodes.append(helper.make_node(op_type, ins, names, domain=MS_DOMAIN, **attrs))
        return names

    def const(self, data: Any, dtype: DType) -> str:
        """A Constant node holding `data` (a number or nested list) as `dtype`; reused when equal."""
        import torch

        tensor = data if isinstance(data, torch.Tensor) else torch.tensor(data, dtype=dtype.to_torch())
        tensor = tensor.to(dtype.to_torch())
        key = (dtype, tuple(tensor.shape), tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
        if key not in self._consts:
            name = self._new_name("const")
            value = tensor_proto(name, tensor)
            self.nodes.append(helper.make_node("Constant", [], [name], value=value))
            self._consts[key] = name
        return self._consts[key]

    def tensor(self, arg: Any, dtype: DType | None = None) -> str:
        """A Value's name (cast to `dtype` if given), or a 0-d constant for a Python scalar."""
        if isinstance(arg, Value):
            name = self.name(arg)
            return name if dtype is None else self.cast(name, dtype_of(arg), dtype)
        if dtype is None:
            raise LoweringError(f"a literal {arg!r} needs a dtype to become a tensor")
        return self.const(arg, dtype)

    def cast(self, name: str, src: DType, dst: DType) -> str:
        if src is dst:
            return name
        return self.op("Cast", name, to=ONNX_DTYPES[dst])

    def ints(self, items: Any) -> str:
        """A 1-D int64 tensor from a list of ints and symbolic scalars (`[-1, %s]`)."""
        if isinstance(items, Value):
            return self.op("Reshape", self.tensor(items, DType.I64), self.const([-1], DType.I64))
        pieces: list[str] = []
        run: list[int] = []
        for item in items:
            if not isinstance(item, Value):
                run.append(int(item))
                continue
            if run:
                pieces.append(self.const(run, DType.I64))
                run = []
            pieces.append(self.op("Reshape", self.tensor(item, DType.I64), self.const([-1], DType.I64)))
        if run or not pieces:
            pieces.append(self.const(run, DType.I64))
        return pieces[0] if len(pieces) == 1 else self.op("Concat", *pieces, axis=0)

    # -- shapes -----------------------------------------------------------------------------
    def dim(self, value: Value, axis: int) -> str:
        """The size of `value` along `axis` as a 0-d int64 (a constant when static)."""
        size = value.tensor_type.shape[axis]
        if isinstance(size, int):
            return self.const(size, DType.I64)
        return self.op("Gather", self.op("Shape", self.name(value)), self.const(axis, DType.I64), axis=0)

    def shape(self, value: Value, start: int = 0, end: int | None = None) -> str:
        """`value.shape[start:end]` as a 1-D int64 (a constant when those dims are static)."""
        dims = value.tensor_type.shape[start:end]
        if all(isinstance(d, int) for d in dims):
            return self.const(list(dims), DType.I64)
        return self.op("Shape", self.name(value), start=start, end=end)

    def reduce(self, op_type: str, x: str, axes: Sequence[int] | None, keepdims: bool) -> str:
        """A Reduce* node over `axes` (all axes when None or empty), in this opset's form."""
        keep = int(keepdims)
        if not axes:
            return self.op(op_type, x, keepdims=keep)
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, x, self.const(list(axes), DType.I64), keepdims=keep)
        return self.op(op_type, x, axes=list(axes), keepdims=keep)
