"""`irc.dft` as torch.fft on the complex view of the pair (TorchScript keeps complex tensors)."""

from __future__ import annotations

from irc.backends.torchscript.codegen import Codegen
from irc.backends.torchscript.registry import emitter
from irc.ir.core import Node, Value


@emitter("irc.dft")
def dft(g: Codegen, node: Node, x: Value, dim: int) -> str:
    """dft(Tensor x [..., 2], int dim) -> Tensor [..., 2]"""
    z = f"torch.view_as_complex({g.name(x)}.contiguous())"
    return f"torch.view_as_real(torch.fft.fft({z}, dim={int(dim)}))"
