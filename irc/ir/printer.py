"""The IR's text form: one generic syntax that `irc.ir.parser.parse_graph` reads back exactly.

    graph @gpt2 {
      metadata {model_type = "gpt2", task = "causal-lm"}
      input %input_ids : i64[batch, sequence]
      param %wte.weight : f32[99, 32] parameter tie "wte.weight"
      param %c : f32[2] constant = dense<[1.0, 2.5]> loc("h.0.attn")
      %emb = aten.embedding(%wte.weight, %input_ids) : f32[batch, sequence, 32] loc("wte")
      %a, %b = aten.split.Tensor(%emb, 16, 2) : f32[batch, sequence, 16], f32[batch, sequence, 16]
      aten._assert_async.msg(%flag, "message") : ()
      output %a, %b
    }

Value names print bare when they match `[A-Za-z0-9_.]+`, JSON-quoted otherwise. Literals are
ints, floats (Python `repr`, plus `inf`/`-inf`/`nan`), `true`/`false`/`none`, JSON strings, lists
(tuples print as lists), `torch.<dtype|layout|memory_format>` and `device("cpu")`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from irc.errors import IRError
from irc.ir.core import Graph, Node, Param, Value
from irc.ir.types import Type

DENSE_LIMIT = 64
"""Constants with at most this many elements print their data; larger ones print none."""

BARE_NAME = re.compile(r"[A-Za-z0-9_.]+")
BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

TORCH_DTYPES = frozenset(
    {
        "float64", "float32", "float16", "bfloat16", "complex32", "complex64", "complex128",
        "int64", "int32", "int16", "int8", "uint8", "uint16", "uint32", "uint64", "bool",
        "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu",
        "qint8", "quint8", "qint32", "quint4x2", "quint2x4",
    }
)  # fmt: skip
"""`torch.<name>` dtypes the text form knows; the parser resolves no other torch attribute."""
TORCH_LAYOUTS = frozenset(
    {"strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc", "_mkldnn", "jagged"}
)
TORCH_MEMORY_FORMATS = frozenset(
    {"contiguous_format", "preserve_format", "channels_last", "channels_last_3d"}
)
TORCH_NAMES = TORCH_DTYPES | TORCH_LAYOUTS | TORCH_MEMORY_FORMATS


def print_graph(graph: Graph, *, locs: bool = True) -> str:
    """The text of `graph`, ending in a newline. With `locs=False`, node provenance is left out."""
    lines = [f"graph @{format_name(graph.name)} {{"]
    if graph.metadata:
        lines.append(f"  metadata {format_dict(graph.metadata)}")
    for value in graph.inputs:
        lines.append(f"  input %{format_name(value.name)} : {format_type(value.type)}")
    for param in graph.params.values():
        lines.append(f"  {format_param(param, locs=locs)}")
    for node in graph.nodes:
        lines.append(f"  {format_node(node, locs=locs)}")
    lines.append(f"  output {', '.join(format_value(v) for v in graph.outputs)}".rstrip())
    lines.append("}")
    return "\n".join(lines) + "\n"


def format_name(name: str) -> str:
    return name if BARE_NAME.fullmatch(name) else json.dumps(name)


def format_value(value: Value) -> str:
    return f"%{format_name(value.name)}"


def format_type(type: Type) -> str:
    return str(type)


def format_param(param: Param, *, locs: bool = True) -> str:
    text = f"param %{format_name(param.name)} : {format_type(param.type)} {param.kind}"
    if param.tie_group is not None:
        text += f" tie {json.dumps(param.tie_group)}"
    dense = _dense(param)
    if dense is not None:
        text += f" = dense<{dense}>"
    meta = getattr(param, "meta", None) or {}
    if locs and "module" in meta:
        text += " " + format_loc(meta)
    return text


def _dense(param: Param) -> str | None:
    if param.kind != "constant" or param.data is None or hasattr(param.data, "load"):
        return None
    import torch

    data = param.data
    # Fake and functional tensor subclasses carry no values; complex numbers have no literal.
    if type(data) not in (torch.Tensor, torch.nn.Parameter) or data.is_meta or data.is_complex():
        return None
    if data.numel() > DENSE_LIMIT:
        return None
    return format_literal(data.detach().cpu().tolist())


def format_node(node: Node, *, locs: bool = True) -> str:
    args = [format_literal(a) for a in node.args]
    args += [f"{key}={format_literal(value)}" for key, value in node.kwargs.items()]
    call = f"{node.op}({', '.join(args)})"
    if node.outputs:
        outs = ", ".join(format_value(v) for v in node.outputs)
        types = ", ".join(format_type(v.type) for v in node.outputs)
        text = f"{outs} = {call} : {types}"
    else:
        text = f"{call} : ()"
    if locs and "module" in node.meta:
        text += " " + format_loc(node.meta)
    return text


def format_loc(meta: dict[str, Any]) -> str:
    parts = [json.dumps(str(meta["module"]))]
    if meta.get("source") is not None:
        parts.append(json.dumps(str(meta["source"])))
    return f"loc({', '.join(parts)})"


def format_dict(items: dict[str, Any]) -> str:
    entries = [f"{_format_key(key)} = {format_literal(value)}" for key, value in items.items()]
    return "{" + ", ".join(entries) + "}"


def _format_key(key: Any) -> str:
    if not isinstance(key, str):
        raise IRError(f"metadata key {key!r} is not a string")
    return key if BARE_KEY.fullmatch(key) else json.dumps(key)


def format_literal(value: Any) -> str:
    """The text of one argument, metadata value or dense element; raises IRError for a value
    the text form cannot hold."""
    if isinstance(value, Value):
        return format_value(value)
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return format_dict(value)
    return _format_torch_literal(value)


def format_float(value: float) -> str:
    """`repr` of the float, and `nan`, `inf`, `-inf` for the values Python's repr has no literal for."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(float(value))


def _format_torch_literal(value: Any) -> str:
    import torch

    if isinstance(value, torch.device):
        return f"device({json.dumps(str(value))})"
    if isinstance(value, (torch.dtype, torch.layout, torch.memory_format)):
        text = str(value)
        if text.removeprefix("torch.") in TORCH_NAMES:
            return text
    raise IRError(f"the IR text form has no literal for {value!r} ({type(value).__name__})")
