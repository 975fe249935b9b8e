"""The contract every backend's runner keeps, run against every backend: irc's ONNX and
TorchScript, Neuron's CPU padding runner, and a plugin backend written outside irc
(tests/plugin_pkg's `demo-interp`).

A runner is a context manager: `run` outside a `with` block is a BackendError; inside, it takes
inputs by graph input name (extra names are ignored, a missing one is a BackendError) and returns
outputs by graph output name; a folder with no artifact fails on entering the block, with a
BackendError that says so.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from irc.backends.base import Backend
from irc.errors import BackendError
from irc.ir.core import Graph
from tests.backends.util import GraphMaker


def _relu(static: bool) -> Graph:
    b = GraphMaker()
    x = b.input("x", "f32", (2, 4) if static else ("batch", "sequence"))
    b.output(b.op("aten.relu", x))
    return b.graph


def _onnx() -> tuple[Backend, dict[str, Graph]]:
    from irc.backends.onnx import OnnxBackend

    return OnnxBackend(), {"model": _relu(False)}


def _torchscript() -> tuple[Backend, dict[str, Graph]]:
    from irc.backends.torchscript import TorchScriptBackend

    return TorchScriptBackend(), {"model": _relu(False)}


def _neuron() -> tuple[Backend, dict[str, Graph]]:
    from irc.api import run_pipeline
    from irc.backends.neuron import NeuronBackend

    backend = NeuronBackend()
    graph = _relu(False)
    run_pipeline(graph, backend.bucket_pipeline({"batch": 2, "sequence": 4}, ""))
    return backend, {"sequence-4": graph}


def _plugin() -> tuple[Backend, dict[str, Graph]]:
    from tests.plugin_pkg.irc_demo_plugin.backend import InterpreterBackend

    return InterpreterBackend(), {"model": _relu(False)}


BACKENDS: dict[str, Callable[[], tuple[Backend, dict[str, Graph]]]] = {
    "onnx": _onnx,
    "torchscript": _torchscript,
    "neuron": _neuron,
    "plugin": _plugin,
}


@pytest.fixture(params=sorted(BACKENDS))
def lowered(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Backend, Path]:
    backend, graphs = BACKENDS[request.param]()
    backend.check_interface()
    files = backend.lower(graphs, tmp_path, backend.make_options())
    assert files and all(path.is_file() for path in files.values())
    return backend, tmp_path


def _x(batch: int = 2, sequence: int = 4) -> torch.Tensor:
    return torch.linspace(-1, 1, batch * sequence).reshape(batch, sequence)


def test_run_needs_a_with_block(lowered: tuple[Backend, Path]) -> None:
    backend, folder = lowered
    runner = backend.load(folder, "model")
    with pytest.raises(BackendError, match="inside a `with` block"):
        runner.run({"x": _x()})


def test_inputs_and_outputs_go_by_name(lowered: tuple[Backend, Path]) -> None:
    backend, folder = lowered
    with backend.load(folder, "model") as runner:
        outputs: dict[str, Any] = runner.run({"x": _x(), "extra": torch.ones(1)})
        assert list(outputs) == ["relu"]
        torch.testing.assert_close(outputs["relu"], torch.relu(_x()))
        with pytest.raises(BackendError, match="no value given for input"):
            runner.run({})


def test_a_folder_without_the_artifact_fails_on_entering(lowered: tuple[Backend, Path]) -> None:
    backend, folder = lowered
    with pytest.raises(BackendError, match="does not exist"):
        backend.load(folder / "missing", "model").__enter__()
