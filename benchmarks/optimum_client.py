"""Optimum's ONNX Runtime models on an irc output folder, run in the venv of optimum_venv.sh.

    python benchmarks/optimum_client.py FOLDER causal|seq2seq IDS_JSON MASK_JSON NEW_TOKENS

Loads FOLDER with ORTModelForCausalLM or ORTModelForSeq2SeqLM as it is, greedy-generates
NEW_TOKENS after the prompt (a batch of rows, left-padded for a decoder) and prints one JSON
line: the new tokens per row, and every warning and log record at WARNING or above that loading
and generating raised (a legacy model, a missing input...).
"""

from __future__ import annotations

import json
import logging
import sys
import warnings


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


def main(folder: str, kind: str, ids_json: str, mask_json: str, new_tokens: int) -> dict:
    records = _Records()
    logging.getLogger().addHandler(records)
    for name in ("optimum", "transformers", "onnxruntime"):
        logging.getLogger(name).addHandler(records)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import torch
        from optimum.onnxruntime import ORTModelForCausalLM, ORTModelForSeq2SeqLM

        auto = ORTModelForCausalLM if kind == "causal" else ORTModelForSeq2SeqLM
        model = auto.from_pretrained(folder)
        ids = torch.tensor(json.loads(ids_json))
        mask = torch.tensor(json.loads(mask_json))
        out = model.generate(
            input_ids=ids, attention_mask=mask, do_sample=False, num_beams=1, max_new_tokens=new_tokens
        )
    start = ids.shape[1] if kind == "causal" else 1  # a decoder's prompt; the decoder start token
    ours = {"torch", "onnxruntime"}  # deprecation notes from the libraries themselves, not Optimum's view
    messages = [str(w.message) for w in caught if not any(str(w.filename).find(o) >= 0 for o in ours)]
    return {
        "tokens": out[:, start:].tolist(),
        "warnings": messages + records.messages,
        "classes": type(model).__name__,
        "can_use_cache": bool(getattr(model, "can_use_cache", False)),
    }


if __name__ == "__main__":
    folder, kind, ids_json, mask_json, new_tokens = sys.argv[1:6]
    print(json.dumps(main(folder, kind, ids_json, mask_json, int(new_tokens))))
