"""The registry of per-lowering test cases: each builds a small graph with a GraphMaker.

Cases live in `cases_*.py` by op family; `test_onnx_ops.py` runs them all and checks that every
op the ONNX backend registers appears in at least one case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.backends.util import GraphMaker

BATCH = ({"batch": 2}, {"batch": 5})
SEQ = ({"batch": 2, "seq": 3}, {"batch": 1, "seq": 6})


@dataclass
class Case:
    name: str
    build: Callable[[GraphMaker], None]
    sizes: tuple[dict[str, int], ...] = ({},)
    atol: float = 1e-5
    options: dict[str, Any] = field(default_factory=dict)


CASES: list[Case] = []


def case(sizes: tuple[dict[str, int], ...] = ({},), atol: float = 1e-5, **options: Any) -> Callable[..., Any]:
    """Register the decorated `build(maker)` function as a case named after it."""

    def register(build: Callable[[GraphMaker], None]) -> Callable[[GraphMaker], None]:
        add_case(build.__name__, build, sizes, atol, **options)
        return build

    return register


def add_case(
    name: str,
    build: Callable[[GraphMaker], None],
    sizes: tuple[dict[str, int], ...] = ({},),
    atol: float = 1e-5,
    **options: Any,
) -> None:
    if any(c.name == name for c in CASES):
        raise ValueError(f"two cases are called {name}")
    CASES.append(Case(name, build, sizes, atol, options))


def all_cases() -> list[Case]:
    from tests.backends import (  # noqa: F401
        cases_audio,
        cases_bucketize,
        cases_conv,
        cases_create,
        cases_exp_log,
        cases_fft_norm,
        cases_math,
        cases_moe,
        cases_nn,
        cases_ort,
        cases_ort_decoder,
        cases_quant,
        cases_resize,
        cases_scatter,
        cases_shape,
        cases_stats,
    )

    return CASES
