"""Fuse GELU written out in elementwise ops back into one `aten.gelu`.

%h = aten.mul.Tensor(%x, 0.5); %p = aten.pow.Tensor_Scalar(%x, 3.0); ... ; %y = aten.mul.Tensor(%h, %c)
->  %y = aten.gelu(%x, approximate="tanh")

GPT-2's `NewGELUActivation` (and its relatives in GPT-J, CodeGen, Bloom-style MLPs) traces to
nine ops; a backend with a GELU kernel (ONNX `Gelu` from opset 20, ORT's fused kernels,
Neuron) runs one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from irc.ir.core import Arg, Node, Value
from irc.passes.match import check_type, check_uses, producer
from irc.passes.rewriter import PatternRewriter, RewritePass, RewritePattern

SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _times(value: Arg, constant: float) -> Value | None:
    """`%v` when `value` is `aten.mul.Tensor(%v, c)` (either order) with c close to `constant`
    and no other reader, else None."""
    node = producer(value, "aten.mul.Tensor")
    if node is None or len(node.args) != 2 or check_uses(node.output, 1):
        return None
    for operand, literal in (node.args, node.args[::-1]):
        if isinstance(operand, Value) and _is(literal, constant):
            return operand
    return None


def _plus(value: Arg, constant: float) -> Value | None:
    """`%v` when `value` is a single-use `aten.add.Tensor(%v, c)` with c close to `constant`."""
    node = producer(value, "aten.add.Tensor")
    if node is None or len(node.args) != 2 or node.kwargs or check_uses(node.output, 1):
        return None
    operand, literal = node.args
    return operand if isinstance(operand, Value) and _is(literal, constant) else None


def _is(literal: Arg, constant: float) -> bool:
    return type(literal) in (int, float) and math.isclose(literal, constant, rel_tol=1e-6)


class _GeluPattern(RewritePattern):
    """`(%x * 0.5) * cdf(%x)`, either operand order, into `aten.gelu(%x, **attrs)`; subclasses
    say what the cdf term looks like."""

    ops = ("aten.mul.Tensor",)
    form = ""
    attrs: dict[str, str] = {}

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        if len(node.args) != 2:
            return rewriter.fail("not a binary mul")
        for half, cdf in (node.args, node.args[::-1]):
            x = _times(half, 0.5)
            if x is not None and self.is_cdf(cdf, x):
                break
        else:
            return rewriter.fail(f"not {self.form} over one x")
        if why := check_type(x, dtype=node.output.tensor_type.dtype):
            return rewriter.fail(why)
        gelu = rewriter.create("aten.gelu", (x,), dict(self.attrs), types=[node.output.type])
        rewriter.replace_node(node, [gelu.output])

    def is_cdf(self, cdf: Arg, x: Value) -> bool:
        raise NotImplementedError


class TanhGelu(_GeluPattern):
    """%y = (%x * 0.5) * (1 + tanh(sqrt(2/pi) * (%x + 0.044715 * %x ** 3)))
    ->  %y = aten.gelu(%x, approximate="tanh")"""

    form = "(x * 0.5) * (1 + tanh(...))"
    attrs = {"approximate": "tanh"}

    def is_cdf(self, cdf: Arg, x: Value) -> bool:
        tanh_out = _plus(cdf, 1.0)
        tanh = producer(tanh_out, "aten.tanh")
        if tanh is None or check_uses(tanh.output, 1):
            return False
        inner = _times(tanh.args[0], SQRT_2_OVER_PI)
        add = producer(inner, "aten.add.Tensor")
        if add is None or len(add.args) != 2 or add.kwargs or check_uses(add.output, 1):
            return False
        for base, cubic in (add.args, add.args[::-1]):
            if base is x and self._is_cubic_term(cubic, x):
                return True
        return False

    def _is_cubic_term(self, value: Arg, x: Value) -> bool:
        power = producer(_times(value, 0.044715), "aten.pow.Tensor_Scalar")
        if power is None or check_uses(power.output, 1):
            return False
        return power.args[0] is x and _is(power.args[1], 3.0)


class ErfGelu(_GeluPattern):
    """%y = (%x * 0.5) * (1 + erf(%x * (1 / sqrt(2))))  ->  %y = aten.gelu(%x)"""

    form = "(x * 0.5) * (1 + erf(x / sqrt(2)))"

    def is_cdf(self, cdf: Arg, x: Value) -> bool:
        erf = producer(_plus(cdf, 1.0), "aten.erf")
        if erf is None or check_uses(erf.output, 1):
            return False
        return _times(erf.args[0], math.sqrt(0.5)) is x or _over(erf.args[0], math.sqrt(2)) is x


def _over(value: Arg, constant: float) -> Value | None:
    node = producer(value, "aten.div.Tensor")
    if node is None or len(node.args) != 2 or check_uses(node.output, 1):
        return None
    operand, literal = node.args
    return operand if isinstance(operand, Value) and _is(literal, constant) else None


@dataclass(frozen=True)
class FuseGelu(RewritePass):
    """Fuse GELU written out in elementwise ops (tanh or erf form) into one aten.gelu."""

    name = "fuse-gelu"
    patterns = (TanhGelu(), ErfGelu())
