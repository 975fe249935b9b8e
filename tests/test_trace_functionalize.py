"""The frontend's functionalization step: only real in-place ops send a program through
`run_decompositions`, which re-traces it whole."""

from __future__ import annotations

import pytest
import torch

from irc.frontend.functionalize import functionalize


def _targets(program: torch.export.ExportedProgram) -> list[str]:
    return [str(n.target) for n in program.graph.nodes if n.op == "call_function"]


class _EmptyFirstOperand(torch.nn.Module):
    """What DynamicCache does on its first update: concatenate onto `torch.tensor([])`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.tensor([]), x]) * 2


class _InPlaceOnFresh(torch.nn.Module):
    """T5's `position_bias += mask`: the in-place op is the only reader of a fresh tensor."""

    def forward(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        y = x * 2
        y.add_(m)
        return y + 1


class _InPlaceThroughView(torch.nn.Module):
    """The mutation is visible through a view taken before it: only a real functionalization
    gets this right."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * 2
        first = y[0]
        y.add_(1)
        return first * 3


class _InPlacePromoting(torch.nn.Module):
    """In place, float32 plus float64 stays float32; out of place it would be float64."""

    def forward(self, x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        y = x * 2
        y.add_(f)
        return y


def test_detach_is_dropped_without_a_retrace(monkeypatch: pytest.MonkeyPatch) -> None:
    program = torch.export.export(_EmptyFirstOperand(), (torch.ones(3),), strict=False)
    assert "aten.detach_.default" in _targets(program)

    def retrace(*args: object, **kwargs: object) -> None:
        raise AssertionError("run_decompositions was called for a program whose only mutation is detach_")

    monkeypatch.setattr(torch.export.ExportedProgram, "run_decompositions", retrace)
    result = functionalize(program)
    assert "aten.detach_.default" not in _targets(result)
    x = torch.arange(3.0)
    torch.testing.assert_close(result.module()(x), _EmptyFirstOperand()(x))


def _no_retrace(monkeypatch: pytest.MonkeyPatch) -> None:
    def retrace(*args: object, **kwargs: object) -> None:
        raise AssertionError("run_decompositions was called")

    monkeypatch.setattr(torch.export.ExportedProgram, "run_decompositions", retrace)


def test_in_place_op_on_a_fresh_tensor_becomes_functional_without_a_retrace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = (torch.arange(6.0).view(2, 3), torch.ones(3))
    program = torch.export.export(_InPlaceOnFresh(), args, strict=False)
    assert "aten.add_.Tensor" in _targets(program)
    _no_retrace(monkeypatch)
    result = functionalize(program)
    assert "aten.add_.Tensor" not in _targets(result)
    torch.testing.assert_close(result.module()(*args), _InPlaceOnFresh()(*args))


@pytest.mark.parametrize(
    ("module", "args"),
    [
        (_InPlaceThroughView(), (torch.arange(6.0).view(2, 3),)),
        (_InPlacePromoting(), (torch.arange(3.0), torch.full((3,), 0.75, dtype=torch.float64))),
    ],
    ids=["view-sees-the-write", "dtype-promotion"],
)
def test_in_place_op_that_others_can_observe_is_functionalized_by_torch(
    module: torch.nn.Module, args: tuple[torch.Tensor, ...]
) -> None:
    program = torch.export.export(module, args, strict=False)
    assert "aten.add_.Tensor" in _targets(program)
    result = functionalize(program)
    assert not [t for t in _targets(result) if t.endswith("_.Tensor")]
    torch.testing.assert_close(result.module()(*args), module(*args))
