"""The IR's mutable objects: `Value`, `Param`, `Node` and `Graph`.

Graph objects compare by identity. A node's arguments are a tuple of positional arguments and a
dict of keyword arguments, in the order of the op's schema; their leaves are `Value`s or literals
(int, float, bool, None, str, torch dtype/layout/device/memory_format, lists of those). The
Values among them are the node's `inputs`; every change goes through `Node.set_args` or
`Node.replace_input` so that each Value's use list stays right. A graph output is a use too:
`Graph.outputs` is a tuple changed only through `Graph.set_outputs`, `add_output` and
`replace_output`, so that `Value.is_graph_output()` and `Value.is_used()` stay right, and
`Graph.replace_all_uses` swaps a value everywhere, keeping the output names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from irc.errors import IRError
from irc.ir.types import TensorType, Type

Arg = Any
"""A node argument: a `Value`, a literal, or a list/tuple of arguments."""


class LazyData(Protocol):
    """Weights that are read only when a backend writes them (a safetensors slice, say)."""

    def load(self) -> Any: ...


class Value:
    """An SSA value: produced by one node (or a graph input, or a param), used by many."""

    __slots__ = ("name", "type", "producer", "index", "_uses", "_output_slots")

    def __init__(self, name: str, type: Type) -> None:
        self.name = name
        self.type = type
        self.producer: Node | None = None
        self.index = 0
        self._uses: list[Node] = []
        self._output_slots = 0

    def uses(self) -> list[Node]:
        """A snapshot of the nodes that read this value (a node appears once per read); graph
        outputs are not nodes: see `is_graph_output`, `is_used` and `use_count`."""
        return list(self._uses)

    def is_graph_output(self) -> bool:
        """Whether the graph returns this value (its name is then an artifact's output name)."""
        return self._output_slots > 0

    def is_used(self) -> bool:
        """Whether anything reads this value: a node, or the graph as one of its outputs."""
        return bool(self._uses) or self._output_slots > 0

    def use_count(self) -> int:
        """Reads by nodes (one per read) plus the graph output slots that return this value."""
        return len(self._uses) + self._output_slots

    @property
    def tensor_type(self) -> TensorType:
        if not isinstance(self.type, TensorType):
            raise IRError(f"%{self.name} is a {self.type}, not a tensor")
        return self.type

    def replace_all_uses_with(self, other: Value) -> None:
        """Make every node that reads this value read `other`; graph outputs stay as they are
        (`Graph.replace_all_uses` replaces those too)."""
        for node in self.uses():
            node.replace_input(self, other)

    def __repr__(self) -> str:
        return f"Value(%{self.name}: {self.type})"


PARAM_KINDS = ("parameter", "buffer", "constant")


class Param(Value):
    """A weight, buffer or constant. `data` is a tensor, a `LazyData`, or None (parsed from text
    without data). Params with the same `tie_group` label share storage in the model. `meta` holds
    provenance for constants a pass created (`module`, `source` of the node they replace)."""

    __slots__ = ("kind", "data", "tie_group", "meta")

    def __init__(
        self,
        name: str,
        type: TensorType,
        kind: str = "parameter",
        data: Any = None,
        tie_group: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(name, type)
        if kind not in PARAM_KINDS:
            raise IRError(f"param kind {kind!r} is not one of {', '.join(PARAM_KINDS)}")
        self.kind = kind
        self.data = data
        self.tie_group = tie_group
        self.meta: dict[str, Any] = dict(meta or {})

    def tensor(self) -> Any:
        """The param's data as a torch tensor, reading lazy data now."""
        if self.data is None:
            raise IRError(f"param %{self.name} has no data (was the graph parsed from text?)")
        if hasattr(self.data, "load"):
            return self.data.load()
        return self.data


def flatten_args(args: Iterable[Arg]) -> Iterator[Value]:
    for arg in args:
        if isinstance(arg, Value):
            yield arg
        elif isinstance(arg, (list, tuple)):
            yield from flatten_args(arg)


def map_args(args: Arg, fn: Callable[[Value], Any]) -> Any:
    """`args` with every Value replaced by `fn(value)`, same nesting."""
    return map_leaves(args, lambda leaf: fn(leaf) if isinstance(leaf, Value) else leaf)


def map_leaves(args: Arg, fn: Callable[[Any], Any]) -> Any:
    """`args` (tuples, lists and dicts of arguments) with every other leaf, Values and literals
    alike, replaced by `fn(leaf)`, same nesting."""
    if isinstance(args, tuple):
        return tuple(map_leaves(a, fn) for a in args)
    if isinstance(args, list):
        return [map_leaves(a, fn) for a in args]
    if isinstance(args, dict):
        return {k: map_leaves(v, fn) for k, v in args.items()}
    return fn(args)


class Node:
    """One op application. `op` is a qualified name (`aten.linear`, `aten.add.Tensor`,
    `sym.mul`); `meta` holds provenance (`module`, `source`) and analysis results."""

    __slots__ = ("op", "args", "kwargs", "outputs", "meta", "graph", "_inputs")

    def __init__(
        self,
        op: str,
        args: tuple[Arg, ...] = (),
        kwargs: dict[str, Arg] | None = None,
        outputs: Iterable[Value] = (),
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.op = op
        self.args: tuple[Arg, ...] = ()
        self.kwargs: dict[str, Arg] = {}
        self._inputs: tuple[Value, ...] = ()
        self.outputs: tuple[Value, ...] = tuple(outputs)
        for i, out in enumerate(self.outputs):
            if out.producer is not None:
                raise IRError(f"%{out.name} is already produced by {out.producer.op}")
            out.producer = self
            out.index = i
        self.meta: dict[str, Any] = dict(meta or {})
        self.graph: Graph | None = None
        self.set_args(args, kwargs or {})

    @property
    def inputs(self) -> tuple[Value, ...]:
        return self._inputs

    @property
    def output(self) -> Value:
        if len(self.outputs) != 1:
            raise IRError(f"{self.op} has {len(self.outputs)} outputs, not one")
        return self.outputs[0]

    def set_args(self, args: tuple[Arg, ...], kwargs: dict[str, Arg]) -> None:
        for value in self._inputs:
            value._uses.remove(self)
        self.args = tuple(args)
        self.kwargs = dict(kwargs)
        self._inputs = tuple(flatten_args((*self.args, *self.kwargs.values())))
        for value in self._inputs:
            value._uses.append(self)

    def replace_input(self, old: Value, new: Value) -> None:
        def swap(v: Value) -> Value:
            return new if v is old else v

        self.set_args(map_args(self.args, swap), map_args(self.kwargs, swap))

    def drop_references(self) -> None:
        self.set_args((), {})

    @property
    def provenance(self) -> str:
        """Where the node came from in the model, for error messages: `module (file:line)`."""
        module = self.meta.get("module") or "<top>"
        source = self.meta.get("source")
        return f"{module} ({source})" if source else module

    def __repr__(self) -> str:
        outs = ", ".join(f"%{v.name}" for v in self.outputs)
        return f"Node({outs} = {self.op})"


class Graph:
    """A function: named inputs, params, nodes in topological order, named outputs.

    Output names are the names of the output Values, so `present.0.key` is both the Value's and
    the artifact's name. `outputs` is a tuple: edit it with `set_outputs`, `add_output`,
    `replace_output` or `replace_all_uses`, which keep each Value's `is_graph_output()` right.
    """

    __slots__ = ("name", "inputs", "_outputs", "params", "_nodes", "metadata", "_names")

    def __init__(self, name: str = "main") -> None:
        self.name = name
        self.inputs: list[Value] = []
        self._outputs: tuple[Value, ...] = ()
        self.params: dict[str, Param] = {}
        self._nodes: list[Node] = []
        self.metadata: dict[str, Any] = {}
        self._names: set[str] = set()

    # -- naming ---------------------------------------------------------------------------
    def unique_name(self, base: str) -> str:
        """`base`, or `base_1`, `base_2`... whichever no value of this graph has yet."""
        if base not in self._names:
            return base
        i = 1
        while f"{base}_{i}" in self._names:
            i += 1
        return f"{base}_{i}"

    def claim_name(self, name: str) -> None:
        if name in self._names:
            raise IRError(f"the name %{name} is used twice")
        self._names.add(name)

    def rename(self, value: Value, name: str) -> None:
        self._names.discard(value.name)
        self.claim_name(name)
        value.name = name

    # -- building -------------------------------------------------------------------------
    def add_input(self, name: str, type: Type) -> Value:
        self.claim_name(name)
        value = Value(name, type)
        self.inputs.append(value)
        return value

    def add_param(self, param: Param) -> Param:
        self.claim_name(param.name)
        self.params[param.name] = param
        return param

    def remove_param(self, param: Param) -> None:
        if param.is_used():
            raise IRError(f"param %{param.name} is still used")
        del self.params[param.name]
        self._names.discard(param.name)

    def new_value(self, base: str, type: Type) -> Value:
        name = self.unique_name(base)
        self.claim_name(name)
        return Value(name, type)

    def append(self, node: Node) -> Node:
        return self.insert(len(self._nodes), node)

    def insert_before(self, anchor: Node, node: Node) -> Node:
        return self.insert(self._index(anchor), node)

    def insert_after(self, anchor: Node, node: Node) -> Node:
        return self.insert(self._index(anchor) + 1, node)

    def insert(self, index: int, node: Node) -> Node:
        if node.graph is not None:
            raise IRError(f"{node!r} is already in a graph")
        for out in node.outputs:
            if out.name not in self._names:
                self.claim_name(out.name)
        node.graph = self
        self._nodes.insert(index, node)
        return node

    def erase(self, node: Node) -> None:
        """Remove a node whose outputs have no uses left (graph outputs count as uses)."""
        for out in node.outputs:
            if out.is_used():
                raise IRError(f"cannot erase {node!r}: %{out.name} is still used")
        node.drop_references()
        self._nodes.remove(node)
        node.graph = None
        for out in node.outputs:
            self._names.discard(out.name)

    # -- outputs --------------------------------------------------------------------------
    @property
    def outputs(self) -> tuple[Value, ...]:
        """The values the graph returns, in order; their names are the output names."""
        return self._outputs

    @outputs.setter
    def outputs(self, values: Iterable[Value]) -> None:
        self.set_outputs(values)

    def set_outputs(self, values: Iterable[Value]) -> None:
        """Make `values` the graph's outputs, in order (a value may appear more than once)."""
        new = tuple(values)
        for value in self._outputs:
            value._output_slots -= 1
        for value in new:
            value._output_slots += 1
        self._outputs = new

    def add_output(
        self, value: Value, name: str | None = None, *, meta: dict[str, Any] | None = None
    ) -> Value:
        """Return `value` after the current outputs, under `name` (its own name by default), and
        return the Value that carries it: `value` renamed, or, when `value` cannot take an output
        name (see `can_carry_name`), an `irc.identity` of it appended with `meta`."""
        if name is not None:
            value, _ = self._carrier(value, name, value.type, len(self._nodes), meta)
        self.set_outputs((*self._outputs, value))
        return value

    def replace_output(self, old: Value | int, new: Value) -> None:
        """Return `new` where the graph returned `old`: every slot holding the Value `old`, or
        the one slot at index `old`. Names are left alone (`replace_all_uses` keeps them)."""
        outputs = list(self._outputs)
        if isinstance(old, int):
            if not -len(outputs) <= old < len(outputs):
                raise IRError(f"graph @{self.name} has {len(outputs)} outputs, no output {old}")
            outputs[old] = new
        elif any(v is old for v in outputs):
            outputs = [new if v is old else v for v in outputs]
        else:
            raise IRError(f"%{old.name} is not an output of graph @{self.name}")
        self.set_outputs(outputs)

    def replace_all_uses(
        self, old: Value, new: Value, *, before: Node | None = None, meta: dict[str, Any] | None = None
    ) -> Node | None:
        """Make every reader of `old` read `new`: nodes, and graph outputs, which keep their
        name (the artifact's I/O name). `new` takes that name; when it cannot (a graph input, a
        param, or already an output under its own name), an `irc.identity` of `new` carries it,
        inserted before `before` (at the end by default) with `meta`; that node is returned.
        `old` gives up the name for `<name>.replaced` (it is usually erased right after)."""
        if old is new:
            return None
        old.replace_all_uses_with(new)
        if not old.is_graph_output():
            return None
        name = old.name
        self.rename(old, self.unique_name(f"{name}.replaced"))
        index = self._index(before) if before is not None else len(self._nodes)
        carrier, identity = self._carrier(new, name, old.type, index, meta)
        self.replace_output(old, carrier)
        return identity

    def _carrier(
        self, value: Value, name: str, type: Type, index: int, meta: dict[str, Any] | None
    ) -> tuple[Value, Node | None]:
        """`value` renamed to `name`, or an `irc.identity` of it named `name` inserted at `index`
        when `value` cannot carry an output name; and that identity node, if any."""
        if can_carry_name(value):
            if value.name != name:
                self.rename(value, name)
            return value, None
        identity = self.insert(index, Node("irc.identity", (value,), {}, [self.new_value(name, type)], meta))
        return identity.output, identity

    def _index(self, node: Node) -> int:
        for i, candidate in enumerate(self._nodes):
            if candidate is node:
                return i
        raise IRError(f"{node!r} is not in graph @{self.name}")

    # -- reading --------------------------------------------------------------------------
    @property
    def nodes(self) -> list[Node]:
        """A snapshot of the nodes in order, safe to iterate while the graph is edited."""
        return list(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def values(self) -> Iterator[Value]:
        yield from self.inputs
        yield from self.params.values()
        for node in self._nodes:
            yield from node.outputs

    def tie_groups(self) -> dict[str, list[Param]]:
        """Tie-group label -> the params that share storage, for groups of two or more."""
        groups: dict[str, list[Param]] = {}
        for param in self.params.values():
            if param.tie_group is not None:
                groups.setdefault(param.tie_group, []).append(param)
        return {k: v for k, v in groups.items() if len(v) > 1}

    def ops(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for node in self._nodes:
            counts[node.op] = counts.get(node.op, 0) + 1
        return counts

    def __repr__(self) -> str:
        return f"Graph(@{self.name}: {len(self.inputs)} inputs, {len(self.params)} params, {len(self)} nodes)"


def can_carry_name(value: Value) -> bool:
    """Whether `value` can be renamed to a graph output's name: a node's result that is not an
    output already (graph inputs and params keep their own names, an output keeps its own)."""
    return value.producer is not None and not value.is_graph_output()
