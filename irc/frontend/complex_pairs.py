"""Complex tensors rewritten as pairs of reals, right after the trace.

ONNX has no complex element type, so a `c64[..., n]` value becomes an `f32[..., n, 2]` value
holding (real, imaginary) in its last dim, which is the layout `view_as_real` gives, so
`view_as_complex` and `view_as_real` become the identity and only the arithmetic needs a formula:

    %z = aten.view_as_complex(%x)           -> %x
    %p = aten.polar(%r, %t)                 -> stack([r * cos(t), r * sin(t)], -1)
    %w = aten.mul.Tensor(%z, %u)            -> stack([zr*ur - zi*ui, zr*ui + zi*ur], -1)
    %y = aten.view_as_real(%w)              -> %w

Ops that only move elements (views, slices, unsqueeze, expand, transpose, copies) keep their
op, with dims counted from the end shifted past the pair dim. Llama 4's rotary embedding is the
case this exists for. Every other op on a complex value is refused with its name and provenance:
a pair that some op read as a plain real tensor would be silently wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from irc.errors import TraceError
from irc.ir.core import Graph, Node, Value
from irc.ir.dtypes import DType
from irc.ir.ops import schema_arg_names
from irc.ir.types import TensorType

Pairs = dict[Value, Value]
"""Each complex value of the traced graph -> the real-pair value that replaces it."""


def is_complex(arg: Any) -> bool:
    return isinstance(arg, Value) and isinstance(arg.type, TensorType) and arg.type.dtype == DType.C64


def rewrite_complex(graph: Graph) -> bool:
    """Replace every complex value of `graph` by its real pair; True if the graph had any."""
    pairs: Pairs = {}
    rewritten: list[Node] = []
    for node in list(graph.nodes):
        if not any(is_complex(v) for v in (*node.inputs, *node.outputs)):
            continue
        rule = _RULES.get(node.op)
        if rule is None:
            raise TraceError(_refusal(node))
        result = rule(_Site(graph, node, pairs))
        out = node.output
        if is_complex(out):
            pairs[out] = result
        else:
            graph.replace_all_uses(out, result, before=node, meta=_provenance(node))
        rewritten.append(node)
    for node in reversed(rewritten):
        graph.erase(node)
    return bool(rewritten)


def _refusal(node: Node) -> str:
    known = ", ".join(sorted(_RULES))
    return (
        f"{node.op} at {node.provenance} works on complex numbers, which ONNX has no type for; irc "
        f"rewrites complex tensors as pairs of reals and knows how for {known}, not for {node.op}. "
        "Report the model type so the rule can be added."
    )


def _provenance(node: Node) -> dict[str, Any]:
    return {k: node.meta[k] for k in ("module", "source") if k in node.meta}


class _Site:
    """One complex node being rewritten: reads its arguments (complex ones as their pairs) and
    emits real nodes before it, with its provenance."""

    def __init__(self, graph: Graph, node: Node, pairs: Pairs) -> None:
        self.graph = graph
        self.node = node
        self.pairs = pairs
        names = schema_arg_names(node.op) or []
        self.bound = dict(zip(names, node.args, strict=False)) | dict(node.kwargs)

    def arg(self, name: str, default: Any = None) -> Any:
        value = self.bound.get(name, default)
        return self.pairs.get(value, value) if isinstance(value, Value) else value

    def complex_arg(self, name: str) -> Value:
        value = self.bound[name]
        if not is_complex(value):
            raise TraceError(f"{self.node.op} at {self.node.provenance}: `{name}` is not complex")
        return self.pairs[value]

    def emit(self, op: str, args: Sequence[Any], shape: Sequence[Any], **kwargs: Any) -> Value:
        base = self.node.outputs[0].name
        out = self.graph.new_value(f"{base}_pair", TensorType(DType.F32, tuple(shape)))
        node = Node(op, tuple(args), kwargs, [out], _provenance(self.node))
        self.graph.insert_before(self.node, node)
        return out

    def pair_shape(self) -> tuple[Any, ...]:
        """The shape of the node's complex output with the trailing pair dim."""
        return (*self.node.output.tensor_type.shape, 2)

    def rank(self, name: str) -> int:
        """The complex rank of argument `name` (its pair has one dim more)."""
        return self.bound[name].tensor_type.rank

    def part(self, pair: Value, index: int) -> Value:
        shape = pair.tensor_type.shape[:-1]
        return self.emit("aten.select.int", (pair, -1, index), shape)

    def stack(self, real: Value, imag: Value) -> Value:
        return self.emit("aten.stack", ([real, imag], -1), self.pair_shape())


def _shifted(dim: int) -> int:
    """A dim of a complex tensor as a dim of its pair: counted from the end, it moves past the
    pair dim; counted from the start, it stays."""
    return dim - 1 if dim < 0 else dim


