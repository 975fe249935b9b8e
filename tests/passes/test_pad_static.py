"""`pad-static` on traced models: the interpreter gives the same outputs before and after at the
fixed sizes, `fold-constants` then folds every size computation, and the pipeline string
round-trips."""

from __future__ import annotations

import pytest
import torch

from irc.errors import PassError
from irc.ir.interpreter import interpret
from irc.ir.parser import parse_graph
from irc.ir.printer import print_graph
from irc.passes import PassManager, parse_pipeline
from irc.passes.manager import graph_properties
from irc.passes.pad_static import PadStatic
from tests.models import traced_tiny

MODELS = [("gpt2", "causal-lm"), ("bert", "question-answering"), ("gpt2", "causal-lm-with-past")]


@pytest.mark.parametrize(("model_type", "task"), MODELS, ids=[f"{m}-{t}" for m, t in MODELS])
def test_pad_static_preserves_outputs_at_the_fixed_sizes(model_type: str, task: str) -> None:
    traced = traced_tiny(model_type, task)
    graph = traced.graph
    sizes = {"batch": 3, "sequence": 11, "past_sequence": 4}
    inputs = traced.make_inputs(sizes, seed=3)
    expected = interpret(graph, inputs)
    options = "batch=3,sequence=11" + (",past_sequence=4" if "past" in task else "")
    result = PassManager(f"pad-static{{{options}}},dce,fold-constants", debug=True, debug_inputs=inputs).run(
        graph
    )
    assert [r.changed for r in result.records][0] is True
    assert "static-shapes" in graph_properties(graph)
    torch.testing.assert_close(interpret(graph, inputs), expected)
    text = print_graph(graph)
    # Every size is a literal now: no size node, no size arithmetic is left to compute.
    assert "aten.sym_size" not in text and " = sym." not in text
    assert graph.metadata["pad_static"]["sizes"]["sequence"] == 11
    assert graph.metadata["pad_static"]["inputs"]["input_ids"] == "i64[batch, sequence]"


def test_a_second_run_changes_nothing() -> None:
    graph = traced_tiny("bert", "default").graph
    PassManager("pad-static{batch=2,sequence=5}").run(graph)
    text = print_graph(graph)
    assert PassManager("pad-static{batch=2,sequence=5}").run(graph).changed is False
    assert print_graph(graph) == text


def test_pipeline_text_round_trips() -> None:
    p = PadStatic(batch=2, sequence=32, sizes=("image_tokens:196",))
    assert str(p) == (
        "pad-static{batch=2,sequence=32,num_choices=-1,decoder_sequence=-1,past_sequence=-1,"
        "sizes=image_tokens:196}"
    )
    assert parse_pipeline(str(p)) == [p]


def test_sizes_option_fixes_other_dims() -> None:
    graph = parse_graph(
        "graph @g {\n  input %x : f32[batch, tokens]\n  %y = aten.relu(%x) : f32[batch, tokens]\n  output %y\n}\n"
    )
    PassManager("pad-static{sizes=tokens:7}").run(graph)
    assert str(graph.outputs[0].type) == "f32[1, 7]"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"batch": 0}, "batch must be >= 1"),
        ({"sizes": ("batch:2",)}, "give batch as its own option"),
        ({"sizes": ("a:1", "a:2")}, "dim a appears twice"),
    ],
)
def test_bad_options_fail_at_construction(options: dict, message: str) -> None:
    with pytest.raises(PassError, match=message):
        PadStatic(**options)
