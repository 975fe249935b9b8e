"""A backend's lowering table: one emitter per IR op, registered with a decorator, and the calls
of those emitters with errors that name the node.

    TABLE = EmitterTable("onnx", "ONNX")
    lowering = TABLE.register

    @lowering("aten.relu")
    def relu(g: Builder, node: Node, self: Value) -> str: ...

An emitter receives the backend's emission state (the ONNX builder, the TorchScript codegen), the
node, and the node's arguments (positional `node.args`, then `node.kwargs` by schema name); what
it returns is the backend's business. `find` looks a node's emitter up (an op without one is a
LoweringError naming every place it is used) and, inside `blame`, whatever an emitter raises
becomes a LoweringError naming the op, its output and its provenance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from irc.errors import IrcError, LoweringError

if TYPE_CHECKING:
    from irc.ir.core import Node

CASTS = (
    "aten.to.dtype",
    "aten.to.device",
    "aten.to.dtype_layout",
    "aten.to.other",
    "aten._to_copy",
    "aten.type_as",
)
"""Ops that change only a tensor's dtype or device (the output's type says which): one emitter in
each backend, which registers them together."""
PADS = tuple(f"aten.{kind}_pad{n}d" for kind in ("reflection", "replication") for n in (1, 2, 3))
"""The reflection and replication pads, one schema shape: one emitter in each backend."""

Emitter = Callable[..., Any]
"""`emitter(state, node, *node.args, **node.kwargs) -> what the backend builds from`."""

F = TypeVar("F", bound=Emitter)


@dataclass
class EmitterTable:
    """Op name -> emitter for one backend."""

    backend: str
    """The backend's registry name (`onnx`), as error messages and `format_missing` spell it."""
    label: str
    """The backend's display name (`ONNX`) in messages."""
    advice: str = ""
    """Appended to the bug report sentence of an emitter that raised (a workaround to try)."""
    emitters: dict[str, Emitter] = field(default_factory=dict)

    def register(self, *ops: str) -> Callable[[F], F]:
        """Register the decorated emitter for each of `ops` (overloads that share one schema shape)."""

        def decorate(fn: F) -> F:
            for op in ops:
                if op in self.emitters:
                    raise IrcError(f"the {self.label} backend registers {op} twice")
                self.emitters[op] = fn
            return fn

        return decorate

    def register_each(self, ops: Mapping[str, Any], make: Callable[[Any], Emitter]) -> None:
        """Register `make(x)` for each `op -> x` of `ops`: a family of ops lowered alike, each
        with its own ONNX op type or operator (`{"aten.sin": "Sin", ...}`)."""
        for op, x in ops.items():
            self.register(op)(make(x))

    def find(self, node: Node, table: Mapping[str, Emitter] | None = None) -> Emitter:
        """The emitter of `node.op` in `table` (this table's by default)."""
        from irc.backends.base import format_missing

        emitter = (self.emitters if table is None else table).get(node.op)
        if emitter is None:
            raise LoweringError(format_missing(self.backend, {node.op: [node]}))
        return emitter

    @contextmanager
    def blame(self, node: Node, keep: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
        """Whatever the block raises, except the `keep` types, becomes a LoweringError naming
        `node`: an IrcError says what cannot be lowered, anything else is an emitter bug."""
        try:
            yield
        except keep:
            raise
        except IrcError as exc:
            raise LoweringError(f"cannot lower {where(node)}: {one_line(exc)}") from exc
        except Exception as exc:  # an emitter bug: name the node so the report is actionable
            raise LoweringError(
                f"the {self.label} lowering of {where(node)} failed ({type(exc).__name__}: {one_line(exc)}). "
                f"This is a bug in irc's {self.label} backend: please report it with this message"
                f"{self.advice}."
            ) from exc


def refuse_dropout(p: float, what: str = "dropout in training mode") -> None:
    """Both backends lower dropout as eval mode's identity only: a dropout with probability `p` > 0
    is random, which no artifact should be and no validation could check."""
    if p:
        raise LoweringError(f"{what} is random; trace the model in eval mode (model.eval()).")


def call(emitter: Emitter, state: Any, node: Node) -> Any:
    """`emitter(state, node, *node.args, **node.kwargs)`."""
    return emitter(state, node, *node.args, **node.kwargs)


def where(node: Node) -> str:
    """`op (%first_output) at provenance`, how lowering errors name a node."""
    return f"{node.op} (%{node.outputs[0].name if node.outputs else '?'}) at {node.provenance}"


def one_line(exc: BaseException) -> str:
    """The exception's message with its whitespace runs folded to single spaces."""
    return " ".join(str(exc).split())
