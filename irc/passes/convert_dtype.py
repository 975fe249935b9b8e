"""Run a float32 graph in float16 or bfloat16, keeping its float32 signature.

input %x : f32[4]                     input %x : f32[4]
param %w : f32[4] parameter           param %w : f16[4] parameter
%y = aten.mul.Tensor(%x, %w) : f32[4] -> %x_f16 = aten._to_copy(%x, dtype=torch.float16) : f16[4]
output %y                             %y_f16 = aten.mul.Tensor(%x_f16, %w) : f16[4]
                                      %y = aten._to_copy(%y_f16, dtype=torch.float32) : f32[4]
                                      output %y
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from irc.errors import PassError
from irc.ir.core import Graph, Node, Param, Value, map_args, map_leaves
from irc.ir.dtypes import DType
from irc.ir.types import TensorType
from irc.passes.base import Pass

TARGETS = {"float16": DType.F16, "bfloat16": DType.BF16}
"""The `dtype` option's values."""

ATOL = {"float16": 2e-2, "bfloat16": 1.6e-1}
"""Validation tolerance of an export converted to each dtype (`irc export --dtype`). Measured on
the real all-MiniLM-L6-v2 weights (hidden states up to about 6 in magnitude), the largest
difference from the float32 model was 7.7e-3 in float16 and 7.0e-2 in bfloat16: float16 keeps 10
mantissa bits (eps 9.8e-4), so a value of 6 rounds by up to 3e-3 at every step; bfloat16 keeps 7
(eps 7.8e-3, 8x coarser). The tolerances leave about 2.5x headroom over those figures, and
bfloat16's is float16's times 8."""

KEEP_FLOAT32 = ("mean", "sum", "var", "var_mean", "std", "pow", "cumsum", "logsumexp", "linalg_vector_norm")
"""Ops (by name, any overload) that stay in float32: reductions, whose float16 sums lose the
small terms, and `pow`, whose cube in GPT-2's GELU overflows float16 past |x| = 40."""


@dataclass(frozen=True)
class ConvertDtype(Pass):
    """Convert float32 params and values to `dtype`; the graph's float32 inputs and outputs stay
    float32, cast in after each input and out before each output.

    Params: data converted (lazy data stays lazy), tie labels kept, so a tied embedding / LM head
    is still one weight. Values: every float32 tensor type becomes `dtype`, and so does every
    `torch.float32` literal (`aten.to.dtype(%x, torch.float32)`, `aten.full(..., dtype=...)`).
    Integer, bool and float64 values are untouched.

    Numerics, chosen by running real models (tiny BERT / GPT-2, MiniLM) before and after:
    - Ops named in `keep_float32` (default: reductions and `pow`) read float32 (their float
      inputs are cast up) and give float32, cast down where a converted op reads them. Layer
      norm and softmax are left in `dtype`: torch's CPU kernels and ONNX's LayerNormalization
      (`stash_type=1`) already accumulate in float32. Measured on all-MiniLM-L6-v2: keeping them
      in float32 as well moved the worst difference from 7.70e-3 to 7.66e-3 at the price of 51
      more casts (which also break ONNX Runtime's SkipLayerNormalization fusion).
    - A finite float literal or constant beyond `dtype`'s range (HF's `finfo(float32).min` mask
      fill) would round to -inf (float16, and bfloat16 too: float32's max rounds up) and a fully
      masked row would then give NaN; it becomes half of `dtype`'s min (max), so a score added to
      it stays finite. Infinite literals (an explicit `-inf` fill) stay infinite, as in float32.
    """

    name = "convert-dtype"
    ensures = frozenset({"low-precision"})

    dtype: str = "float16"
    """Target element type: float16 or bfloat16."""
    keep_float32: tuple[str, ...] = KEEP_FLOAT32
    """Op names (`mean`, `aten.pow`; any overload) computed in float32."""

    def __post_init__(self) -> None:
        if self.dtype not in TARGETS:
            raise PassError(f"convert-dtype: dtype must be one of {', '.join(TARGETS)}, not {self.dtype!r}")

    def result_atol(self) -> float:
        return ATOL[self.dtype]

    @property
    def target(self) -> DType:
        return TARGETS[self.dtype]

    def keeps(self, node: Node) -> bool:
        packet = node.op.split(".")[1] if node.op.startswith("aten.") else node.op
        return (
            packet in self.keep_float32
            or node.op in self.keep_float32
            or f"aten.{packet}" in self.keep_float32
        )

    def run(self, graph: Graph) -> bool:
        if graph.metadata.get("dtype") is not None:
            return False  # converted already
        target, changed = self.target, False
        for param in graph.params.values():
            changed |= _convert_param(param, target)
        inputs = [v for v in graph.inputs if _is_f32(v) and v.uses()]
        outputs = [v for v in graph.outputs if _is_f32(v)]
        for node in graph.nodes:
            if self.keeps(node):
                continue
            node.set_args(*_retarget_literals((node.args, node.kwargs), target))
            for out in node.outputs:
                if _is_f32(out):
                    out.type = TensorType(target, out.tensor_type.shape)
                    changed = True
        casts: dict[tuple[Value, DType], Value] = {}
        for node in graph.nodes:
            _cast_inputs(graph, node, DType.F32 if self.keeps(node) else target, casts)
        for value in outputs:
            _cast_output(graph, value)
        if changed or inputs or outputs:
            graph.metadata["dtype"] = self.dtype
        return changed or bool(inputs or outputs)


