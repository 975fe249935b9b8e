"""irc's graph IR: objects, types, op registry, text form, verifier, interpreter.

Importing this package does not import torch; the functions that need it import it when called.
"""

from __future__ import annotations

from irc.ir.core import Graph, Node, Param, Value
from irc.ir.dims import SymDim
from irc.ir.dtypes import DType
from irc.ir.interpreter import Interpreter, interpret
from irc.ir.nxview import to_networkx
from irc.ir.ops import get_op, register_op
from irc.ir.parser import parse_graph
from irc.ir.printer import print_graph
from irc.ir.types import ScalarType, TensorType
from irc.ir.verifier import verify

__all__ = [
    "DType",
    "Graph",
    "Interpreter",
    "Node",
    "Param",
    "ScalarType",
    "SymDim",
    "TensorType",
    "Value",
    "get_op",
    "interpret",
    "parse_graph",
    "print_graph",
    "register_op",
    "to_networkx",
    "verify",
]
