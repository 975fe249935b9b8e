"""The Neuron backend's pieces on one tiny BERT: the padding runner (bucket choice, padding that
matters, the error past the largest bucket), the static check, the compile step's glue, and the
validation sizes under each bucket."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import torch

from irc.api import run_pipeline, trace_model
from irc.backends.neuron import NeuronBackend, NeuronOptions
from irc.backends.neuron.compile import NeuronSdkMissing
from irc.backends.neuron.runner import PaddingRunner
from irc.errors import BackendError, IrcError, LoweringError
from irc.ir.copy import copy_graph
from irc.validate import bucket_validation_sizes
from tests.models import tiny_model

# No test may see an SDK module that another test imported.
pytestmark = pytest.mark.usefixtures("fresh_neuron_sdk")

BUCKETS = [8, 16]


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """Tiny BERT question answering in buckets 8 and 16; its traced model for references."""
    traced = trace_model(tiny_model("bert", "question-answering"), "question-answering")
    backend = NeuronBackend()
    graphs = {}
    for length in BUCKETS:
        graph = copy_graph(traced.graph)
        run_pipeline(graph, backend.bucket_pipeline({"batch": 2, "sequence": length}))
        graph.metadata["pad_values"] = {"input_ids": 0}
        graphs[f"sequence-{length}"] = graph
    out = tmp_path_factory.mktemp("neuron")
    backend.lower(graphs, out, NeuronOptions(target="inf2"))
    return traced, out


def _inputs(traced: Any, length: int, batch: int = 2) -> dict[str, torch.Tensor]:
    return traced.make_inputs({"batch": batch, "sequence": length}, seed=length, pad=True)


def test_runner_pads_to_the_smallest_bucket_and_slices_back(artifact: tuple[Any, Path]) -> None:
    traced, out = artifact
    with PaddingRunner(out) as runner:
        for length, bucket in [(3, "sequence-8"), (8, "sequence-8"), (9, "sequence-16"), (16, "sequence-16")]:
            inputs = _inputs(traced, length)
            assert runner.bucket_for(inputs).name == bucket
            actual = runner.run(inputs)
            expected = traced.reference(inputs)
            assert actual["start_logits"].shape == (2, length)
            torch.testing.assert_close(actual, expected, atol=1e-4, rtol=0)


def test_a_smaller_batch_is_padded_too(artifact: tuple[Any, Path]) -> None:
    traced, out = artifact
    inputs = _inputs(traced, 5, batch=1)
    with PaddingRunner(out) as runner:
        torch.testing.assert_close(runner.run(inputs), traced.reference(inputs), atol=1e-4, rtol=0)


def test_padding_the_mask_with_ones_is_caught(artifact: tuple[Any, Path]) -> None:
    """The comparison can fail: padded positions that the mask does not hide change the logits
    beyond the 1e-4 the tests validate with."""
    traced, out = artifact
    inputs = _inputs(traced, 5)
    with PaddingRunner(out) as runner:
        runner.pads["attention_mask"] = 1
        wrong = runner.run(inputs)
    expected = traced.reference(inputs)
    assert (wrong["start_logits"] - expected["start_logits"]).abs().max() > 2e-4


def test_longer_than_the_largest_bucket_is_refused(artifact: tuple[Any, Path]) -> None:
    traced, out = artifact
    with PaddingRunner(out) as runner, pytest.raises(BackendError) as caught:
        runner.run(_inputs(traced, 17))
    message = str(caught.value)
    assert "inputs at batch=2, sequence=17 fit no bucket" in message
    assert "its buckets: batch=2, sequence=8; batch=2, sequence=16" in message
    with PaddingRunner(out) as runner, pytest.raises(BackendError, match="batch=3"):
        runner.run(_inputs(traced, 4, batch=3))


def test_the_backend_takes_static_graphs_only(tmp_path: Path) -> None:
    graph = trace_model(tiny_model("bert", "default"), "default").graph
    with pytest.raises(LoweringError, match=r"put pad-static\{batch=B,sequence=S\} first"):
        NeuronBackend().lower({"model": graph}, tmp_path, NeuronOptions())
    with pytest.raises(BackendError, match="runs pad-static itself"):
        NeuronBackend().bucket_pipeline({"batch": 1, "sequence": 8}, "pad-static,dce")


def test_compile_traces_each_bucket_with_the_sdk(
    artifact: tuple[Any, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compile step's glue, with a stand-in `torch_neuronx` whose `trace` is torch.jit.trace
    (the real SDK cannot be installed here): each bucket gets a `model.neuron.pt` that loads and
    computes what the static model computes, and neuron.json records it."""
    traced, out = artifact
    work = tmp_path / "copy"
    work.mkdir()
    for path in out.rglob("*"):
        target = work / path.relative_to(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.is_file():
            target.write_bytes(path.read_bytes())
    sdk = tmp_path / "sdk" / "torch_neuronx"
    sdk.mkdir(parents=True)
    (sdk / "__init__.py").write_text(
        "import torch\n\ndef trace(module, example_inputs):\n"
        "    return torch.jit.trace(module, example_inputs)\n"
    )
    monkeypatch.syspath_prepend(str(sdk.parent))
    compiled = NeuronBackend().compile(work)
    assert [p.relative_to(work).as_posix() for p in compiled] == [
        "sequence-8/model.neuron.pt",
        "sequence-16/model.neuron.pt",
    ]
    manifest = json.loads((work / "neuron.json").read_text())
    assert [b["compiled"] for b in manifest["buckets"]] == [
        "sequence-8/model.neuron.pt",
        "sequence-16/model.neuron.pt",
    ]
    inputs = [t for t in _inputs(traced, 8).values()]
    with PaddingRunner(work) as runner:
        static = runner.buckets[0].runner.run(dict(zip(runner.inputs, inputs, strict=True)))
    module = torch.jit.load(str(compiled[0]))
    start, end = module(*inputs)
    torch.testing.assert_close((start, end), (static["start_logits"], static["end_logits"]))


def test_validation_sizes_cover_each_bucket() -> None:
    sizes = bucket_validation_sizes([{"batch": 1, "sequence": 128}, {"batch": 1, "sequence": 32}])
    assert [s["sequence"] for s in sizes] == [1, 16, 32, 33, 80, 128]
    assert all(s["batch"] == 1 for s in sizes)


def test_ids_are_padded_with_the_pad_token(tmp_path: Path) -> None:
    """GPT-2's classification head reads the last token that is not the pad token, so padding
    ids with the config's pad id keeps its answer, and padding with another id changes it."""
    import irc

    model = tiny_model("gpt2", "sequence-classification", n_positions=128)
    with pytest.raises(NeuronSdkMissing) as caught:
        irc.export(model, "sequence-classification", tmp_path / "out", backend="neuron", buckets=[16])
    result = caught.value.result  # type: ignore[attr-defined]
    assert result.report.passed, result.report.format()
    traced = trace_model(model, "sequence-classification")
    inputs = traced.make_inputs({"batch": 1, "sequence": 5}, seed=2)
    with PaddingRunner(tmp_path / "out") as runner:
        assert runner.pads["input_ids"] == model.config.pad_token_id == 0
        runner.pads["input_ids"] = 7
        wrong = runner.run(inputs)["logits"]
    assert (wrong - traced.reference(inputs)["logits"]).abs().max() > 1e-3


@pytest.mark.parametrize(
    ("model_type", "task", "options", "message"),
    [
        (
            "bert",
            "default",
            {"backend": "onnx", "buckets": [8]},
            "--buckets is an option of the neuron backend",
        ),
        ("bert", "default", {"buckets": [0]}, "--buckets takes positive sequence lengths"),
        ("bert", "default", {"neuron_target": "inf3"}, "unknown Neuron target 'inf3'"),
        ("bert", "default", {"buckets": [32, 128]}, "bucket 128 is longer than the 64 positions"),
        ("gpt2", "causal-lm-with-past", {}, "also has the dim(s) past_sequence"),
    ],
)
def test_bad_neuron_exports_say_what_to_do(
    model_type: str, task: str, options: dict[str, Any], message: str, tmp_path: Path
) -> None:
    import irc

    options = {"backend": "neuron", **options}
    with pytest.raises(IrcError, match=re.escape(message)) as caught:
        irc.export(tiny_model(model_type, task), task, tmp_path / "out", **options)
    assert not isinstance(caught.value, NeuronSdkMissing)
    assert not (tmp_path / "out").exists()
