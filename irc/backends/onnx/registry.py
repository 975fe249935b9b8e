"""The ONNX lowering table: one emitter per IR op, registered with `@lowering`.

An emitter receives the builder, the node, and the node's arguments bound to the op schema's
parameter names (positional `node.args` then `node.kwargs`); it returns the ONNX name of the
node's output, or a list with one name per output. Its docstring is the op's ATen schema line:

    @lowering("aten.linear")
    def linear(g: Builder, node: Node, input: Value, weight: Value, bias: Value | None = None) -> str:
        "linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor"
        ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from irc.errors import IrcError

if TYPE_CHECKING:
    from irc.backends.onnx.builder import Builder
    from irc.ir.core import Node

Emitter = Callable[..., "str | list[str]"]
"""`emitter(builder, node, *node.args, **node.kwargs) -> output name(s)`."""

LOWERINGS: dict[str, Emitter] = {}

F = TypeVar("F", bound=Emitter)


def lowering(*ops: str) -> Callable[[F], F]:
    """Register the decorated emitter for each of `ops` (overloads that share one schema shape)."""

    def register(fn: F) -> F:
        for op in ops:
            if op in LOWERINGS:
                raise IrcError(f"the ONNX backend registers {op} twice")
            LOWERINGS[op] = fn
        return fn

    return register


def lowerings() -> dict[str, Emitter]:
    """The whole table (complete once this module is imported)."""
    return LOWERINGS


def emit(fn: Emitter, g: Builder, node: Node) -> Any:
    return fn(g, node, *node.args, **node.kwargs)


# The op modules register into LOWERINGS as they are imported; importing them here, once the
# decorator exists, makes the table complete for anyone who imports this module.
from irc.backends.onnx import ops_conv, ops_create, ops_math, ops_nn, ops_ort, ops_resize, ops_shape  # noqa: E402, F401
