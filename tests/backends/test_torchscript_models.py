"""Tiny transformers models through `irc.export(..., backend="torchscript")`: validated at shapes
other than the traced one, loaded in a process where transformers cannot be imported, and run
at several batch sizes and sequence lengths from one `model.pt`."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch

import irc
from irc.backends import get_backend
from irc.cli.main import main
from tests.models import tiny_checkpoint, tiny_model

CELLS = [
    ("bert", "default"),
    ("bert", "masked-lm"),
    ("bert", "sequence-classification"),
    ("bert", "token-classification"),
    ("bert", "question-answering"),
    ("roberta", "default"),
    ("gpt2", "causal-lm"),
]
ROOT = Path(__file__).resolve().parents[2]


def _export(model_type: str, task: str, out: Path) -> Any:
    return irc.export(tiny_model(model_type, task), task, out, backend="torchscript", atol=1e-4)


@pytest.mark.parametrize(("model_type", "task"), CELLS, ids=[f"{m}-{t}" for m, t in CELLS])
def test_export_validates_at_other_shapes(model_type: str, task: str, tmp_path: Path) -> None:
    result = _export(model_type, task, tmp_path / "out")
    assert result.report.passed, result.report.format()
    assert result.artifact == tmp_path / "out" / "model.pt"
    traced = {"batch": 2, "sequence": 8}
    assert len(result.report.cases) >= 2 and all(c.sizes != traced for c in result.report.cases)
    assert result.report.max_abs_diff() <= 1e-4
    assert "Validating TorchScript model at" in result.report.format()
    manifest = json.loads((tmp_path / "out" / "irc.json").read_text())
    assert manifest["backend"] == "torchscript"
    assert manifest["pipeline"] == "untie-weights,simplify,dce,cse,fold-constants"


def test_cli_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`irc export --backend torchscript` on a checkpoint folder (distilbert), as a user runs it."""
    checkpoint = tiny_checkpoint(tmp_path / "ckpt", "distilbert", "default")
    out = tmp_path / "out"
    code = main(
        ["export", "--model", str(checkpoint), "--backend", "torchscript", "--atol", "1e-4", str(out)]
    )
    log = capsys.readouterr().out
    assert code == 0, log
    assert "Validating TorchScript model at batch=1, sequence=3..." in log and "All good" in log
    assert f"Model saved at: {out / 'model.pt'}" in log
    clients = json.loads((out / "irc.json").read_text())["client_files"]
    client_names = set(clients["copied"]) | set(clients["written"])
    assert "config.json" in client_names
    assert sorted(p.name for p in out.iterdir() if p.name not in client_names) == ["irc.json", "model.pt"]


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """One GPT-2 causal-lm export, shared by the tests that read its artifact."""
    model = tiny_model("gpt2", "causal-lm")
    out = tmp_path_factory.mktemp("gpt2") / "out"
    return irc.export(model, "causal-lm", out, backend="torchscript"), out


def test_gpt2_manifest_records_the_untied_head(gpt2: tuple[Any, Path]) -> None:
    result, out = gpt2
    manifest = json.loads((out / "irc.json").read_text())
    assert manifest["tie_groups"] == {}
    assert manifest["untied"] == {"transformer.wte.weight": ["transformer.wte.weight", "lm_head.weight"]}
    state = torch.jit.load(str(out / "model.pt")).state_dict()
    wte, head = state["transformer.wte.weight"], state["lm_head.weight"]
    assert torch.equal(wte, head)
    assert wte.untyped_storage().data_ptr() != head.untyped_storage().data_ptr()


def test_one_artifact_serves_three_lengths_and_two_batch_sizes(gpt2: tuple[Any, Path]) -> None:
    """Acceptance 3: nothing about the traced batch 2, sequence 8 is baked into `model.pt`."""
    _, out = gpt2
    model = tiny_model("gpt2", "causal-lm")
    with get_backend("torchscript").load(out) as runner:
        for batch in (1, 3):
            for sequence in (1, 5, 21):
                ids = torch.randint(
                    0, 99, (batch, sequence), generator=torch.Generator().manual_seed(sequence)
                )
                mask = torch.ones(batch, sequence, dtype=torch.int64)
                mask[0, : sequence // 3] = 0  # left padding in the first row
                positions = (mask.cumsum(-1) - 1).clamp(min=0)  # as generate() numbers them
                inputs = {"input_ids": ids, "attention_mask": mask, "position_ids": positions}
                with torch.no_grad():
                    want = model(**inputs, use_cache=False).logits
                got = runner.run(inputs)["logits"]
                torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


# Runs in a fresh interpreter: any import of transformers (or of irc's frontend, which would
# pull it in) fails before anything else is imported.
_NO_TRANSFORMERS = """
import sys

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "transformers" or name.startswith("irc.frontend"):
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, Refuse())
try:
    import transformers  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("the import blocker did not work")

import torch
from irc.backends import get_backend

folder, data = sys.argv[1], sys.argv[2]
saved = torch.load(data)
with get_backend("torchscript").load(folder) as runner:
    actual = runner.run(saved["inputs"])
for name, want in saved["expected"].items():
    torch.testing.assert_close(actual[name], want, atol=1e-4, rtol=1e-4)
plain = torch.jit.load(folder + "/model.pt")(*saved["inputs"].values())
torch.testing.assert_close(plain["logits"], saved["expected"]["logits"], atol=1e-4, rtol=1e-4)
assert not any(m.split(".")[0] == "transformers" for m in sys.modules), "transformers got imported"
print("OK", sorted(actual))
"""


def test_artifact_runs_where_transformers_cannot_be_imported(gpt2: tuple[Any, Path], tmp_path: Path) -> None:
    """Acceptance 2: reference outputs go to disk; a fresh process without transformers matches them."""
    _, out = gpt2
    model = tiny_model("gpt2", "causal-lm")
    ids = torch.randint(0, 99, (3, 7), generator=torch.Generator().manual_seed(5))
    positions = torch.arange(7).expand(3, 7)
    inputs = {
        "input_ids": ids,
        "attention_mask": torch.ones(3, 7, dtype=torch.int64),
        "position_ids": positions,
    }
    with torch.no_grad():
        expected = {"logits": model(**inputs, use_cache=False).logits}
    data = tmp_path / "reference.pt"
    torch.save({"inputs": inputs, "expected": expected}, data)
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_NO_TRANSFORMERS), str(out), str(data)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == "OK ['logits']"
