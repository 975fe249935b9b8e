"""Cases for irc.dft (ops_fft.py), aten.unfold (ops_unfold.py) and aten.linalg_norm
(ops_linalg_norm.py)."""

from __future__ import annotations

from tests.backends.cases import SEQ, case
from tests.backends.util import GraphMaker


@case(SEQ, atol=1e-4)
def dft_of_real_imaginary_pairs(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 4, 2))
    b.output(b.op("irc.dft", x, 1), b.op("irc.dft", x, 2))


@case(SEQ)
def unfold_with_a_dynamic_length(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 3))
    b.output(b.op("aten.unfold", x, 1, 2, 1), b.op("aten.unfold", x, 2, 2, 1))


@case(SEQ)
def linalg_vector_norms(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 4))
    b.output(
        b.op("aten.linalg_norm", x),
        b.op("aten.linalg_norm", x, 2, [-1], True),
        b.op("aten.linalg_norm", x, 1, [1]),
    )
