"""`irc validate --bisect`: the bisection strategy against a fake checker, the graph surgery, and
the whole thing on a tiny BERT whose ONNX lowering of one op this test breaks (the shipped
table is never touched: the break is a monkeypatch here, or a sitecustomize in a temp folder
for the CLI's subprocess)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import irc.api
from irc.backends.onnx import registry
from irc.ir.parser import parse_graph
from irc.validate.bisect import first_failing
from irc.validate.surgery import prefix
from tests.models import tiny_checkpoint

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("culprit", [1, 2, 7, 63, 64])
def test_first_failing_finds_the_first_bad_prefix(culprit: int) -> None:
    calls: list[int] = []

    def fails(k: int) -> bool:
        calls.append(k)
        return k >= culprit

    assert first_failing(64, fails) == culprit
    assert len(calls) <= 8  # log2(64) + 1 + the full run
    assert first_failing(64, lambda k: False) is None
    assert first_failing(0, fails) is None


def test_first_failing_on_a_non_monotone_check_still_finds_a_boundary() -> None:
    bad = {5, 6, 20, 21, 22}  # a divergence at node 4 that later nodes mask, then another
    found = first_failing(22, lambda k: k in bad)
    assert found in bad and found - 1 not in bad


GRAPH = """\
graph @g {
  input %x : f32[batch, 4]
  param %w : f32[4, 4] parameter
  param %v : f32[4, 4] parameter
  %n = aten.sym_size.int(%x, 0) : sym<i64: batch>
  %a = aten.linear(%x, %w) : f32[batch, 4]
  %b = aten.relu(%a) : f32[batch, 4]
  %c = aten.linear(%b, %v) : f32[batch, 4]
  %d = aten.add.Tensor(%c, %a) : f32[batch, 4]
  output %d, %n
}
"""


def test_prefix_marks_the_values_crossing_the_cut_as_outputs() -> None:
    graph = parse_graph(GRAPH)
    cut = prefix(graph, 3)
    assert [v.name for v in cut.outputs] == ["a", "b"]  # %n is a size, not a tensor
    assert [n.op for n in cut.nodes] == ["aten.sym_size.int", "aten.linear", "aten.relu"]
    assert sorted(cut.params) == ["w"]
    assert [v.name for v in prefix(graph, 5).outputs] == ["d"]
    assert len(graph) == 5 and [v.name for v in graph.outputs] == ["d", "n"]  # the original is intact


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bisect")
    checkpoint = tiny_checkpoint(folder / "bert", "bert", "default")
    irc.api.export(checkpoint, None, folder / "onnx")
    return folder / "onnx"


def _wrong(g: Any, node: Any, input: Any, *args: Any, **kwargs: Any) -> str:
    """A lowering that forgets what the op computes: the input passes through."""
    return str(g.op("Identity", g.tensor(input)))


def test_a_correct_lowering_has_no_divergence(artifact: Path) -> None:
    result = irc.api.bisect(artifact)
    assert result.divergence is None and result.checks == [result.nodes]
    assert "agrees with the IR interpreter" in result.format()


@pytest.mark.parametrize(
    ("op", "module"),
    [
        ("aten.gelu", "encoder.layer.0.intermediate.intermediate_act_fn"),
        ("aten.layer_norm", "embeddings.LayerNorm"),
    ],
)
def test_bisect_names_the_node_whose_lowering_is_broken(
    artifact: Path, monkeypatch: pytest.MonkeyPatch, op: str, module: str
) -> None:
    monkeypatch.setitem(registry.LOWERINGS, op, _wrong)
    result = irc.api.bisect(artifact)
    divergence = result.divergence
    assert divergence is not None, result.format()
    first = next(i for i, node in enumerate(result_graph_nodes(artifact)) if node.op == op)
    assert (divergence.index, divergence.node.op) == (first, op)
    assert divergence.node.meta["module"] == module
    assert divergence.node.meta["source"]  # file:line in the model's code
    assert 0.01 < divergence.max_abs_diff < float("inf")
    text = result.format()
    assert f"= {op}" in text and f"module: {module}" in text and "max abs diff" in text
    assert len(result.checks) <= 9  # bisection, not one run per node


def result_graph_nodes(artifact: Path) -> list[Any]:
    """The nodes of the graph the artifact was lowered from, traced again."""
    manifest = json.loads((artifact / "irc.json").read_text())
    traced = irc.api.trace_model(manifest["source"], manifest["task"])
    irc.api.run_pipeline(traced.graph, manifest["pipeline"])
    return traced.graph.nodes


SITECUSTOMIZE = """\
from irc.backends.onnx import registry


def _wrong(g, node, input, *args, **kwargs):
    return g.op("Identity", g.tensor(input))


registry.LOWERINGS["aten.layer_norm"] = _wrong
"""


def _irc(*args: str, site: Path | None = None) -> subprocess.CompletedProcess[str]:
    paths = [str(ROOT)] + ([str(site)] if site else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.run(
        [sys.executable, "-m", "irc.cli", *args], env=env, capture_output=True, text=True, timeout=600
    )


def test_cli_bisect_with_a_broken_lowering(artifact: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    run = _irc("validate", "--bisect", str(artifact), site=site)
    assert run.returncode == 1, run.stderr
    assert "First diverging node: #" in run.stdout and "= aten.layer_norm" in run.stdout
    assert "module: embeddings.LayerNorm" in run.stdout

    clean = _irc("validate", "--bisect", str(artifact))
    assert clean.returncode == 0, clean.stderr
    assert "agrees with the IR interpreter" in clean.stdout


def test_cli_bisect_needs_a_usable_model(artifact: Path, tmp_path: Path) -> None:
    moved = shutil.copytree(artifact, tmp_path / "moved")
    manifest = json.loads((moved / "irc.json").read_text())
    source = manifest["source"]
    manifest["source"] = str(tmp_path / "gone")
    (moved / "irc.json").write_text(json.dumps(manifest))
    run = _irc("validate", "--bisect", str(moved))
    assert run.returncode == 2 and "pass the checkpoint folder with --model" in run.stderr
    assert "Traceback" not in run.stderr
    assert _irc("validate", "--bisect", str(moved), "--model", source).returncode == 0
    run = _irc("validate", "--bisect", str(tmp_path))
    assert run.returncode == 2 and "has no irc.json" in run.stderr
    manifest.update(source=source, components={"encoder_model": {}, "decoder_model": {}})
    (moved / "irc.json").write_text(json.dumps(manifest))
    run = _irc("validate", "--bisect", str(moved))
    assert run.returncode == 2
    assert "holds several models (encoder_model, decoder_model); name one with --component" in run.stderr
