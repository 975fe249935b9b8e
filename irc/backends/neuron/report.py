"""The operator report: every op of each static graph against the Neuron SDK's documented list.

    >>> sdk = load_list("inf2")
    >>> entries = check_graph(graph, sdk)          # one OpEntry per op of the graph, in order
    >>> [e.op for e in entries if not e.supported]

torch-neuron (Inf1) compiles TorchScript graphs, so an op is looked up by its own name
(`aten.linear` -> `aten::linear`). torch-neuronx (Inf2, Trn1) documents ops as they reach the
device, after PyTorch's dispatcher has decomposed composite ops; an op it does not list is
looked up by the ops it dispatches to, found by running it once on meta tensors of the node's
(static) input types.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from irc.errors import BackendError
from irc.ir.core import Graph, Node, Value, map_args
from irc.ir.types import ScalarType, TensorType

DATA_FILE = Path(__file__).with_name("supported_ops.json")
TARGETS = {"inf1": "torch-neuron", "inf2": "torch-neuronx", "trn1": "torch-neuronx"}
"""`--target` -> the SDK package that compiles for it (and whose list applies)."""

# IR ops that are no device op: size arithmetic is constant once shapes are static (pad-static,
# then fold-constants), and irc.identity only names an output.
_HOST_OPS = {"aten.sym_size.int": "aten::size", "aten.sym_numel": "aten::numel"}


@dataclass(frozen=True)
class SdkList:
    """One package's documented list, with where it came from."""

    package: str
    sdk_version: str
    url: str
    unsupported_means: str
    operators: frozenset[str]
    limited: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.package} list, {self.sdk_version}"


@dataclass
class OpEntry:
    """One op of one graph: how many nodes use it, whether the SDK list covers it, why, where."""

    op: str
    sdk_name: str
    count: int
    supported: bool
    reason: str
    provenance: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "sdk_name": self.sdk_name,
            "count": self.count,
            "supported": self.supported,
            "reason": self.reason,
            "provenance": self.provenance,
        }


def load_list(target: str) -> SdkList:
    """The documented list of the SDK package that compiles for `target`."""
    package = TARGETS.get(target)
    if package is None:
        raise BackendError(f"unknown Neuron target {target!r}; choose one of: {', '.join(TARGETS)}.")
    raw = _data()["lists"][package]
    return SdkList(
        package,
        raw["sdk_version"],
        raw["url"],
        raw["unsupported_means"],
        frozenset(raw["operators"]),
        dict(raw.get("limited") or {}),
    )


@cache
def _data() -> dict[str, Any]:
    return dict(json.loads(DATA_FILE.read_text()))


def sdk_name(op: str) -> str:
    """`aten.add.Tensor` -> `aten::add`, the name the SDK's lists use."""
    if op in _HOST_OPS:
        return _HOST_OPS[op]
    namespace, _, rest = op.partition(".")
    return f"{namespace}::{rest.split('.')[0]}"


def check_graph(graph: Graph, sdk: SdkList) -> list[OpEntry]:
    """One entry per distinct op of `graph`, in order of first use, with every node's provenance."""
    nodes: dict[str, list[Node]] = {}
    for node in graph.nodes:
        nodes.setdefault(node.op, []).append(node)
    entries = []
    for op, users in nodes.items():
        supported, reason = _check_op(op, users[0], sdk)
        places = list(dict.fromkeys(n.provenance for n in users))
        entries.append(OpEntry(op, sdk_name(op), len(users), supported, reason, places))
    return entries


def _check_op(op: str, node: Node, sdk: SdkList) -> tuple[bool, str]:
    name = sdk_name(op)
    if op.startswith("sym.") or op in _HOST_OPS:
        return True, "integer size arithmetic, constant once shapes are static: no device op"
    if op == "irc.identity":
        return True, "names an output that is also an input: no device op"
    if name in sdk.limited:
        return True, f"listed with limited support as {name}: {sdk.limited[name]}"
    if name in sdk.operators:
        return True, f"listed as {name}"
    if sdk.package != "torch-neuronx":
        return False, f"{name} is not in the list: {sdk.unsupported_means}"
    return _check_dispatched(name, node, sdk)


