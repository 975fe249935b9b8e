"""Optimum's ORTModelForCausalLM and ORTModelForSeq2SeqLM on irc's output folders as they are,
in a venv of their own (transformers 4.53: benchmarks/optimum_venv.sh builds it, on first use a
few minutes of pip): no warning on load or generate, the tokens transformers 5 generates.

    PYTHONPATH=$PWD python -m pytest -m slow tests/test_clients_optimum.py -n 0
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import irc
from irc.validate.generate import left_padded_prompt
from tests.models import tiny_model

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NEW_TOKENS = 12
LENGTHS = (3, 7, 11)
CAUSAL = {"gpt2": {}, "llama": {"eos_token_id": 98}, "opt": {"eos_token_id": 98}, "qwen2": {}}


@pytest.fixture(scope="module")
def optimum_python() -> str:
    done = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "optimum_venv.sh")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def run_optimum(python: str, folder: Path, kind: str, ids: torch.Tensor, mask: torch.Tensor) -> dict:
    script = ROOT / "benchmarks" / "optimum_client.py"
    args = [str(folder), kind, json.dumps(ids.tolist()), json.dumps(mask.tolist()), str(NEW_TOKENS)]
    # Optimum's transformers 4.53 must read config.json as transformers 5.24 wrote it.
    done = subprocess.run([python, str(script), *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rows(tokens: torch.Tensor, eos: int | None) -> list[list[int]]:
    """Each row up to and including its end-of-sequence token: both sides pad after it."""
    rows = []
    for row in tokens.tolist():
        rows.append(row[: row.index(eos) + 1] if eos in row else row)
    return rows


@pytest.mark.parametrize("model_type", sorted(CAUSAL))
def test_ort_model_for_causal_lm_loads_and_generates(
    model_type: str, optimum_python: str, tmp_path: Path
) -> None:
    model = tiny_model(model_type, "causal-lm", initializer_range=0.7, **CAUSAL[model_type])
    out = tmp_path / "out"
    irc.export(model, task="causal-lm-with-past", output=out, validate=False)
    raw = torch.randint(5, 90, (len(LENGTHS), max(LENGTHS)), generator=torch.Generator().manual_seed(4))
    ids, mask = left_padded_prompt(raw, LENGTHS, model.generation_config.pad_token_id)
    with torch.no_grad():
        expected = model.generate(
            input_ids=ids, attention_mask=mask, do_sample=False, max_new_tokens=NEW_TOKENS
        )
    result = run_optimum(optimum_python, out, "causal", ids, mask)
    assert result["warnings"] == [], result["warnings"]
    eos = model.generation_config.eos_token_id
    assert _rows(torch.tensor(result["tokens"]), eos) == _rows(expected[:, ids.shape[1] :], eos)


@pytest.mark.parametrize("model_type", ["bart", "t5"])
def test_ort_model_for_seq2seq_lm_loads_and_generates(
    model_type: str, optimum_python: str, tmp_path: Path
) -> None:
    model = tiny_model(model_type, "seq2seq-lm", initializer_range=0.7)
    out = tmp_path / "out"
    irc.export(model, task="seq2seq-lm-with-past", output=out, validate=False)
    ids = torch.randint(5, 90, (2, 9), generator=torch.Generator().manual_seed(5))
    ids[:, -1] = model.generation_config.eos_token_id
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0  # a padded encoder row
    with torch.no_grad():
        expected = model.generate(
            input_ids=ids, attention_mask=mask, do_sample=False, max_new_tokens=NEW_TOKENS
        )
    result = run_optimum(optimum_python, out, "seq2seq", ids, mask)
    assert result["warnings"] == [], result["warnings"]
    eos = model.generation_config.eos_token_id
    assert _rows(torch.tensor(result["tokens"]), eos) == _rows(expected[:, 1:], eos)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-m", "slow", "-n", "0", "-q"]))