def _same_op(site: _Site, dim_args: tuple[str, ...] = (), size_arg: str | None = None) -> Value:
    """The node's own op on the pair of its complex input, dims shifted and sizes extended."""
    node = site.node
    names = schema_arg_names(node.op) or []
    args = [site.arg(n) for n in names[: len(node.args)]]
    kwargs = {k: site.arg(k) for k in node.kwargs if k != "memory_format"}
    for name in dim_args:
        if name in names[: len(args)]:
            args[names.index(name)] = _shifted(args[names.index(name)])
        elif name in kwargs:
            kwargs[name] = _shifted(kwargs[name])
    if size_arg is not None:
        args[names.index(size_arg)] = [*args[names.index(size_arg)], 2]
    return site.emit(node.op, args, site.pair_shape(), **kwargs)


def _identity(site: _Site) -> Value:
    return site.complex_arg("self")


def _view_as_complex(site: _Site) -> Value:
    return site.arg("self")


def _polar(site: _Site) -> Value:
    radius, angle = site.arg("abs"), site.arg("angle")
    shape = site.node.output.tensor_type.shape
    cos = site.emit("aten.cos", (angle,), angle.tensor_type.shape)
    sin = site.emit("aten.sin", (angle,), angle.tensor_type.shape)
    real = site.emit("aten.mul.Tensor", (radius, cos), shape)
    imag = site.emit("aten.mul.Tensor", (radius, sin), shape)
    return site.stack(real, imag)


def _mul(site: _Site) -> Value:
    """Complex times complex by the formula; times a real tensor or number, each part scaled."""
    a, b = site.bound["self"], site.bound["other"]
    if not is_complex(a):
        a, b = b, a
    pa = site.pairs[a]
    if isinstance(b, complex):
        raise TraceError(f"{site.node.op} at {site.node.provenance}: a complex literal factor {b}")
    if not is_complex(b):
        scale = site.emit("aten.unsqueeze", (b, -1), (*b.tensor_type.shape, 1)) if isinstance(b, Value) else b
        return site.emit("aten.mul.Tensor", (pa, scale), site.pair_shape())
    pb = site.pairs[b]
    ar, ai, br, bi = site.part(pa, 0), site.part(pa, 1), site.part(pb, 0), site.part(pb, 1)
    shape = site.node.output.tensor_type.shape
    rr, ii = site.emit("aten.mul.Tensor", (ar, br), shape), site.emit("aten.mul.Tensor", (ai, bi), shape)
    ri, ir = site.emit("aten.mul.Tensor", (ar, bi), shape), site.emit("aten.mul.Tensor", (ai, br), shape)
    real = site.emit("aten.sub.Tensor", (rr, ii), shape)
    imag = site.emit("aten.add.Tensor", (ri, ir), shape)
    return site.stack(real, imag)


def _add_or_sub(site: _Site) -> Value:
    """Complex plus or minus complex, pairwise; a real operand would add to the real part only,
    which no traced model has needed yet."""
    a, b = site.bound["self"], site.bound["other"]
    if not (is_complex(a) and is_complex(b)):
        raise TraceError(_refusal(site.node).replace("knows how", "knows how (both operands complex)"))
    alpha = site.bound.get("alpha", 1)
    kwargs = {} if alpha == 1 else {"alpha": alpha}
    return site.emit(site.node.op, (site.pairs[a], site.pairs[b]), site.pair_shape(), **kwargs)


def _permute(site: _Site) -> Value:
    rank = site.rank("self")
    dims = [d % rank for d in site.arg("dims")]
    return site.emit("aten.permute", (site.complex_arg("self"), [*dims, rank]), site.pair_shape())


Rule = Callable[[_Site], Value]

_RULES: dict[str, Rule] = {
    "aten.view_as_complex": _view_as_complex,
    "aten.view_as_real": _identity,
    "aten.polar": _polar,
    "aten.mul.Tensor": _mul,
    "aten.mul.Scalar": _mul,
    "aten.add.Tensor": _add_or_sub,
    "aten.sub.Tensor": _add_or_sub,
    "aten.permute": _permute,
    "aten.clone": _identity,
    "aten.contiguous": _identity,
    "aten.alias": _identity,
    "aten.detach": _identity,
    "aten.lift_fresh_copy": _identity,
    "aten.unsqueeze": lambda site: _same_op(site, ("dim",)),
    "aten.slice.Tensor": lambda site: _same_op(site, ("dim",)),
    "aten.select.int": lambda site: _same_op(site, ("dim",)),
    "aten.transpose.int": lambda site: _same_op(site, ("dim0", "dim1")),
    "aten.expand": lambda site: _same_op(site, size_arg="size"),
    "aten.view": lambda site: _same_op(site, size_arg="size"),
    "aten._unsafe_view": lambda site: _same_op(site, size_arg="size"),
    "aten.reshape": lambda site: _same_op(site, size_arg="shape"),
}

# torch.fft's transforms and the parts of their results (frontend/complex_fft.py).
from irc.frontend.complex_fft import FFT_RULES  # noqa: E402

_RULES.update(FFT_RULES)