def _check_dispatched(name: str, node: Node, sdk: SdkList) -> tuple[bool, str]:
    try:
        dispatched = dispatched_ops(node)
    except Exception as exc:  # any torch error: the report says so rather than guessing
        return False, (
            f"{name} is not in the list, and running it on meta tensors to find what it dispatches "
            f"to failed ({type(exc).__name__}): {sdk.unsupported_means}"
        )
    if not dispatched:
        return True, f"{name} dispatches no op here (a no-op at these types): no device op"
    missing = [d for d in dispatched if d not in sdk.operators]
    shown = ", ".join(dispatched)
    if not missing:
        return True, f"not listed as {name}, but it dispatches to {shown}, all listed"
    if dispatched == [name]:
        return False, f"{name} is not in the list: {sdk.unsupported_means}"
    return False, (
        f"{name} is not in the list; it dispatches to {shown}, and {', '.join(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} not listed either: {sdk.unsupported_means}"
    )


def dispatched_ops(node: Node) -> list[str]:
    """The aten ops (SDK names, in first-call order) that `node`'s op reaches the backend as,
    run on meta tensors of its input types: composite ops appear as what they decompose to."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    from irc.ir.ops import get_op

    seen: list[str] = []

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            namespace, _, name = func._schema.name.partition("::")
            if namespace == "aten" and f"aten::{name}" not in seen:
                seen.append(f"aten::{name}")
            return func(*args, **(kwargs or {}))

    target = get_op(node.op).target
    # Meta tensors: shapes and dtypes without data. Meta is not the Neuron device, but what
    # a composite op decomposes into does not depend on the device for the ops irc emits.
    args = _on_meta(map_args(node.args, _meta))
    kwargs = _on_meta(map_args(node.kwargs, _meta))
    with torch.no_grad(), Record():
        target(*args, **kwargs)
    return seen


def _meta(value: Value) -> Any:
    import torch

    if isinstance(value.type, ScalarType):
        if not isinstance(value.type.value, int):
            raise BackendError(f"%{value.name} is a symbolic size; run pad-static first")
        return value.type.value
    assert isinstance(value.type, TensorType)
    shape = [d if isinstance(d, int) else 1 for d in value.type.shape]
    return torch.empty(shape, dtype=value.type.dtype.to_torch(), device="meta")


def _on_meta(arg: Any) -> Any:
    """Literal devices (`device("cpu")` in `aten.to`, `aten.arange`) moved to meta."""
    import torch

    if isinstance(arg, torch.device):
        return torch.device("meta")
    if isinstance(arg, (list, tuple)):
        return type(arg)(_on_meta(a) for a in arg)
    if isinstance(arg, dict):
        return {k: _on_meta(v) for k, v in arg.items()}
    return arg


def format_report(target: str, sdk: SdkList, buckets: list[tuple[str, list[OpEntry]]]) -> str:
    """The human-readable report: per bucket, every op with its verdict, reason and provenance."""
    lines = [
        f"Neuron operator report for --target {target}",
        f"Checked against the {sdk.describe()}",
        f"  {sdk.url}",
        f"For an op marked 'no': {sdk.unsupported_means}.",
    ]
    for name, entries in buckets:
        unsupported = [e for e in entries if not e.supported]
        lines += [
            "",
            f"== {name}: {len(entries)} ops, {len(entries) - len(unsupported)} supported, "
            f"{len(unsupported)} not",
        ]
        for e in entries:
            mark = "yes" if e.supported else "no "
            where = "; ".join(e.provenance[:4]) + (
                f"; ... {len(e.provenance) - 4} more" if len(e.provenance) > 4 else ""
            )
            lines.append(f"  [{mark}] {e.op} x{e.count} ({e.sdk_name}): {e.reason}")
            lines.append(f"        at {where}")
    return "\n".join(lines) + "\n"