def _is_f32(value: Value) -> bool:
    return isinstance(value.type, TensorType) and value.type.dtype is DType.F32


def _finite_limit(dtype: DType) -> float:
    import torch

    return float(torch.finfo(dtype.to_torch()).max)


def _convert_param(param: Param, target: DType) -> bool:
    if param.tensor_type.dtype is not DType.F32:
        return False
    param.type = TensorType(target, param.tensor_type.shape)
    if param.data is not None:
        param.data = (
            LazyCast(param.data, target) if hasattr(param.data, "load") else to_dtype(param.data, target)
        )
    return True


def to_dtype(tensor: Any, target: DType) -> Any:
    """`tensor` in `target`; finite values beyond its range become half its max (min), not inf."""
    import torch

    limit = _finite_limit(target)
    over = torch.isfinite(tensor) & (tensor.abs() > limit)
    if bool(over.any()):
        tensor = torch.where(over, tensor.sign() * (limit / 2), tensor)
    return tensor.to(target.to_torch())


class LazyCast:
    """A `LazyData` that converts `source`'s tensor to `target` when loaded."""

    def __init__(self, source: Any, target: DType) -> None:
        self.source, self.target = source, target

    def load(self) -> Any:
        return to_dtype(self.source.load(), self.target)

    def __repr__(self) -> str:
        return f"LazyCast({self.source!r}, {self.target})"


def _retarget_literals(args: Any, target: DType) -> Any:
    """`torch.float32` literals become `target`; finite floats beyond its range, half its limit."""
    import torch

    limit = _finite_limit(target)

    def retarget(leaf: Any) -> Any:
        if leaf is torch.float32:
            return target.to_torch()
        if isinstance(leaf, float) and abs(leaf) > limit and abs(leaf) != float("inf"):
            return limit / 2 if leaf > 0 else -limit / 2
        return leaf

    return map_leaves(args, retarget)


def _cast_inputs(graph: Graph, node: Node, want: DType, casts: dict[tuple[Value, DType], Value]) -> None:
    """Make `node` read its float inputs in `want`; one cast per value and dtype, shared."""

    def fix(value: Value) -> Value:
        if (
            not isinstance(value.type, TensorType)
            or value.type.dtype not in _TORCH
            or value.type.dtype is want
        ):
            return value
        if (value, want) not in casts:
            casts[value, want] = _cast(graph, value, want)
        return casts[value, want]

    if any(fix(v) is not v for v in node.inputs):
        node.set_args(map_args(node.args, fix), map_args(node.kwargs, fix))


def _cast(graph: Graph, value: Value, want: DType, base: str = "") -> Value:
    """A cast of `value` to `want`, placed right after its producer (first, for inputs and params)."""
    import torch

    out = graph.new_value(base or f"{value.name}_{want}", TensorType(want, value.tensor_type.shape))
    producer = value.producer
    meta: dict[str, Any] = {
        k: producer.meta[k] for k in ("module", "source") if producer is not None and k in producer.meta
    }
    node = Node("aten._to_copy", (value,), {"dtype": getattr(torch, _TORCH[want])}, [out], meta)
    if producer is None:
        graph.insert(0, node)
    else:
        graph.insert_after(producer, node)
    return out


_TORCH = {DType.F32: "float32", DType.F16: "float16", DType.BF16: "bfloat16"}


def _cast_output(graph: Graph, value: Value) -> None:
    """The output keeps its name and float32 type; the value computing it is renamed."""
    if value.producer is None or value.tensor_type.dtype is DType.F32:
        return
    name = value.name
    graph.rename(value, graph.unique_name(f"{name}_{value.tensor_type.dtype}"))
    out = _cast(graph, value, DType.F32, base=name)
    graph.replace_output(graph.outputs.index(value), out)
