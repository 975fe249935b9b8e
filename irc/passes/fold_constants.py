"""Constant folding: compute at compile time what depends on no input and no weight.

%n = aten.sym_size.int(%x, 1) : sym<i64: 8>; %r = aten.arange(%n) : i64[8]
->  param %r : i64[8] constant = dense<[0, 1, 2, 3, 4, 5, 6, 7]>
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from irc.errors import IRError, PassError
from irc.ir.core import Graph, Node, Param, Value, map_args
from irc.ir.ops import get_op
from irc.ir.types import ScalarType, TensorType
from irc.passes.base import Pass

_PROVENANCE = ("module", "source")

# Uninitialized memory has no value to fold.
_NEVER_FOLD = ("aten.empty", "aten.new_empty", "aten.empty_like", "aten.empty_strided")


@dataclass(frozen=True)
class FoldConstants(Pass):
    """Replace computations over constants by their results.

    Three folds, in one forward sweep so that each feeds the next:
    - `aten.sym_size.int(%x, i)` where dim i of %x is a static int becomes that int, written as
      a literal into every node that read it;
    - a `sym.*` op whose arguments are all literals becomes its literal result;
    - a pure node whose Value inputs are all constant params (or that has none, like
      `aten.arange(5)`), with static tensor outputs of at most `max_elements` elements, becomes
      one constant param per output, named like the output and carrying the node's provenance.
    Params of kind parameter or buffer are never folded over: that would copy the weights. A
    folded node is erased, and so is a constant param the folds left unused; other dead code is
    left to `dce`. Graph outputs are never replaced.
    """

    name = "fold-constants"

    max_elements: int = 65536
    """Largest folded tensor, in elements; a larger result stays computed at run time."""

    def __post_init__(self) -> None:
        if self.max_elements < 0:
            raise PassError(f"fold-constants: max_elements must be >= 0, not {self.max_elements}")

    def run(self, graph: Graph) -> bool:
        changed = False
        for node in graph.nodes:
            if any(out.is_graph_output() for out in node.outputs) or not get_op(node.op).pure:
                continue
            if _fold_scalar(graph, node) or self._fold_tensor(graph, node):
                changed = True
        return changed

    def _fold_tensor(self, graph: Graph, node: Node) -> bool:
        if not node.outputs or node.op.startswith(_NEVER_FOLD):
            return False
        if not all(_is_constant(v) for v in node.inputs):
            return False
        if not all(self._small_static(out) for out in node.outputs):
            return False
        results = _evaluate(node)
        inputs = set(node.inputs)
        meta = {key: node.meta[key] for key in _PROVENANCE if key in node.meta}
        params = [
            Param(out.name, out.tensor_type, "constant", data, meta=meta)
            for out, data in zip(node.outputs, results, strict=True)
        ]
        for out, param in zip(node.outputs, params, strict=True):
            graph.replace_all_uses(out, param)
        graph.erase(node)
        for param in params:
            graph.add_param(param)
        for value in inputs:
            if isinstance(value, Param) and not value.is_used():
                graph.remove_param(value)
        return True

    def _small_static(self, value: Value) -> bool:
        if not isinstance(value.type, TensorType):
            return False
        numel = 1
        for dim in value.type.shape:
            if not isinstance(dim, int):
                return False
            numel *= dim
        return numel <= self.max_elements


def _is_constant(value: Value) -> bool:
    return isinstance(value, Param) and value.kind == "constant" and value.data is not None


def _evaluate(node: Node) -> list[Any]:
    """The node's results as contiguous tensors of its declared types; IRError when they differ."""
    import torch

    def data(value: Value) -> Any:
        assert isinstance(value, Param)
        return value.tensor()

    try:
        with torch.no_grad():
            result = get_op(node.op).target(*map_args(node.args, data), **map_args(node.kwargs, data))
    except Exception as exc:  # any torch error: the user needs the node, not the torch stack
        raise IRError(f"{node.op} at {node.provenance} failed on its constant inputs: {exc}") from exc
    # A list-returning op (unbind) with one output still returns a list.
    single = len(node.outputs) == 1 and isinstance(result, torch.Tensor)
    results = [result] if single else list(result)[: len(node.outputs)]
    if len(results) < len(node.outputs):
        raise IRError(
            f"{node.op} at {node.provenance} returned {len(results)} of {len(node.outputs)} results"
        )
    for out, tensor in zip(node.outputs, results, strict=True):
        _check_result(node, out, tensor)
    # Views would share storage with the params they came from.
    return [t.clone(memory_format=torch.contiguous_format) for t in results]


def _check_result(node: Node, out: Value, tensor: Any) -> None:
    import torch

    expected = out.tensor_type
    where = f"{node.op} at {node.provenance}"
    if not isinstance(tensor, torch.Tensor) or tensor.dtype != expected.dtype.to_torch():
        got = f"a {type(tensor).__name__} of {getattr(tensor, 'dtype', 'no dtype')}"
        raise IRError(f"{where} computed {got} for %{out.name}, declared {expected}")
    if tuple(tensor.shape) != expected.shape:
        raise IRError(f"{where} computed shape {list(tensor.shape)} for %{out.name}, declared {expected}")


def _fold_scalar(graph: Graph, node: Node) -> bool:
    if len(node.outputs) != 1 or not isinstance(node.output.type, ScalarType):
        return False
    value = _scalar_value(node)
    if value is None:
        return False
    _replace_with_literal(node.output, value)
    graph.erase(node)
    return True


def _scalar_value(node: Node) -> int | float | bool | None:
    if node.op == "aten.sym_size.int":
        return _static_size(node)
    if not node.op.startswith("sym.") or node.inputs:
        return None
    try:
        result = get_op(node.op).target(*node.args, **node.kwargs)
    except ArithmeticError:
        return None  # fails at run time too; the node stays for that error to surface there
    return result if isinstance(result, (int, float, bool)) else None


def _static_size(node: Node) -> int | None:
    tensor, dim = (*node.args, None)[:2]
    if not isinstance(tensor, Value) or not isinstance(tensor.type, TensorType) or not isinstance(dim, int):
        return None
    shape = tensor.type.shape
    if not -len(shape) <= dim < len(shape):
        return None
    size = shape[dim]
    return size if isinstance(size, int) else None


def _replace_with_literal(value: Value, literal: int | float | bool) -> None:
    def swap(arg: Value) -> Any:
        return literal if arg is value else arg

    for user in dict.fromkeys(value.uses()):
        user.set_args(map_args(user.args, swap), map_args(user.kwargs, swap))
