"""Translation validation of `ort-fusions` on traced tiny models: the interpreter gives the same
outputs before and after (padded masks, a row with every key masked, a cache), the fused ops
replace every GELU and attention, and a second run changes nothing."""

from __future__ import annotations

import pytest
import torch

from irc.api import trace_model
from irc.ir.interpreter import interpret
from irc.passes import PassManager
from tests.models import tiny_model

PIPELINE = "simplify,dce,cse,fuse-gelu,ort-fusions"
CELLS = [
    ("bert", "default", "default", {"batch": 3, "sequence": 11}),
    ("gpt2", "causal-lm", "causal-lm-with-past", {"batch": 2, "sequence": 3, "past_sequence": 4}),
]


@pytest.mark.parametrize(("model_type", "model_task", "task", "sizes"), CELLS, ids=[c[0] for c in CELLS])
def test_ort_fusions_preserve_outputs(
    model_type: str, model_task: str, task: str, sizes: dict[str, int]
) -> None:
    traced = trace_model(tiny_model(model_type, model_task), task)
    graph = traced.graph
    inputs = traced.make_inputs(sizes, seed=3)
    inputs["attention_mask"][0] = 0  # every key of the first row masked: torch gives zeros there
    expected = interpret(graph, inputs)

    result = PassManager(PIPELINE, debug=True, debug_inputs=inputs).run(graph)
    assert result.records[-1].changed
    ops = graph.ops()
    layers = traced.loaded.config.num_hidden_layers
    assert "aten.scaled_dot_product_attention" not in ops and "aten.gelu" not in ops
    assert sum(n.op in ("irc.multi_head_attention", "irc.attention") for n in graph.nodes) == layers
    torch.testing.assert_close(interpret(graph, inputs), expected, atol=1e-6, rtol=1e-5)
    assert not PassManager("ort-fusions").run(graph).changed
