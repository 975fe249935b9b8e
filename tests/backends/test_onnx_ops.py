"""One case per ONNX lowering: ONNX Runtime against the interpreter on small hand-built graphs."""

from __future__ import annotations

import pytest

from irc.backends.onnx.registry import lowerings
from tests.backends.cases import Case, all_cases
from tests.backends.util import GraphMaker, check_backend

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_lowering_matches_interpreter(case: Case) -> None:
    maker = GraphMaker()
    case.build(maker)
    check_backend(maker, case.sizes, case.atol, **case.options)


def test_every_lowering_has_a_case() -> None:
    used: set[str] = set()
    for case in CASES:
        maker = GraphMaker()
        case.build(maker)
        used |= set(maker.graph.ops())
    missing = sorted(set(lowerings()) - used)
    assert not missing, f"lowerings with no test case: {missing}"
