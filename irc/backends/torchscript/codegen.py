"""Emission state shared by all emitters: Python names for IR values and literal formatting.

Emitters return one expression of TorchScript-compatible Python; they never write statements.
Names: each IR value becomes a local whose name is the IR name made an identifier
(`present.0.key` -> `present_0_key`), with `_1`, `_2`... when two IR names meet, and a trailing
`_` for Python keywords and builtins. Symbolic scalars are Python ints, floats and bools at run
time (`x.size(0)`), so a size list that mixes ints and symbolic sizes is a plain `List[int]`.

Calls go through the op's overload packet (`torch.ops.aten.add(...)`): TorchScript cannot
script an explicit overload (`torch.ops.aten.add.Tensor` fails with "attribute lookup is not
defined on builtin"), and picks the overload from the argument types, as eager PyTorch does.
"""

from __future__ import annotations

import builtins
import json
import keyword
import math
import re
from typing import Any

from irc.errors import LoweringError
from irc.ir.core import Node, Value
from irc.ir.dtypes import DType
from irc.ir.ops import get_op
from irc.ir.printer import format_float
from irc.ir.types import ScalarType, TensorType

RESERVED = frozenset(dir(builtins)) | {"self", "torch", "Tensor", "List", "Optional", "Dict", "Params"}
"""Names the generated code uses itself: a local with one of these names would shadow it."""

_NOT_IDENTIFIER = re.compile(r"\W")


def identifier(name: str) -> str:
    """`name` made a Python identifier that shadows nothing the generated code uses."""
    text = _NOT_IDENTIFIER.sub("_", name) or "_"
    if text[0].isdigit():
        text = "v_" + text
    if keyword.iskeyword(text) or text in RESERVED:
        text += "_"
    return text


class Codegen:
    """Locals for IR values, and the text of literals and calls for emitters.

    >>> g.call(node)            # 'torch.ops.aten.view(x, [-1, sym_size_int_13])'
    >>> g.arg(float("-inf"))    # 'float("-inf")'
    """

    def __init__(self) -> None:
        self.names: dict[Value, str] = {}
        self._taken: set[str] = set(RESERVED)

    def bind(self, value: Value, base: str | None = None) -> str:
        """Give `value` a fresh local name (from its IR name unless `base` is given)."""
        text = identifier(base or value.name)
        name, i = text, 1
        while name in self._taken:
            name, i = f"{text}_{i}", i + 1
        self._taken.add(name)
        self.names[value] = name
        return name

    def name(self, value: Value) -> str:
        """The local holding `value`; a LoweringError if no statement has defined it yet."""
        found = self.names.get(value)
        if found is None:
            raise LoweringError(f"%{value.name} is used before the generated code defines it")
        return found

    # -- literals -------------------------------------------------------------------------
    def arg(self, value: Any, schema_type: str = "") -> str:
        """The text of one argument; `schema_type` is the op schema's type for it (`List[int]`,
        `float`, `number`, ...) when known, used to write ints as floats where a float is
        required and to type lists TorchScript cannot infer (empty ones, ones holding None)."""
        if isinstance(value, Value):
            return self.name(value)
        if isinstance(value, (list, tuple)):
            return self._list(list(value), schema_type)
        if isinstance(value, float):
            return _float(value)
        if isinstance(value, int) and not isinstance(value, bool) and _strip_optional(schema_type) == "float":
            return _float(float(value))
        return literal(value)

    def _list(self, items: list[Any], schema_type: str) -> str:
        element = _element_type(schema_type)
        text = "[" + ", ".join(self.arg(item, element) for item in items) + "]"
        if element and (not items or "Optional" in element):
            return f"torch.jit.annotate(List[{element}], {text})"
        return text

    # -- calls ----------------------------------------------------------------------------
    def call(self, node: Node, *, packet: str | None = None) -> str:
        """`torch.ops.<ns>.<packet>(args, key=value)` for an ATen node, its arguments typed by
        the schema of the node's overload. A bool literal where the schema takes a number or a
        tensor becomes an int in TorchScript (1, not True), which can change the result's dtype
        (`bool & True` gives int64): the call is then cast to the dtype the IR says it has."""
        namespace, op_packet = node.op.split(".")[:2]
        types = schema_types(node.op)
        texts = [self.arg(a, types.get(i, "")) for i, a in enumerate(node.args)]
        texts += [f"{k}={self.arg(v, types.get(k, ''))}" for k, v in node.kwargs.items()]
        text = f"torch.ops.{namespace}.{packet or op_packet}({', '.join(texts)})"
        if _bool_as_number(node, types) and len(node.outputs) == 1:
            text += f".to({dtype_literal(out_dtype(node))})"
        return text


def schema_types(op: str) -> dict[int | str, str]:
    """Schema type text by argument position and by name, for an ATen op; empty for others."""
    schema = getattr(get_op(op).target, "_schema", None)
    if schema is None:
        return {}
    types: dict[int | str, str] = {}
    for i, argument in enumerate(schema.arguments):
        types[i] = types[argument.name] = str(argument.type)
    return types


def _bool_as_number(node: Node, types: dict[int | str, str]) -> bool:
    slots = [(types.get(i, ""), a) for i, a in enumerate(node.args)]
    slots += [(types.get(k, ""), v) for k, v in node.kwargs.items()]
    return any(isinstance(a, bool) and _strip_optional(t) in ("number", "Tensor") for t, a in slots)


def _strip_optional(schema_type: str) -> str:
    if schema_type.startswith("Optional[") and schema_type.endswith("]"):
        return schema_type[len("Optional[") : -1]
    return schema_type


def _element_type(schema_type: str) -> str:
    inner = _strip_optional(schema_type)
    if inner.startswith("List[") and inner.endswith("]"):
        return inner[len("List[") : -1]
    return ""


def _float(value: float) -> str:
    text = format_float(value)
    return text if math.isfinite(value) else f'float("{text}")'


def literal(value: Any) -> str:
    """The Python text of a non-Value literal: None, bools, ints, floats (inf/nan), strings, and
    torch dtypes, layouts, memory formats and devices."""
    if value is None or isinstance(value, (bool, int)):
        return repr(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return json.dumps(value)
    return _torch_literal(value)


def _torch_literal(value: Any) -> str:
    import torch

    if isinstance(value, torch.device):
        return f"torch.device({json.dumps(str(value))})"
    if isinstance(value, (torch.dtype, torch.layout, torch.memory_format)):
        return str(value)  # torch.float32, torch.strided, torch.contiguous_format
    raise LoweringError(f"the TorchScript backend has no literal for {value!r} ({type(value).__name__})")


def dtype_literal(dtype: DType) -> str:
    return str(dtype.to_torch())


def out_dtype(node: Node, index: int = 0) -> DType:
    return node.outputs[index].type.dtype


def python_type(value: Value) -> str:
    """The TorchScript annotation of a value: `Tensor`, or `int`/`float`/`bool` for a scalar."""
    if isinstance(value.type, TensorType):
        return "Tensor"
    assert isinstance(value.type, ScalarType)
    if value.type.dtype is DType.BOOL:
        return "bool"
    return "float" if value.type.dtype.is_floating else "int"
