"""`untie-weights` on a traced GPT-2: same results, separate storage, a record of what was tied;
lazy weights stay lazy; `irc show --passes untie-weights` shows the two params."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from irc.cli.main import main
from irc.errors import PassError
from irc.ir.core import Graph, Param
from irc.ir.dtypes import DType
from irc.ir.types import TensorType
from irc.passes import PassManager
from irc.passes.manager import graph_properties
from irc.passes.untie_weights import UntieWeights
from tests.models import tiny_checkpoint, traced_tiny

TIED = ["transformer.wte.weight", "lm_head.weight"]


def test_untie_preserves_outputs_and_separates_storage() -> None:
    traced = traced_tiny("gpt2", "causal-lm")
    graph = traced.graph
    assert [[p.name for p in ps] for ps in graph.tie_groups().values()] == [TIED]
    inputs = traced.make_inputs({"batch": 3, "sequence": 11}, seed=1)
    # debug mode: the interpreter runs before and after the pass and must agree
    result = PassManager("untie-weights", debug=True, debug_inputs=inputs).run(graph)
    assert result.changed
    assert graph.tie_groups() == {} and "untied" in graph_properties(graph)
    assert graph.metadata["untied"] == {TIED[0]: TIED}
    wte, head = (graph.params[name] for name in TIED)
    assert wte.tie_group is None and head.tie_group is None
    assert torch.equal(wte.tensor(), head.tensor())
    assert wte.tensor().untyped_storage().data_ptr() != head.tensor().untyped_storage().data_ptr()
    assert PassManager("untie-weights").run(graph).changed is False


class CountingLoad:
    """Lazy data that counts how often it was read."""

    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor = tensor
        self.loads = 0

    def load(self) -> torch.Tensor:
        self.loads += 1
        return self.tensor


def test_lazy_data_stays_lazy_and_copies_on_load() -> None:
    graph = Graph("lazy")
    lazy = CountingLoad(torch.arange(6.0).reshape(2, 3))
    ttype = TensorType(DType.F32, (2, 3))
    first = graph.add_param(Param("a", ttype, data=lazy, tie_group="a"))
    second = graph.add_param(Param("b", ttype, data=lazy, tie_group="a"))
    assert UntieWeights().run(graph)
    assert lazy.loads == 0 and hasattr(second.data, "load")
    assert torch.equal(first.tensor(), second.tensor())
    assert second.tensor().untyped_storage().data_ptr() != lazy.tensor.untyped_storage().data_ptr()


def test_a_pass_requiring_untied_weights_may_follow() -> None:
    class NeedsUntied(UntieWeights):
        requires = frozenset({"untied"})

    PassManager([UntieWeights(), NeedsUntied()]).check_order()
    with pytest.raises(PassError, match="requires untied"):
        PassManager([NeedsUntied()]).check_order()


def test_show_after_untie_weights_lists_two_untied_params(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Acceptance 4: one tie group in the plain `irc show`, two params without a label after."""
    ckpt = tiny_checkpoint(tmp_path / "ckpt", "gpt2", "causal-lm")
    argv = ["show", "--model", str(ckpt), "--task", "causal-lm", "--no-locs"]
    assert main(argv) == 0
    before = capsys.readouterr().out
    assert main([*argv, "--passes", "untie-weights"]) == 0
    after = capsys.readouterr().out

    tie = re.compile(r'^  param %(\S+) : f32\[99, 32\] parameter tie "transformer\.wte\.weight"$', re.M)
    assert tie.findall(before) == TIED
    assert tie.findall(after) == []
    for name in TIED:
        assert f"  param %{name} : f32[99, 32] parameter\n" in after
    assert 'untied = {"transformer.wte.weight" = ["transformer.wte.weight", "lm_head.weight"]}' in after
