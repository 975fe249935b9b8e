"""`irc export` end to end: tiny checkpoints -> validated ONNX artifacts, as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import onnxruntime as ort
import pytest

from irc.cli.main import main
from tests.models import tiny_checkpoint

CASES = [
    ("bert", "default"),
    ("bert", "masked-lm"),
    ("bert", "causal-lm"),
    ("bert", "sequence-classification"),
    ("bert", "token-classification"),
    ("bert", "question-answering"),
    ("distilbert", "default"),
    ("roberta", "default"),
    ("gpt2", "causal-lm"),
]


@pytest.mark.parametrize(("model_type", "task"), CASES, ids=[f"{m}-{t}" for m, t in CASES])
def test_export_validates_at_other_shapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], model_type: str, task: str
) -> None:
    checkpoint = tiny_checkpoint(tmp_path / "ckpt", model_type, task)
    out = tmp_path / "out"
    code = main(["export", "--model", str(checkpoint), "--task", task, "--atol", "1e-4", str(out)])
    log = capsys.readouterr().out
    assert code == 0, log
    assert "-[x]" not in log and "All good" in log
    traced = {"batch": 2, "sequence": 8}
    manifest = json.loads((out / "irc.json").read_text())
    cases = manifest["validation"]["cases"]
    assert len(cases) >= 2 and all(c["sizes"] != traced for c in cases)
    for case in cases:
        assert all(o["passed"] and o["max_abs_diff"] <= 1e-4 for o in case["outputs"].values())

    onnx.checker.check_model(str(out / "model.onnx"), full_check=True)
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    for node_arg in session.get_inputs():
        assert node_arg.shape == ["batch", "sequence"], node_arg


def test_gpt2_tied_weights_are_one_group_and_one_initializer(tmp_path: Path) -> None:
    import irc
    from tests.models import tiny_model

    model = tiny_model("gpt2", "causal-lm")
    graph = irc.trace(model, task="causal-lm")
    groups = graph.tie_groups()
    assert [sorted(p.name for p in g) for g in groups.values()] == [
        ["lm_head.weight", "transformer.wte.weight"]
    ]
    result = irc.export(model, task="causal-lm", output=tmp_path / "gpt2")
    proto = onnx.load(str(result.artifact))
    shapes = [tuple(init.dims) for init in proto.graph.initializer]
    assert shapes.count((99, 32)) == 1, shapes
    assert result.manifest["tie_groups"] == {
        "transformer.wte.weight": ["transformer.wte.weight", "lm_head.weight"]
    }


def test_python_api_on_in_memory_module(tmp_path: Path) -> None:
    import irc
    from irc.ir.core import Graph
    from tests.models import tiny_model

    model = tiny_model("bert", "question-answering")
    graph = irc.trace(model, task="question-answering")
    assert isinstance(graph, Graph)
    assert [v.name for v in graph.outputs] == ["start_logits", "end_logits"]
    assert [str(v.type) for v in graph.inputs] == ["i64[batch, sequence]"] * 3
    result = irc.export(model, task="question-answering", output=tmp_path / "qa")
    assert result.report.passed and result.artifact.is_file()
    assert "All good" in result.report.format()
