"""IR Graph -> onnx.ModelProto: params to initializers, then one emitter call per node.

The ModelProto is a skeleton: its initializers are listed apart as `Weight`s that still point at
the params' tensors, and `save` streams their bytes into the file (see `writer`).

Graph inputs and outputs keep their IR names; symbolic dims become `dim_param`s with the dim's
text (`batch`, `past_sequence + sequence`). Params of one tie group become one initializer that
every member reads; params nothing reads are not written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx
from onnx import helper

from irc.backends.emitters import call, one_line
from irc.backends.onnx.builder import MS_DOMAIN, ONNX_DTYPES, Builder, OpsetError
from irc.backends.onnx.registry import TABLE, Emitter, lowerings
from irc.backends.onnx.writer import Weight, nbytes, write
from irc.errors import BackendError, LoweringError, ParseError
from irc.ir.core import Graph, Node, Param, Value
from irc.ir.dims import format_dim
from irc.ir.types import TensorType


def translate(graph: Graph, opset: int, ort_fusions: bool = False) -> tuple[onnx.ModelProto, list[Weight]]:
    """The ONNX model computing what `graph` computes (default ONNX domain at `opset`, and
    com.microsoft when `ort_fusions` lets the fused `irc.*` ops lower), without its initializers,
    and those initializers (written by `save`)."""
    builder = Builder(opset, {v.name for v in graph.values()})
    builder.ort_ops = ort_fusions
    weights = _initializers(graph, builder)
    for value in graph.inputs:
        builder.env[value] = value.name
    table = lowerings()
    for node in graph.nodes:
        _lower_node(builder, table, node)
    for value in graph.outputs:
        name = builder.name(value)
        if name != value.name:
            builder.nodes.append(helper.make_node("Identity", [name], [value.name]))
    onnx_graph = helper.make_graph(
        builder.nodes,
        graph.name,
        [_value_info(v) for v in graph.inputs],
        [_value_info(v) for v in graph.outputs],
        value_info=_intermediate_types(graph, builder),
    )
    imports = [helper.make_opsetid("", opset)]
    if any(n.domain == MS_DOMAIN for n in builder.nodes):
        imports.append(helper.make_opsetid(MS_DOMAIN, 1))
    model = helper.make_model(onnx_graph, opset_imports=imports, producer_name="irc")
    # onnx's table knows only its own domains; com.microsoft needs nothing newer than the default.
    model.ir_version = helper.find_min_ir_version_for([imports[0]])
    helper.set_model_props(model, {k: str(v) for k, v in graph.metadata.items() if isinstance(v, (str, int))})
    return model, weights


def _lower_node(builder: Builder, table: dict[str, Emitter], node: Node) -> None:
    emitter = TABLE.find(node, table)
    builder.begin(node)
    try:
        with TABLE.blame(node, keep=(OpsetError,)):
            builder.finish(node, call(emitter, builder, node))
    except OpsetError as exc:
        raise LoweringError(
            f"{node.op} needs opset >= {exc.needed}: its ONNX form {exc.op_type} first appears there, "
            f"and this export asked for opset {builder.opset}. Pass --opset {exc.needed} or later "
            f"(used by %{node.outputs[0].name if node.outputs else '?'} at {node.provenance})."
        ) from exc


def _initializers(graph: Graph, builder: Builder) -> list[Weight]:
    """One initializer per used param, or per tie group with a used member. The tensors are the
    params' own (no copy); lazy params are read here, one reference each.

    A weight that only `aten.linear` reads is stored transposed, as `<name>.T` ([in, out]), so
    that ONNX Runtime multiplies by it as it is (MatMul, whose shapes it propagates and fuses
    with the bias and the next residual add); the transposed copy is made one weight at a time
    as it is written."""
    weights: list[Weight] = []
    by_group: dict[str, str] = {}
    for param in graph.params.values():
        if not param.is_used():
            continue
        key = param.tie_group or param.name
        if key not in by_group:
            by_group[key] = _initializer_name(graph, param)
            ttype = param.tensor_type
            dims = tuple(int(d) for d in ttype.shape)
            tensor = param.tensor()
            if param.tie_group is None and _only_linear_weight(param):
                by_group[key] += ".T"
                dims, tensor = dims[::-1], tensor.t()
                builder.transposed.add(by_group[key])
            weights.append(Weight(by_group[key], ONNX_DTYPES[ttype.dtype], dims, tensor))
        builder.env[param] = by_group[key]
    return weights


def _only_linear_weight(param: Param) -> bool:
    if param.tensor_type.rank != 2:
        return False
    return all(n.op == "aten.linear" and len(n.args) > 1 and n.args[1] is param for n in param.uses())


def _initializer_name(graph: Graph, param: Param) -> str:
    """A tie group is stored under its label when the label names a member, so the name does not
    depend on which members the graph happens to use."""
    label = param.tie_group
    if label is not None and graph.params.get(label) is not None and graph.params[label].tie_group == label:
        return label
    return param.name


def _intermediate_types(graph: Graph, builder: Builder) -> list[onnx.ValueInfoProto]:
    """The IR's type of every tensor a node computes, symbolic dims named: ONNX shape inference
    loses dims behind computed shapes (`Reshape(x, Concat(Shape(...)))`), and ONNX Runtime fuses
    a residual add into SkipLayerNormalization only when it knows both sides' shapes agree."""
    infos = []
    for node in graph.nodes:
        for value in node.outputs:
            if not isinstance(value.type, TensorType) or value.is_graph_output():
                continue
            if builder.env.get(value) == value.name:
                infos.append(_value_info(value, named_only=True))
    return infos


def _value_info(value: Value, named_only: bool = False) -> onnx.ValueInfoProto:
    """`named_only`: a dim with no text form (`PythonMod(-sequence, 3)`) is left unnamed."""
    if not isinstance(value.type, TensorType):
        return helper.make_tensor_value_info(value.name, ONNX_DTYPES[value.type.dtype], [])
    dims = [d if isinstance(d, int) else _dim_text(d, named_only) for d in value.type.shape]
    return helper.make_tensor_value_info(value.name, ONNX_DTYPES[value.type.dtype], dims)


def _dim_text(dim: Any, named_only: bool) -> str | None:
    if not named_only:
        return format_dim(dim)
    try:
        return format_dim(dim)
    except ParseError:
        return None


def weight_bytes(weights: list[Weight]) -> int:
    return sum(nbytes(w.tensor) for w in weights)


def save(
    model: onnx.ModelProto, weights: list[Weight], out_dir: Path, external: bool, name: str = "model"
) -> Path:
    """Check the skeleton with `onnx.checker`, then write `{name}.onnx` (and `{name}.onnx_data`
    when `external`) into `out_dir`, streaming each weight once."""
    from irc.backends.onnx.writer import checkable

    path = out_dir / f"{name}.onnx"
    try:
        onnx.checker.check_model(checkable(model, weights), full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise BackendError(
            f"the ONNX model for {path} fails onnx.checker: {one_line(exc)}. This is a bug in irc's "
            "ONNX backend; please report it with the model type and task."
        ) from exc
    write(model, weights, path, external)
    return path
