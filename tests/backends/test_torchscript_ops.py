"""The ONNX backend's per-op cases, run through the TorchScript backend: the scripted module
(saved and loaded back) against the interpreter, at several sizes of the symbolic dims."""

from __future__ import annotations

import pytest

from irc.backends.torchscript.registry import emitters
from tests.backends.cases import Case, all_cases
from tests.backends.util import GraphMaker, check_backend

# Cases that differ only in ONNX options (the opset) build the same graph: run one of each.
CASES = [c for c in all_cases() if not c.options or c.options == {"opset": 18}]


def _ops(case: Case) -> set[str]:
    maker = GraphMaker()
    case.build(maker)
    return set(maker.graph.ops())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_emitted_code_matches_interpreter(case: Case) -> None:
    missing = _ops(case) - set(emitters())
    if missing:
        pytest.skip(f"no TorchScript emitter for {', '.join(sorted(missing))}")
    maker = GraphMaker()
    case.build(maker)
    check_backend(maker, case.sizes, case.atol, backend_name="torchscript")


def test_every_emitter_has_a_case() -> None:
    used: set[str] = set()
    for case in CASES:
        used |= _ops(case)
    missing = sorted(set(emitters()) - used)
    assert not missing, f"emitters with no test case: {missing}"
