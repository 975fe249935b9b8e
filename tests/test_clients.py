"""onnxruntime-genai on irc's output folders as they are: `Model(out)` reads genai_config.json,
fills position_ids and the mask itself, and generates the tokens transformers' generate() does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import irc
from tests.models import tiny_model

og = pytest.importorskip("onnxruntime_genai")

NEW_TOKENS = 20
PROMPTS = ([5, 17, 33], [41, 8, 60, 23, 77, 12, 9])
# Five families onnxruntime-genai names (llama, mistral, qwen2, phi3, gemma) and two it runs as
# its generic `decoder` type (gpt2 with learned positions, opt).
FAMILIES = ["gpt2", "llama", "mistral", "qwen2", "phi3", "gemma", "opt"]
# Tokens other than the tiny configs' eos (0; OPT's 2), so that 20 tokens are compared.
OVERRIDES = {"opt": {"eos_token_id": 98}}


def genai_greedy(folder: Path, prompt: list[int], new_tokens: int) -> list[int]:
    model = og.Model(str(folder))
    params = og.GeneratorParams(model)
    params.set_search_options(max_length=len(prompt) + new_tokens, do_sample=False)
    generator = og.Generator(model, params)
    generator.append_tokens(np.array([prompt], dtype=np.int32))
    tokens = []
    while not generator.is_done():
        generator.generate_next_token()
        tokens.append(int(generator.get_next_tokens()[0]))
    return tokens


@pytest.mark.parametrize("model_type", FAMILIES)
def test_genai_loads_the_folder_and_generates_like_transformers(model_type: str, tmp_path: Path) -> None:
    model = tiny_model(model_type, "causal-lm", initializer_range=0.7, **OVERRIDES.get(model_type, {}))
    out = tmp_path / "out"
    irc.export(model, task="causal-lm-with-past", output=out, validate=False)
    genai = json.loads((out / "genai_config.json").read_text())
    assert genai["model"]["decoder"]["num_hidden_layers"] == 2
    listed = json.loads((out / "irc.json").read_text())["client_files"]
    assert "genai_config.json" in listed["written"] and "config.json" in listed["written"]
    compared = []
    for prompt in PROMPTS:
        with torch.no_grad():
            expected = model.generate(torch.tensor([prompt]), max_new_tokens=NEW_TOKENS, do_sample=False)
        expected = expected[0, len(prompt) :].tolist()
        actual = genai_greedy(out, prompt, NEW_TOKENS)
        # generate() stops at the end-of-sequence token; genai too: compare up to it.
        assert actual == expected[: len(actual)] and len(actual) >= min(len(expected), NEW_TOKENS)
        compared += actual
    assert len(compared) >= NEW_TOKENS and len(set(compared)) >= 5, compared


def test_the_folder_has_the_checkpoints_config_generation_and_tokenizer_files(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    from tests.models import tiny_checkpoint

    folder = tiny_checkpoint(tmp_path / "llama", "llama", "causal-lm")
    vocab = {f"w{i}": i for i in range(99)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="w1"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="w1", eos_token="w0").save_pretrained(folder)
    (folder / "chat_template.jinja").write_text("{{ messages }}")
    tokenizer_files = sorted(p.name for p in folder.iterdir() if p.name.startswith(("tokenizer", "chat")))
    out = tmp_path / "out"
    irc.export(folder, task="causal-lm-with-past", output=out, validate=False)

    listed = json.loads((out / "irc.json").read_text())["client_files"]
    assert sorted(listed["copied"]) == sorted(["config.json", *tokenizer_files])
    assert (out / "config.json").read_bytes() == (folder / "config.json").read_bytes()
    assert AutoTokenizer.from_pretrained(out).encode("w5 w7") == [5, 7]
    generation = json.loads((out / "generation_config.json").read_text())
    assert (
        generation["eos_token_id"] == 0 and listed["generation"]["eos_token_id"] == "generation_config.json"
    )
    decoder = json.loads((out / "genai_config.json").read_text())["model"]["decoder"]
    # tests/models.py's llama: 4 heads of 8, 2 key/value heads, 2 layers, 64 positions.
    assert (decoder["num_attention_heads"], decoder["num_key_value_heads"], decoder["head_size"]) == (4, 2, 8)
    assert decoder["inputs"]["position_ids"] == "position_ids"
    assert json.loads((out / "genai_config.json").read_text())["model"]["context_length"] == 64
