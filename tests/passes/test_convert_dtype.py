"""convert-dtype on traced models: the interpreter's outputs before and after agree within the
dtype's stated tolerance, the signature stays float32, ties stay one weight, and the verifier
passes."""

from __future__ import annotations

import pytest
import torch

from irc.errors import PassError
from irc.ir.dtypes import DType
from irc.ir.interpreter import interpret
from irc.ir.verifier import verify
from irc.passes import PassManager, parse_pipeline
from irc.passes.convert_dtype import ATOL, ConvertDtype, to_dtype
from tests.models import traced_tiny

CASES = [
    (model, task, dtype)
    for model, task in (("bert", "default"), ("gpt2", "causal-lm"), ("t5", "seq2seq-lm"))
    for dtype in ATOL
]


@pytest.mark.parametrize(("model_type", "task", "dtype"), CASES, ids=[f"{m}-{d}" for m, _, d in CASES])
def test_outputs_within_the_stated_tolerance(model_type: str, task: str, dtype: str) -> None:
    traced = traced_tiny(model_type, task)
    graph = traced.graph
    PassManager(parse_pipeline("simplify,dce,cse,fold-constants")).run(graph)
    inputs = traced.make_inputs({"batch": 3, "sequence": 11, "decoder_sequence": 5}, seed=1)
    before = interpret(graph, inputs)
    signature = [(v.name, str(v.type)) for v in (*graph.inputs, *graph.outputs)]
    ties = {k: [p.name for p in v] for k, v in graph.tie_groups().items()}

    PassManager(parse_pipeline(f"convert-dtype{{dtype={dtype}}}")).run(graph)
    verify(graph)
    after = interpret(graph, inputs)

    assert [(v.name, str(v.type)) for v in (*graph.inputs, *graph.outputs)] == signature
    assert {k: [p.name for p in v] for k, v in graph.tie_groups().items()} == ties
    target = ConvertDtype(dtype).target
    weights = [p for p in graph.params.values() if p.kind == "parameter"]
    assert weights and all(
        p.tensor_type.dtype is target and p.tensor().dtype == target.to_torch() for p in weights
    )
    for name, value in before.items():
        assert after[name].dtype == value.dtype
        torch.testing.assert_close(after[name], value, atol=ATOL[dtype], rtol=0.0)
    assert not ConvertDtype(dtype).run(graph), "a second run must change nothing"


def test_out_of_range_constants_stay_finite() -> None:
    data = torch.tensor([torch.finfo(torch.float32).min, -float("inf"), 1.5, 7e4])
    half = to_dtype(data, DType.F16)
    assert half.tolist() == [-32752.0, -float("inf"), 1.5, 32752.0]
    assert bool(torch.isfinite(to_dtype(data[:1], DType.BF16)).all())


def test_unknown_dtype_is_refused() -> None:
    with pytest.raises(PassError, match="float16, bfloat16"):
        ConvertDtype("float64")
