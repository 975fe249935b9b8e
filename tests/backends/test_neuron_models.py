"""`irc export --backend neuron` on tiny models: one static TorchScript per sequence bucket,
validated through the padding runner at lengths under each bucket against the model run
unpadded; every op of each graph in the operator report; exit 2 with a plain message where the
Neuron SDK is missing (nothing installed, or PyPI's placeholder), the artifacts still written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import irc
from irc.backends.neuron.compile import NeuronSdkMissing
from irc.cli.main import main
from tests.models import tiny_checkpoint, tiny_model

# Positions for a 128 bucket (the tiny configs have 64; RoBERTa's ids start after its pad id).
POSITIONS = {"gpt2": {"n_positions": 128}, "roberta": {"max_position_embeddings": 132}}
CELLS = [
    (model_type, task)
    for model_type in ("bert", "roberta", "distilbert", "albert", "electra")
    for task in ("sequence-classification", "question-answering")
] + [("gpt2", "causal-lm")]
# No test may see an SDK module that another test imported.
pytestmark = pytest.mark.usefixtures("fresh_neuron_sdk")

BUCKETS = [32, 128]
PLACEHOLDER = (
    "WRONG PACKAGE. Please install the package from Neuron Repository - pip.repos.neuron.amazonaws.com"
)


def _tiny(model_type: str, task: str) -> Any:
    return tiny_model(model_type, task, **POSITIONS.get(model_type, {"max_position_embeddings": 128}))


def _export(model_type: str, task: str, out: Path, **options: Any) -> Any:
    """Export; the SDK is not installed here, so the result comes with NeuronSdkMissing."""
    with pytest.raises(NeuronSdkMissing) as caught:
        irc.export(
            _tiny(model_type, task), task, out, backend="neuron", buckets=BUCKETS, atol=1e-4, **options
        )
    return caught.value.result  # type: ignore[attr-defined]


@pytest.mark.parametrize(("model_type", "task"), CELLS, ids=[f"{m}-{t}" for m, t in CELLS])
def test_buckets_validate_at_lengths_under_each_bucket(model_type: str, task: str, tmp_path: Path) -> None:
    result = _export(model_type, task, tmp_path / "out")
    report = result.report
    assert report.passed, report.format()
    lengths = [case.sizes["sequence"] for case in report.cases]
    assert lengths == [1, 16, 32, 33, 80, 128]
    assert all(case.sizes["batch"] == 1 for case in report.cases)
    assert report.max_abs_diff() <= 1e-4
    out = tmp_path / "out"
    assert (out / "sequence-32" / "model.pt").is_file() and (out / "sequence-128" / "model.pt").is_file()
    manifest = json.loads((out / "irc.json").read_text())
    assert [b["sizes"] for b in manifest["buckets"]] == [{"batch": 1, "sequence": n} for n in BUCKETS]
    assert manifest["backend"] == "neuron" and manifest["neuron"]["compiled"] is False
    assert manifest["pipeline"][0].startswith("pad-static{batch=1,sequence=32},")


def test_report_lists_every_op_of_each_graph(tmp_path: Path) -> None:
    """The report of an inf1 export names each graph's ops exactly, with the SDK list's version."""
    from irc.api import run_pipeline, trace_model
    from irc.backends.neuron import NeuronBackend
    from irc.ir.copy import copy_graph

    traced = trace_model(_tiny("gpt2", "causal-lm"), "causal-lm")
    backend = NeuronBackend()
    graphs = []
    for length in BUCKETS:
        graph = copy_graph(traced.graph)
        run_pipeline(graph, backend.bucket_pipeline({"batch": 1, "sequence": length}))
        graphs.append(graph)
    backend.lower(
        {f"sequence-{n}": g for n, g in zip(BUCKETS, graphs, strict=True)},
        tmp_path,
        backend.parse_options("target=inf1"),
    )
    data = json.loads((tmp_path / "op-report.json").read_text())
    assert data["sdk"]["package"] == "torch-neuron" and "SDK 2.13.0" in data["sdk"]["version"]
    for graph, bucket in zip(graphs, data["buckets"], strict=True):
        assert {e["op"]: e["count"] for e in bucket["ops"]} == graph.ops()
        assert all(e["reason"] and e["provenance"] for e in bucket["ops"])
    verdicts = {e["op"]: e["supported"] for e in data["buckets"][0]["ops"]}
    # torch-neuron's list dropped aten::embedding (1.0.1001.0) and never had SDPA: CPU fallbacks.
    assert verdicts["aten.embedding"] is False and verdicts["aten.scaled_dot_product_attention"] is False
    assert verdicts["aten.layer_norm"] is True and verdicts["aten.addmm"] is True
    text = (tmp_path / "op-report.txt").read_text()
    assert "torch-neuron list, Neuron SDK 2.13.0" in text
    assert "[no ] aten.embedding x2 (aten::embedding)" in text and "transformer.wte" in text


def _placeholder(folder: Path) -> Path:
    """PyPI's `torch-neuron` 1.0 as it installs: each SDK module name raises ImportError."""
    for module in ("torch_neuron", "torch_neuronx"):
        (folder / module).mkdir(parents=True)
        (folder / module / "__init__.py").write_text(f"raise ImportError({PLACEHOLDER!r})\n")
    return folder


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ckpt") / "bert"
    return tiny_checkpoint(folder, "bert", "sequence-classification", max_position_embeddings=128)


