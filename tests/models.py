"""Tiny random transformers models for tests: built from configs, never from a hub."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

TINY_CONFIGS: dict[str, dict[str, Any]] = {
    "bert": dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        vocab_size=99,
        max_position_embeddings=64,
        type_vocab_size=2,
    ),
    "roberta": dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        vocab_size=99,
        max_position_embeddings=72,
        pad_token_id=1,
    ),
    "distilbert": dict(
        dim=32, n_layers=2, n_heads=4, hidden_dim=37, vocab_size=99, max_position_embeddings=64
    ),
    "gpt2": dict(
        n_embd=32,
        n_layer=2,
        n_head=4,
        vocab_size=99,
        n_positions=64,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
    ),
}

AUTO_CLASSES = {
    "default": "AutoModel",
    "masked-lm": "AutoModelForMaskedLM",
    "causal-lm": "AutoModelForCausalLM",
    "sequence-classification": "AutoModelForSequenceClassification",
    "token-classification": "AutoModelForTokenClassification",
    "question-answering": "AutoModelForQuestionAnswering",
}


def tiny_config(model_type: str, **overrides: Any) -> Any:
    from transformers import AutoConfig

    return AutoConfig.for_model(model_type, **{**TINY_CONFIGS[model_type], **overrides})


def tiny_model(model_type: str, task: str = "default", seed: int = 0, **overrides: Any) -> Any:
    """A random-weight model of `model_type` with the head of `task`, in eval mode."""
    import transformers
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    torch.manual_seed(seed)
    auto = getattr(transformers, AUTO_CLASSES[task])
    return auto.from_config(tiny_config(model_type, **overrides)).eval()


def tiny_checkpoint(folder: Path, model_type: str, task: str = "default", **overrides: Any) -> Path:
    """Save a tiny model as a checkpoint folder (config.json + model.safetensors)."""
    tiny_model(model_type, task, **overrides).save_pretrained(folder)
    return folder


def traced_tiny(model_type: str, task: str = "default", **overrides: Any) -> Any:
    """`irc.api.Traced` for a tiny model traced at batch 2, sequence 8: `.graph`, `.make_inputs`,
    `.reference`, `.specs`, `.loaded`."""
    from irc.api import trace_model

    return trace_model(tiny_model(model_type, task, **overrides), task)
