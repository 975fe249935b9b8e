"""The frontend's functionalization step: only real in-place ops send a program through
`run_decompositions`, which re-traces it whole."""

from __future__ import annotations

import pytest
import torch

from irc.frontend.trace import _functionalize


def _targets(program: torch.export.ExportedProgram) -> list[str]:
    return [str(n.target) for n in program.graph.nodes if n.op == "call_function"]


class _EmptyFirstOperand(torch.nn.Module):
    """What DynamicCache does on its first update: concatenate onto `torch.tensor([])`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.tensor([]), x]) * 2


class _InPlace(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * 2
        y.add_(1)
        return y


def test_detach_is_dropped_without_a_retrace(monkeypatch: pytest.MonkeyPatch) -> None:
    program = torch.export.export(_EmptyFirstOperand(), (torch.ones(3),), strict=False)
    assert "aten.detach_.default" in _targets(program)

    def retrace(*args: object, **kwargs: object) -> None:
        raise AssertionError("run_decompositions was called for a program whose only mutation is detach_")

    monkeypatch.setattr(torch.export.ExportedProgram, "run_decompositions", retrace)
    result = _functionalize(program)
    assert "aten.detach_.default" not in _targets(result)
    x = torch.arange(3.0)
    torch.testing.assert_close(result.module()(x), _EmptyFirstOperand()(x))


def test_real_mutation_is_still_functionalized() -> None:
    program = torch.export.export(_InPlace(), (torch.ones(3),), strict=False)
    assert "aten.add_.Tensor" in _targets(program)
    result = _functionalize(program)
    assert not [t for t in _targets(result) if t.endswith("_.Tensor")]
    x = torch.arange(3.0)
    torch.testing.assert_close(result.module()(x), _InPlace()(x))
