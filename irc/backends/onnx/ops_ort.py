"""Lowerings of the `ort-fusions` pass's ops to ONNX Runtime's contrib kernels (com.microsoft).

They need the backend's `ort_fusions` option (`Builder.ms` refuses otherwise): the resulting
model runs only in ONNX Runtime, which has CPU kernels for all of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from irc.backends.onnx.registry import lowering

if TYPE_CHECKING:
    from irc.backends.onnx.builder import Builder
    from irc.ir.core import Node, Value


@lowering("irc.fast_gelu")
def fast_gelu(g: Builder, node: Node, x: Value, bias: Value | None = None) -> str:
    """fast_gelu(Tensor x, Tensor? bias) -> Tensor: gelu(x + bias, approximate='tanh')"""
    return g.ms("FastGelu", g.tensor(x), None if bias is None else g.tensor(bias))


@lowering("irc.bias_gelu")
def bias_gelu(g: Builder, node: Node, x: Value, bias: Value | None = None) -> str:
    """bias_gelu(Tensor x, Tensor? bias) -> Tensor: gelu(x + bias), erf form"""
    if bias is None:
        return g.ms("Gelu", g.tensor(x))
    return g.ms("BiasGelu", g.tensor(x), g.tensor(bias))
