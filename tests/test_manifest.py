"""`irc.json`: every artifact folder says what made it, from what, and how it validated."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import onnx
import pytest

import irc
from irc.cli.main import main
from tests.models import tiny_checkpoint, tiny_model


@pytest.fixture(scope="module")
def gpt2_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("manifest")
    checkpoint = tiny_checkpoint(root / "ckpt", "gpt2", "causal-lm")
    out = root / "out"
    code = main(["export", "--model", str(checkpoint), "--task", "causal-lm", "--opset", "17", str(out)])
    assert code == 0
    return checkpoint, json.loads((out / "irc.json").read_text())


def _sha256_of(files: list[Path]) -> str:
    """The documented scheme, computed here independently: name, size, bytes, in name order."""
    digest = hashlib.sha256()
    for file in sorted(files):
        data = file.read_bytes()
        digest.update(f"{file.name}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()


def test_manifest_records_source_and_checksum(gpt2_export: tuple[Path, dict[str, Any]]) -> None:
    checkpoint, manifest = gpt2_export
    assert manifest["irc_version"] == irc.__version__
    assert manifest["model_type"] == "gpt2"
    record = manifest["checkpoint"]
    assert record["files"] == ["model.safetensors"]
    assert record["sha256"] == _sha256_of([checkpoint / "model.safetensors"])


def test_manifest_records_what_was_built(gpt2_export: tuple[Path, dict[str, Any]]) -> None:
    _, manifest = gpt2_export
    assert manifest["task"] == "causal-lm"
    assert manifest["backend"] == "onnx"
    assert manifest["pipeline"] == "simplify,dce,cse,fold-constants"
    assert manifest["opset"] == 17
    assert manifest["dynamic_dims"] == {
        "input_ids": {"0": "batch", "1": "sequence"},
        "attention_mask": {"0": "batch", "1": "sequence"},
        "position_ids": {"0": "batch", "1": "sequence"},
        "logits": {"0": "batch", "1": "sequence"},
    }
    assert manifest["tie_groups"] == {"transformer.wte.weight": ["transformer.wte.weight", "lm_head.weight"]}
    validation = manifest["validation"]
    assert validation["passed"] is True and validation["backend"] == "onnx"
    assert len(validation["cases"]) >= 2


def test_manifest_opset_is_the_one_written(tmp_path: Path) -> None:
    result = irc.export(tiny_model("bert"), output=tmp_path / "out", validate=False)
    proto = onnx.load(str(result.artifact), load_external_data=False)
    written = {o.domain: o.version for o in proto.opset_import}[""]
    manifest = json.loads((result.output / "irc.json").read_text())
    assert manifest["opset"] == written == 18
    assert manifest["validation"] is None
    # An in-memory module has no checkpoint files; the record says so instead of hashing nothing.
    assert manifest["checkpoint"]["sha256"] is None
    assert "in-memory" in manifest["checkpoint"]["note"]
    assert manifest["source"] == "<module BertModel>"


def test_checksum_changes_with_the_weights(tmp_path: Path) -> None:
    from irc.exporter.artifact import checkpoint_record

    checkpoint = tiny_checkpoint(tmp_path / "ckpt", "bert")
    before = checkpoint_record(str(checkpoint))["sha256"]
    (checkpoint / "config.json").write_text((checkpoint / "config.json").read_text() + "\n")
    assert checkpoint_record(str(checkpoint))["sha256"] == before, "config.json is not a weight file"
    data = bytearray((checkpoint / "model.safetensors").read_bytes())
    data[-1] ^= 1
    (checkpoint / "model.safetensors").write_bytes(bytes(data))
    assert checkpoint_record(str(checkpoint))["sha256"] != before
