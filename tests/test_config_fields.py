"""Every config field irc reads, through a minimal config: its default or a one-line error; bare
T5 and BART configs export with their cache; wrong values refused before the slow part."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import transformers

import irc
from irc.errors import IrcError
from irc.frontend.config_fields import (
    FIELDS,
    REQUIRED,
    ConfigFieldError,
    generation_settings,
    max_positions,
    read_field,
)
from tests.models import tiny_checkpoint

IRC = Path(__file__).resolve().parent.parent / "irc"


class Minimal(transformers.PretrainedConfig):
    """A config class that defines nothing: transformers 5 raises AttributeError for every
    field it lacks, which is what irc has to survive."""

    model_type = "minimal"


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_each_field_has_a_default_or_a_one_line_error(name: str) -> None:
    # A config class always has its model_type; a config without one is a bare object.
    config = SimpleNamespace() if name == "model_type" else Minimal()
    field = FIELDS[name]
    if field.default is REQUIRED:
        with pytest.raises(ConfigFieldError) as error:
            read_field(config, name)
        message = str(error.value)
        assert "\n" not in message and name in message and "set it in config.json" in message
    else:
        assert read_field(config, name) == field.default
    # An alias is read where the field's own name is absent (GPT-2's n_positions...).
    for alias in field.aliases:
        assert read_field(Minimal(**{alias: 7}), name) == 7


def test_every_config_field_irc_reads_is_in_the_table() -> None:
    """Direct reads would raise AttributeError on a minimal config: all go through read_field
    (or a getattr with a default), and every field named is one of FIELDS."""
    read = set()
    for path in IRC.rglob("*.py"):
        text = path.read_text()
        read |= set(re.findall(r"read_field\([a-z_]+, \"(\w+)\"\)", text))
        # `model.config.x`; a GenerationConfig (`config = model.generation_config`) has every field.
        direct = re.findall(r"\w\.config\.(\w+_token_id|vocab_size|max_position_embeddings)\b", text)
        assert not direct, f"{path} reads config.{direct[0]} directly"
    assert read and read <= set(FIELDS)


def test_generation_settings_prefer_the_generation_config() -> None:
    model = transformers.T5ForConditionalGeneration(
        transformers.T5Config(d_model=16, d_kv=4, d_ff=8, num_layers=1, num_heads=2, vocab_size=20)
    )
    settings = generation_settings(model)
    # A bare T5 names no decoder start: T5's convention, the pad token, is used and recorded.
    assert settings.start == 0 and ("decoder_start_token_id", "pad_token_id") in settings.sources
    model.generation_config.decoder_start_token_id = 5
    assert generation_settings(model).start == 5
    model.generation_config.decoder_start_token_id = None
    model.generation_config.pad_token_id = None
    model.config.pad_token_id = None
    with pytest.raises(ConfigFieldError, match="decoder_start_token_id"):
        generation_settings(model)
    assert max_positions(model.config) == (None, "")


def _bare_t5() -> torch.nn.Module:
    config = transformers.T5Config(d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4, vocab_size=99)
    return transformers.T5ForConditionalGeneration(config)


def _bare_bart() -> torch.nn.Module:
    config = transformers.BartConfig(
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=37,
        decoder_ffn_dim=37,
        vocab_size=99,
    )
    return transformers.BartForConditionalGeneration(config)


@pytest.mark.parametrize("build", [_bare_t5, _bare_bart], ids=["t5", "bart"])
def test_bare_seq2seq_configs_export_with_past(build, tmp_path: Path) -> None:
    torch.manual_seed(0)
    build().save_pretrained(tmp_path / "ckpt")
    raw = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    result = irc.export(tmp_path / "ckpt", task="seq2seq-lm-with-past", output=tmp_path / "out")
    assert result.report.passed and result.report.generation, result.report.format()
    if raw["model_type"] == "t5":
        assert "decoder_start_token_id" not in raw  # the case of the issue
        written = json.loads((tmp_path / "out" / "generation_config.json").read_text())
        assert written["decoder_start_token_id"] == 0  # what clients need to start decoding


@pytest.mark.parametrize("atol", [-1.0, 0.0, float("nan")])
def test_bad_atol_is_refused_before_loading(atol: float, tmp_path: Path) -> None:
    with pytest.raises(IrcError, match=r"--atol must be a positive number"):
        irc.export(tmp_path / "does-not-exist", task="causal-lm", output=tmp_path / "out", atol=atol)


def test_sequence_length_past_the_positions_names_the_limit(tmp_path: Path) -> None:
    folder = tiny_checkpoint(tmp_path / "gpt2", "gpt2", "causal-lm")
    with pytest.raises(IrcError) as error:
        irc.export(folder, task="causal-lm", output=tmp_path / "out", sequence_length=100)
    message = str(error.value)
    assert "\n" not in message and "64 (n_positions in config.json)" in message
    assert "at most 60" in message  # validation runs up to 4 tokens longer than the trace


def test_weights_that_do_not_fit_the_config_are_listed(tmp_path: Path) -> None:
    folder = tiny_checkpoint(tmp_path / "gpt2", "gpt2", "causal-lm")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "n_embd": 64}))
    with pytest.raises(IrcError) as error:
        irc.export(folder, task="causal-lm", output=tmp_path / "out")
    message = str(error.value)
    assert "\n" not in message and "above report" not in message
    assert "transformer.h.0.ln_1.bias [32] vs [64]" in message and "more" in message
