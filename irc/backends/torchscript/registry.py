"""The TorchScript lowering table: one emitter per IR op, registered with `@emitter`.

An emitter receives the codegen state, the node, and the node's arguments (positional
`node.args`, then `node.kwargs` by schema name); it returns one expression of TorchScript-compatible
Python computing the node's result (a tuple or list for a multi-output node). Its docstring is the
op's schema line:

    @emitter("aten.sym_size.int")
    def sym_size(g: Codegen, node: Node, self: Value, dim: int) -> str:
        "sym_size.int(Tensor self, int dim) -> SymInt"
        return f"{g.name(self)}.size({dim})"
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from irc.backends.emitters import EmitterTable

if TYPE_CHECKING:
    from irc.backends.torchscript.codegen import Codegen
    from irc.ir.core import Node

Emitter = Callable[..., str]
"""`emitter(codegen, node, *node.args, **node.kwargs) -> expression`."""

TABLE = EmitterTable("torchscript", "TorchScript")
EMITTERS: dict[str, Emitter] = TABLE.emitters

emitter = TABLE.register
"""`@emitter("aten.sym_size.int", ...)`: register the decorated emitter for each op."""


def emitters() -> dict[str, Emitter]:
    """The whole table (complete once this module is imported)."""
    return EMITTERS


def call(g: Codegen, node: Node, *_: Any, **__: Any) -> str:
    """`torch.ops.aten.<packet>(...)` with the node's arguments as they are; here, not in an op
    module, so that any op module can be imported first."""
    return g.call(node)


# The op modules register into EMITTERS as they are imported; importing them here, once the
# decorator exists, makes the table complete for anyone who imports this module.
from irc.backends.torchscript import ops_aten, ops_fft, ops_math, ops_moe, ops_sym, ops_vision  # noqa: E402, F401
