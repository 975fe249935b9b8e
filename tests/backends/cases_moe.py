"""Cases for mixture-of-experts routing: top-k, sort, histc, one-hot, grouped matmul (ops_moe.py)."""

from __future__ import annotations

import torch

from tests.backends.cases import BATCH, SEQ, case
from tests.backends.util import GraphMaker, ints

EXPERTS = 4


def _w(*shape: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(sum(shape)))


def _runs(b: GraphMaker, ids: object, counted: int) -> object:
    """Run ends of the sorted expert ids, as transformers computes them: histc, then cumsum to
    int32. Ids >= `counted` fall outside the histogram, so their rows come last, past every run."""
    ordered, _ = b.op("aten.sort", ids, outputs=2)
    as_float = b.op("aten._to_copy", ordered, dtype=torch.float32)
    counts = b.op("aten.histc", as_float, counted, 0, counted - 1)
    return b.op("aten.cumsum", counts, 0, dtype=torch.int32)


@case(SEQ)
def grouped_mm_fallback(b: GraphMaker) -> None:
    # Rows (`batch * seq` of them) are routed to 4 experts; some experts get no row at some sizes.
    x = b.input("x", "f32", ("batch * seq", 6))
    ids = b.input("ids", "i64", ("batch * seq",), make=ints(0, EXPERTS))
    weight = b.param("w", _w(EXPERTS, 6, 5))
    b.output(b.op("transformers.grouped_mm_fallback", x, weight, _runs(b, ids, EXPERTS)))


@case(SEQ)
def grouped_mm_fallback_zeroes_rows_past_the_last_run(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("seq", 6))
    ids = b.input("ids", "i64", ("seq",), make=ints(0, EXPERTS))
    weight = b.param("w", _w(EXPERTS - 1, 6, 5))
    b.output(b.op("transformers.grouped_mm_fallback", x, weight, _runs(b, ids, EXPERTS - 1)))


@case(SEQ)
def topk(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 5))
    values, indices = b.op("aten.topk", x, 2, outputs=2)
    low_values, low_indices = b.op("aten.topk", x, 1, 1, False, outputs=2)
    b.output(values, indices, low_values, low_indices)


@case(SEQ)
def topk_symbolic_k(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq"))
    k = b.op("aten.sym_size.int", x, 1)
    b.output(*b.op("aten.topk", x, b.op("sym.sub", k, 1), outputs=2))


@case(SEQ)
def sort_floats(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq"))
    b.output(*b.op("aten.sort", x, outputs=2), *b.op("aten.sort", x, 0, True, outputs=2))


@case(SEQ)
def sort_stable_keeps_ties_in_order(b: GraphMaker) -> None:
    x = b.input("x", "i64", ("batch", "seq"), make=ints(0, 3))
    b.output(*b.op("aten.sort.stable", x, stable=True, outputs=2))
    b.output(*b.op("aten.sort.stable", x, stable=True, dim=0, descending=True, outputs=2))


@case(BATCH)
def histc(b: GraphMaker) -> None:
    # Values past both ends are dropped, the max itself lands in the last bin.
    x = b.input("x", "f32", ("batch", 6), make=lambda shape, gen: torch.randn(shape, generator=gen) * 2)
    ints_as_float = b.input(
        "n", "f32", ("batch", 3), make=lambda s, gen: torch.randint(0, 4, s, generator=gen).float()
    )
    b.output(
        b.op("aten.histc", x, 5, -1.5, 1.5),
        b.op("aten.histc", ints_as_float, 4, 0, 3),
        b.op("aten.histc", x, 3),
    )


@case(SEQ)
def one_hot(b: GraphMaker) -> None:
    x = b.input("x", "i64", ("batch", "seq"), make=ints(0, 5))
    b.output(b.op("aten.one_hot", x, 6))
