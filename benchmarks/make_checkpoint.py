"""Write random-init checkpoints of real sizes, for the export benchmark and the large-model test.

    python benchmarks/make_checkpoint.py llama-3b ~/.cache/irc-bench/llama-3b [--dtype bfloat16]
    python benchmarks/make_checkpoint.py bert-base ~/.cache/irc-bench/bert-base
    python benchmarks/make_checkpoint.py qwen2-0.5b ~/.cache/irc-bench/qwen2-0.5b

Small models (`bert-base`, `gpt2`, `t5-small`) are built in memory and written with
`save_pretrained`. `llama-3b` (Llama 3.2 3B's shape: 3.2B parameters, tied embeddings) is built on
the meta device and written shard by shard, each tensor drawn, written and dropped, so this script
never holds more than one shard (about 1 GB) however large the model is. `qwen2-0.5b` (Qwen2-0.5B's
shape: 494M parameters, tied embeddings, grouped-query attention with 2 KV heads) is written the
same way, with a small word-level tokenizer beside it, because onnxruntime-genai's model builder
reads one from the folder.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

SHARD_BYTES = 1 << 30
INIT_STD = 0.02


def config_of(name: str) -> Any:
    import transformers

    if name == "bert-base":
        return transformers.BertConfig()  # 12 x 768, vocab 30522: bert-base-uncased's shape
    if name == "gpt2":
        return transformers.GPT2Config()  # 12 x 768, vocab 50257: gpt2's shape (124M)
    if name == "t5-small":
        return transformers.T5Config(d_model=512, d_ff=2048, num_layers=6, num_heads=8, d_kv=64)
    if name == "llama-3b":
        return transformers.LlamaConfig(  # Llama 3.2 3B
            vocab_size=128256,
            hidden_size=3072,
            intermediate_size=8192,
            num_hidden_layers=28,
            num_attention_heads=24,
            num_key_value_heads=8,
            max_position_embeddings=8192,
            rope_theta=500000.0,
            tie_word_embeddings=True,
            architectures=["LlamaForCausalLM"],
        )
    if name == "qwen2-0.5b":
        return transformers.Qwen2Config(  # Qwen2-0.5B
            vocab_size=151936,
            hidden_size=896,
            intermediate_size=4864,
            num_hidden_layers=24,
            num_attention_heads=14,
            num_key_value_heads=2,
            max_position_embeddings=32768,
            rope_theta=1000000.0,
            rms_norm_eps=1e-6,
            tie_word_embeddings=True,
            bos_token_id=151643,
            eos_token_id=151643,
            architectures=["Qwen2ForCausalLM"],
        )
    raise SystemExit(f"unknown checkpoint {name!r}; choose one of {', '.join(CHECKPOINTS)}")


CHECKPOINTS = {
    "bert-base": "BertModel",
    "gpt2": "GPT2LMHeadModel",
    "t5-small": "T5ForConditionalGeneration",
    "llama-3b": "LlamaForCausalLM",
    "qwen2-0.5b": "Qwen2ForCausalLM",
}
SHARDED = ("llama-3b", "qwen2-0.5b")
WITH_TOKENIZER = ("qwen2-0.5b",)


def make(name: str, folder: Path, dtype: str = "float32", seed: int = 0) -> Path:
    """Write checkpoint `name` into `folder` (unless it already holds one); return the folder."""
    if (folder / "config.json").is_file():
        return folder
    if name in WITH_TOKENIZER:
        write_tokenizer(folder, config_of(name))
    if name in SHARDED:
        write_sharded(name, folder, dtype, seed)
    else:
        write_small(name, folder, dtype, seed)
    return folder


def write_small(name: str, folder: Path, dtype: str, seed: int) -> None:
    import torch
    import transformers

    torch.manual_seed(seed)
    config = config_of(name)
    model = getattr(transformers, CHECKPOINTS[name])(config).to(getattr(torch, dtype))
    model.save_pretrained(folder)


def write_tokenizer(folder: Path, config: Any, words: int = 1000) -> None:
    """A word-level tokenizer (`w0 w1 ...`) whose end-of-sequence token is the config's: random
    weights have no real vocabulary, and the benchmarks feed token ids."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {f"w{i}": i for i in range(words)}
    vocab["<eos>"] = config.eos_token_id
    backend = Tokenizer(models.WordLevel(vocab, unk_token="w1"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="w1", eos_token="<eos>", bos_token="<eos>"
    )
    tokenizer.save_pretrained(folder)


def write_sharded(name: str, folder: Path, dtype: str, seed: int) -> None:
    import torch
    import transformers
    from safetensors.torch import save_file

    config = config_of(name)
    config.dtype = dtype
    with torch.device("meta"):
        model = getattr(transformers, CHECKPOINTS[name])(config)
    tied = {"lm_head.weight"} if config.tie_word_embeddings else set()
    shapes = {k: v.shape for k, v in model.state_dict().items() if k not in tied}
    del model
    generator = torch.Generator().manual_seed(seed)
    torch_dtype = getattr(torch, dtype)
    folder.mkdir(parents=True, exist_ok=True)
    shards = _plan_shards(shapes, torch_dtype.itemsize)
    weight_map: dict[str, str] = {}
    total = 0
    for index, keys in enumerate(shards, start=1):
        file = f"model-{index:05d}-of-{len(shards):05d}.safetensors"
        tensors = {k: _init(k, shapes[k], torch_dtype, generator) for k in keys}
        save_file(tensors, str(folder / file), metadata={"format": "pt"})
        total += sum(t.numel() * t.itemsize for t in tensors.values())
        weight_map.update(dict.fromkeys(keys, file))
        del tensors
    index_file = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index_file, indent=2))
    config.save_pretrained(folder)  # last: a folder with config.json is complete


def _plan_shards(shapes: dict[str, Any], itemsize: int) -> list[list[str]]:
    shards: list[list[str]] = [[]]
    size = 0
    for key, shape in shapes.items():
        nbytes = itemsize * math.prod(shape)
        if shards[-1] and size + nbytes > SHARD_BYTES:
            shards.append([])
            size = 0
        shards[-1].append(key)
        size += nbytes
    return shards


def _init(key: str, shape: Any, dtype: Any, generator: Any) -> Any:
    import torch

    if key.endswith("norm.weight"):
        return torch.ones(shape, dtype=dtype)
    # Drawn in fp32 row blocks so a 128k x 3072 embedding never needs a second full fp32 copy.
    out = torch.empty(shape, dtype=dtype)
    rows = max(1, (1 << 26) // max(1, out[0].numel())) if out.dim() > 1 else out.shape[0]
    for start in range(0, out.shape[0], rows):
        block = out[start : start + rows]
        block.copy_(torch.randn(block.shape, generator=generator) * INIT_STD)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("name", choices=sorted(CHECKPOINTS))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    args = parser.parse_args(argv)
    started = time.perf_counter()
    make(args.name, args.folder.expanduser(), args.dtype)
    size = sum(f.stat().st_size for f in args.folder.expanduser().glob("*.safetensors"))
    print(f"{args.folder}: {size / 1e9:.2f} GB of safetensors in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
