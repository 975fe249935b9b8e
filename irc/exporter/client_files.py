"""The files runtimes read beside the model: an output folder that loads as it is.

- `config.json` and `generation_config.json`: Optimum's ORT models read both. The generation
  config is the checkpoint's with what irc's generation check used filled in (a bare T5 names no
  decoder start token; clients need one).
- The tokenizer and processor files the checkpoint folder has (`TOKENIZER_FILES`), copied.
- `genai_config.json` for a decoder-only ONNX export with its cache: what onnxruntime-genai's
  `Model(folder)` reads (its src/config.cpp): I/O names, layers, heads, key/value heads, head
  size, context length, bos/eos/pad and search defaults from the generation config.
  onnxruntime-genai fills `position_ids` itself when the model has that input, and derives the
  mask from `pad_token_id` in a batch's prompts.
- An encoder-decoder's four models already carry the names Optimum's ORTModelForSeq2SeqLM looks
  for (`encoder_model.onnx`, `decoder_model.onnx`, `decoder_with_past_model.onnx`).

`write_client_files` returns what it wrote, for `irc.json` (`client_files`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from irc.frontend.config_fields import generation_settings, max_positions, read_field
from irc.frontend.state_cache import has_states

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
    "spiece.model",
    "tokenizer.model",
    "sentencepiece.bpe.model",
    "source.spm",
    "target.spm",
    "preprocessor_config.json",
    "processor_config.json",
    "video_preprocessor_config.json",  # qwen2-vl's processor reads it beside the image one
    "chat_template.json",
    "chat_template.jinja",
)

GENAI_TYPES = frozenset({"gemma", "gemma2", "granite", "llama", "mistral", "phi", "phi3", "qwen2", "qwen3"})
"""Model types onnxruntime-genai names as such (src/models/model_type.h); another decoder is
its generic `decoder` type, run by the same decoder-only loop. Not `gpt2`: genai's gpt2 type
is its older loop for one fused `past_%d` cache input per layer."""


DEFAULT_CONTEXT = 2048
"""genai_config's context length for a model whose config names no position limit."""


def write_client_files(
    folder: Path, loaded: Any, specs: dict[str, tuple[Any, ...]], backend: str
) -> dict[str, Any]:
    """Write the client files for `loaded` (a `LoadedModel`) beside the artifact in `folder`;
    `specs` are the input specs of each component. Returns the record for irc.json."""
    source = Path(loaded.source) if not loaded.source.startswith("<") else None
    record: dict[str, Any] = {"copied": [], "written": []}
    if source is not None and (source / "config.json").is_file():
        shutil.copy2(source / "config.json", folder / "config.json")
        record["copied"].append("config.json")
    else:
        loaded.config.to_json_file(str(folder / "config.json"))
        record["written"].append("config.json")
    if getattr(loaded.module, "generation_config", None) is not None:  # heads that generate
        record["generation"] = _write_generation_config(folder, loaded.module)
        record["written"].append("generation_config.json")
    for name in TOKENIZER_FILES:
        if source is not None and (source / name).is_file():
            shutil.copy2(source / name, folder / name)
            record["copied"].append(name)
    if backend == "onnx" and list(specs) == ["model"] and loaded.task.name == "causal-lm-with-past":
        if has_states([s.name for s in specs["model"] if s.kind == "past"]):
            # onnxruntime-genai's decoder knows only per-layer keys and values.
            record["genai_config"] = (
                "not written: the cache holds convolution / recurrent states or indexer keys, which onnxruntime-genai "
                "cannot feed back; run the model with your own loop (README, Hybrid caches)"
            )
            return record
        genai = genai_config(loaded, specs["model"])
        (folder / "genai_config.json").write_text(json.dumps(genai, indent=2) + "\n")
        record["written"].append("genai_config.json")
    return record


def _write_generation_config(folder: Path, model: Any) -> dict[str, Any]:
    """The checkpoint's generation config, with the decoder start token the check used; returns
    where each setting came from."""
    import copy

    settings = generation_settings(model)
    generation = copy.deepcopy(model.generation_config)
    if settings.start is not None and generation.decoder_start_token_id is None:
        generation.decoder_start_token_id = settings.start
    generation.save_pretrained(str(folder))
    return dict(settings.sources)


def genai_config(loaded: Any, specs: tuple[Any, ...]) -> dict[str, Any]:
    """onnxruntime-genai's genai_config.json for a decoder-only model with its cache."""
    config, model_type = loaded.config, loaded.model_type
    past = [s for s in specs if s.kind == "past"]
    heads_kv, head_size = int(past[0].axes[1]), int(past[0].axes[3])
    names = {s.name for s in specs}
    settings = generation_settings(loaded.module)
    eos = list(settings.eos)
    pad = settings.pad if settings.pad is not None else (eos[0] if eos else 0)
    context, _ = max_positions(config)
    inputs = {"input_ids": "input_ids", "attention_mask": "attention_mask"}
    if "position_ids" in names:
        inputs["position_ids"] = "position_ids"
    decoder = {
        "session_options": {"log_id": "onnxruntime-genai", "provider_options": []},
        "filename": "model.onnx",
        "head_size": head_size,
        "hidden_size": int(read_field(config, "hidden_size")),
        "inputs": {
            **inputs,
            "past_key_names": "past_key_values.%d.key",
            "past_value_names": "past_key_values.%d.value",
        },
        "outputs": {
            "logits": "logits",
            "present_key_names": "present.%d.key",
            "present_value_names": "present.%d.value",
        },
        "num_attention_heads": int(read_field(config, "num_attention_heads")),
        "num_hidden_layers": len(past) // 2,
        "num_key_value_heads": heads_kv,
    }
    return {
        "model": {
            "bos_token_id": settings.bos if settings.bos is not None else (eos[0] if eos else 0),
            "context_length": int(context or DEFAULT_CONTEXT),
            "decoder": decoder,
            "eos_token_id": eos[0] if len(eos) == 1 else eos,
            "pad_token_id": pad,
            "type": model_type if model_type in GENAI_TYPES else "decoder",
            "vocab_size": int(read_field(config, "vocab_size")),
        },
        "search": _search(loaded.module.generation_config, int(context or DEFAULT_CONTEXT)),
    }


def _search(generation: Any, context: int) -> dict[str, Any]:
    """Search defaults from the generation config; greedy unless it samples. `max_length` is
    the context length: genai caps prompt plus new tokens there."""

    def get(name: str, default: Any) -> Any:
        value = getattr(generation, name, None)
        return default if value is None else value

    sample = bool(get("do_sample", False))
    return {
        "diversity_penalty": float(get("diversity_penalty", 0.0)),
        "do_sample": sample,
        "early_stopping": bool(get("early_stopping", True)),
        "length_penalty": float(get("length_penalty", 1.0)),
        "max_length": context,
        "min_length": int(get("min_length", 0)),
        "no_repeat_ngram_size": int(get("no_repeat_ngram_size", 0)),
        "num_beams": int(get("num_beams", 1)),
        "num_return_sequences": int(get("num_return_sequences", 1)),
        "past_present_share_buffer": False,  # irc's present is past + new tokens, not a fixed buffer
        "repetition_penalty": float(get("repetition_penalty", 1.0)),
        "temperature": float(get("temperature", 1.0)),
        "top_k": int(get("top_k", 50)) if sample else 1,
        "top_p": float(get("top_p", 1.0)),
    }
