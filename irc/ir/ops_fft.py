"""`irc.dft`: the discrete Fourier transform of a complex tensor held as a pair of reals.

The complex-pairs rewrite (frontend/complex_pairs.py) turns `torch.fft.fft` / `fftn` into one of
these per transformed dim. Its layout is ONNX's DFT op's: (real, imaginary) in a trailing dim of
2, `dim` counted over the complex dims (so never the pair dim). FNet's token mixing is the model
this exists for.
"""

from __future__ import annotations

from typing import Any

from irc.ir.ops import register_op


def _dft(x: Any, dim: int) -> Any:
    import torch

    z = torch.view_as_complex(x.contiguous())
    return torch.view_as_real(torch.fft.fft(z, dim=dim)).contiguous()


register_op(
    "irc.dft",
    _dft,
    doc="dft(Tensor x [..., 2], int dim) -> Tensor [..., 2]: the unnormalized forward DFT along complex "
    "dim `dim` (>= 0) of the (real, imaginary) pairs in x's last dim",
)