@pytest.mark.parametrize("installed", ["placeholder", "nothing"])
def test_cli_without_the_sdk_writes_artifacts_and_exits_2(
    installed: str,
    checkpoint: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if installed == "placeholder":
        monkeypatch.syspath_prepend(str(_placeholder(tmp_path / "site")))
    out = tmp_path / "out"
    target = "inf1" if installed == "placeholder" else "inf2"
    argv = ["export", "--model", str(checkpoint), "--backend", "neuron", "--buckets", "32,128"]
    code = main([*argv, "--target", target, str(out)])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    err = " ".join(captured.err.split())
    assert err.startswith("error: the static artifacts (sequence-32/model.pt, sequence-128/model.pt)")
    assert "--extra-index-url=https://pip.repos.neuron.amazonaws.com" in err
    if installed == "placeholder":
        assert (
            "`import torch_neuron` failed (WRONG PACKAGE." in err
            and "pip install torch-neuron neuron-cc" in err
        )
    else:
        assert "No module named 'torch_neuronx'" in err and "pip install torch-neuronx neuronx-cc" in err
    assert "All good: max abs diff" in captured.out  # the validation log is printed before the error
    clients = json.loads((out / "irc.json").read_text())["client_files"]
    client_names = set(clients["copied"]) | set(clients["written"])
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert "config.json" in client_names
    assert [n for n in names if n not in client_names] == [
        "irc.json",
        "neuron.json",
        "op-report.json",
        "op-report.txt",
        "sequence-128/model.pt",
        "sequence-32/model.pt",
    ]
    assert json.loads((out / "op-report.json").read_text())["target"] == target


def test_cli_compiles_with_the_sdk(
    checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where the SDK imports, the export compiles every bucket and exits 0. The SDK here is a
    stand-in `torch_neuron` whose `trace` is torch.jit.trace (the real one cannot be installed
    on this machine); it checks irc's side: the call, the files, the manifest."""
    sdk = tmp_path / "sdk" / "torch_neuron"
    sdk.mkdir(parents=True)
    (sdk / "__init__.py").write_text(
        "import torch\n\ndef trace(module, example_inputs):\n"
        "    return torch.jit.trace(module, example_inputs)\n"
    )
    monkeypatch.syspath_prepend(str(sdk.parent))
    out = tmp_path / "out"
    argv = ["export", "--model", str(checkpoint), "--backend", "neuron", "--target", "inf1"]
    code = main([*argv, "--buckets", "16", "--batch-size", "2", str(out)])
    log = capsys.readouterr().out
    assert code == 0, log
    assert "Validating Neuron model at batch=2, sequence=1..." in log and "All good" in log
    assert f"Operator report (inf1): {out / 'op-report.txt'}" in log
    assert f"Model saved at: {out / 'neuron.json'}" in log
    manifest = json.loads((out / "irc.json").read_text())
    assert manifest["neuron"]["compiled"] is True
    assert manifest["buckets"] == [
        {
            "name": "sequence-16",
            "sizes": {"batch": 2, "sequence": 16},
            "model": "sequence-16/model.pt",
            "compiled": "sequence-16/model.neuron.pt",
        }
    ]
    assert (out / "sequence-16" / "model.neuron.pt").is_file()
