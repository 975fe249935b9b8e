"""The one export flow: each call's own timings, what is refused before the model is traced,
backend options in the pipeline grammar, and a backend written outside irc against the
documented interface exporting a task of four models."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import irc
import irc.frontend.traced
from irc.backends import register_backend, unregister_backend
from irc.backends.base import Backend, Runner
from irc.errors import BackendError, IrcError, PassError
from irc.ir.core import Graph
from irc.progress import Progress
from tests.models import tiny_checkpoint, tiny_model
from tests.plugin_pkg.irc_demo_plugin.backend import InterpreterBackend


def test_each_call_reports_its_own_timings(tmp_path: Path) -> None:
    """The second call of a process used to report the sum of both calls' stages."""
    checkpoint = tiny_checkpoint(tmp_path / "ckpt", "bert", "default")
    caller = Progress(enabled=False)
    results, walls = [], []
    for i, model in enumerate([checkpoint, tiny_model("bert")]):
        start = time.perf_counter()
        results.append(irc.export(model, None, tmp_path / f"out{i}", progress=caller))
        walls.append(time.perf_counter() - start)
    for result, wall in zip(results, walls, strict=True):
        assert set(result.timings) == {"load", "trace", "passes", "lower", "validate"}
        assert sum(result.timings.values()) <= wall
    # The caller's own Progress still sees every stage of both calls.
    for stage, seconds in caller.timings.items():
        assert seconds == pytest.approx(sum(r.timings[stage] for r in results))
    # Without a Progress each call gets a fresh, quiet one.
    again = irc.export(tiny_model("bert"), None, tmp_path / "out2", validate=False)
    assert set(again.timings) == {"load", "trace", "passes", "lower"}


@pytest.fixture
def no_tracing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever is refused here must be refused before the model is loaded or traced."""
    monkeypatch.setattr(irc.frontend.traced, "trace_components", lambda *a, **k: pytest.fail("traced"))


@pytest.mark.usefixtures("no_tracing")
@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"backend": "torchscript", "passes": "dce,cse"}, PassError, "torchscript backend requires untied"),
        ({"backend": "neuron", "passes": "dce"}, PassError, "neuron backend requires untied"),
        ({"backend": "onnx{opst=17}"}, BackendError, "unknown option 'opst'.*Did you mean opset"),
        ({"backend": "onnx{opset=x}"}, BackendError, "option opset of the onnx backend takes int, not 'x'"),
        ({"backend": "onnx{opset=9}"}, BackendError, "opset 9 is outside"),
        ({"backend": "torchscript", "ort_fusions": True}, IrcError, "--ort-fusions is an option of the onnx"),
        (
            {"backend": "onnx", "buckets": [8], "neuron_target": "inf1"},
            IrcError,
            "--buckets and --target are",
        ),
        ({"backend": "neuron", "neuron_target": "inf3"}, IrcError, "unknown Neuron target 'inf3'"),
        ({"passes": "dce,no-such-pass"}, PassError, "no-such-pass"),
    ],
)
def test_refused_before_tracing(options: dict[str, Any], error: type, message: str, tmp_path: Path) -> None:
    with pytest.raises(error, match=message):
        irc.export(object(), "default", tmp_path / "out", **options)
    assert not (tmp_path / "out").exists()


def test_backend_options_in_the_pipeline_grammar(tmp_path: Path) -> None:
    result = irc.export(
        tiny_model("bert"),
        None,
        tmp_path / "out",
        backend="onnx{opset=17,external_data=true}",
        validate=False,
    )
    manifest = json.loads((tmp_path / "out" / "irc.json").read_text())
    assert manifest["opset"] == 17 and manifest["options"]["external_data"] is True
    assert (tmp_path / "out" / "model.onnx_data").is_file() and result.artifact.name == "model.onnx"


class OldStyleBackend(Backend):
    """A backend written against irc's first interface."""

    name = "old-style"

    def supported_ops(self) -> set[str]:
        return set()

    def lower(self, graph: Graph, out_dir: Path, **options: Any) -> Path:  # type: ignore[override]
        raise AssertionError("never called")

    def load(self, out_dir: Path) -> Runner:  # type: ignore[override]
        raise AssertionError("never called")


@pytest.mark.usefixtures("no_tracing")
def test_a_backend_on_the_old_interface_is_told_what_changed(tmp_path: Path) -> None:
    register_backend("old-style", OldStyleBackend)
    try:
        with pytest.raises(BackendError) as caught:
            irc.export(object(), "default", tmp_path / "out", backend="old-style")
    finally:
        unregister_backend("old-style")
    message = str(caught.value)
    assert "implements the old interface lower(graph, out_dir, **options)" in message
    assert "lower(graphs: Mapping[str, Graph], out_dir, options) -> dict[str, Path]" in message
    assert "docs/tutorial-backend.md" in message


class RecordingBackend(InterpreterBackend):
    """tests/plugin_pkg's interpreter backend, also recording what `lower` was given."""

    name = "recording"
    label = "Recording"
    seen: list[list[str]] = []

    def lower(self, graphs: Mapping[str, Graph], out_dir: Path, options: Any) -> dict[str, Path]:
        type(self).seen.append(list(graphs))
        return super().lower(graphs, out_dir, options)


def test_a_backend_outside_irc_exports_four_models(tmp_path: Path) -> None:
    """seq2seq-lm-with-past through a backend that only implements the documented interface:
    four named graphs in one `lower` call, each validated by name, then generation."""
    register_backend("recording", RecordingBackend)
    try:
        result = irc.export(tiny_model("t5", "seq2seq-lm-with-past"), "seq2seq-lm-with-past", tmp_path / "out",
                            backend="recording")  # fmt: skip
    finally:
        unregister_backend("recording")
    components = ["encoder_model", "decoder_model", "decoder_with_past_model", "decoder_model_merged"]
    assert RecordingBackend.seen == [components]
    assert list(result.artifacts) == components
    assert all((tmp_path / "out" / f"{name}.irc").is_file() for name in components)
    assert result.report.passed and result.report.generation, result.report.format()
    assert {c.component for c in result.report.cases} == set(components)
    assert "Validating Recording model encoder_model" in result.report.format()
