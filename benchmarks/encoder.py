"""Encoder latency: irc's BERT-base files beside torch.onnx's, in ONNX Runtime on the CPU.

    python benchmarks/encoder.py [--cache ~/.cache/irc-bench] [--batch 1 8] [--sequence 128]

Writes a random-init BERT-base checkpoint (bert-base-uncased's shape) into the cache on first
use, then exports it, each export in a fresh process:
- irc float32 with `--ort-fusions` (Attention over packed QKV, SkipLayerNormalization, BiasGelu),
- irc float32 without it (ONNX standard ops; ORT fuses what it can at load),
- irc int8 (`--quantize int8`, with and without `--ort-fusions`), only when this irc's `export`
  has `--quantize`; an int8 export that fails is left out of the run with its error,
- torch.onnx.export(..., dynamo=True) and the TorchScript-based torch.onnx.export(..., dynamo=False),
  both under `torch.no_grad()` with the same input and output names and dynamic batch/sequence.
All files are then timed in one process, one ORT session each (2 intra-op threads, no spinning),
interleaved call by call so that load from other processes hits every file alike. It prints, per
batch size, the median wall ms and the median process CPU ms of a call (CPU time counts the work
of both threads and moves less than wall time when other processes share the cores), and each
file's ratio to torch.onnx (dynamo) on both. Timings are comparable only within one run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_checkpoint import make  # noqa: E402

THREADS = 2
ROUNDS, BUDGET_S = 20, 120.0
"""Per batch size: at least ROUNDS interleaved calls of each file, more while BUDGET_S lasts."""
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUTS = ("last_hidden_state", "pooler_output")
BASELINE = "torch.onnx dynamo"


def exports(folder: Path, out: Path) -> dict[str, Path]:
    """Label -> exported model.onnx, each made in a fresh process into `out` (emptied first: a
    file from an older irc would not say what this one does). The int8 file is optional: when its export fails, the run goes on without it and says why."""
    irc = [sys.executable, "-m", "irc.cli", "export", "--model", str(folder), "--task", "default"]
    jobs: dict[str, list[str]] = {
        "irc fp32 --ort-fusions": [*irc, "--ort-fusions"],
        "irc fp32": irc,
    }
    if _has_quantize():
        jobs["irc int8 --ort-fusions"] = [*irc, "--ort-fusions", "--quantize", "int8"]
        jobs["irc int8"] = [*irc, "--quantize", "int8"]
    me = [sys.executable, str(Path(__file__).resolve()), "--worker"]
    jobs[BASELINE] = [*me, "torch-onnx", str(folder), "dynamo"]
    jobs["torch.onnx legacy"] = [*me, "torch-onnx", str(folder), "legacy"]
    shutil.rmtree(out, ignore_errors=True)
    models = {}
    for label, command in jobs.items():
        target = out / label.replace(" ", "_").replace("--", "").replace(".", "_")
        started = time.perf_counter()
        done = subprocess.run([*command, str(target)], capture_output=True, text=True)
        if done.returncode != 0 and "int8" in label:
            print(f"{label} export failed, left out:\n{done.stderr[-1500:]}", file=sys.stderr)
            continue
        if done.returncode != 0:
            raise SystemExit(f"{label} export failed:\n{done.stderr[-3000:]}")
        print(f"exported {label} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        models[label] = target / "model.onnx"
    return models


def _has_quantize() -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "irc.cli", "export", "--help"], capture_output=True, text=True
    )
    return "--quantize" in done.stdout


def torch_onnx_worker(folder: str, kind: str, out: str) -> None:
    """In a fresh process: torch.onnx.export of the checkpoint's BertModel, `kind` dynamo or legacy."""
    import transformers

    model = transformers.AutoModel.from_pretrained(folder).eval()
    sample = {n: torch.ones(2, 8, dtype=torch.long) for n in INPUTS}
    sample["input_ids"] = torch.randint(0, model.config.vocab_size, (2, 8))
    Path(out).mkdir(parents=True)
    path = str(Path(out) / "model.onnx")
    wrapper = _Wrapper(model)
    with torch.no_grad():
        if kind == "dynamo":
            dims = {0: torch.export.Dim.DYNAMIC, 1: torch.export.Dim.DYNAMIC}
            program = torch.onnx.export(
                wrapper,
                tuple(sample.values()),
                dynamo=True,
                input_names=list(INPUTS),
                output_names=list(OUTPUTS),
                dynamic_shapes=tuple(dims for _ in INPUTS),
            )
            program.save(path)
            return
        axes = {n: {0: "batch", 1: "sequence"} for n in INPUTS}
        axes.update({"last_hidden_state": {0: "batch", 1: "sequence"}, "pooler_output": {0: "batch"}})
        torch.onnx.export(
            wrapper,
            tuple(sample.values()),
            path,
            dynamo=False,
            input_names=list(INPUTS),
            output_names=list(OUTPUTS),
            dynamic_axes=axes,
            opset_version=17,
        )


class _Wrapper(torch.nn.Module):
    """BertModel called with positional inputs, returning a tuple (what both exporters trace)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> tuple[Any, Any]:
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return out.last_hidden_state, out.pooler_output


def latency_worker(sequence: int, batches: list[int], labels: list[str], models: list[str]) -> None:
    """Median wall and CPU ms per call of each model at each batch size, as JSON on stdout."""
    import numpy as np
    import onnxruntime as ort

    sessions = []
    for model in models:
        options = ort.SessionOptions()
        options.intra_op_num_threads = THREADS
        options.inter_op_num_threads = 1
        # A pool spinning after its call would steal the cores from the next file's call.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        sessions.append(ort.InferenceSession(model, options, providers=["CPUExecutionProvider"]))
    rng = np.random.default_rng(0)
    results: dict[str, Any] = {}
    for batch in batches:
        feeds = [_feeds(s, batch, sequence, rng) for s in sessions]
        for session, feed in zip(sessions, feeds, strict=True):
            session.run(None, feed)  # warm-up
        wall: list[list[float]] = [[] for _ in sessions]
        cpu: list[list[float]] = [[] for _ in sessions]
        started = time.perf_counter()
        while len(wall[0]) < ROUNDS or time.perf_counter() - started < BUDGET_S:
            for i, (session, feed) in enumerate(zip(sessions, feeds, strict=True)):
                w, c = time.perf_counter(), time.process_time()
                session.run(None, feed)
                wall[i].append(time.perf_counter() - w)
                cpu[i].append(time.process_time() - c)
        results[str(batch)] = {
            label: {"wall": float(np.median(w)) * 1000, "cpu": float(np.median(c)) * 1000, "calls": len(w)}
            for label, w, c in zip(labels, wall, cpu, strict=True)
        }
    print(json.dumps(results))


def _feeds(session: Any, batch: int, sequence: int, rng: Any) -> dict[str, Any]:
    import numpy as np

    names = {i.name for i in session.get_inputs()}
    mask = np.ones((batch, sequence), np.int64)
    mask[1:, sequence * 3 // 4 :] = 0  # rows past the first padded on the right, as a batch is
    feeds = {
        "input_ids": rng.integers(0, 30522, (batch, sequence), dtype=np.int64),
        "attention_mask": mask,
        "token_type_ids": np.zeros((batch, sequence), np.int64),
    }
    return {k: v for k, v in feeds.items() if k in names}


def table(results: dict[str, Any], sequence: int) -> list[str]:
    rows = [
        f"| batch x {sequence} | file | wall ms | / {BASELINE} | CPU ms | / {BASELINE} |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for batch, found in results.items():
        base = found[BASELINE]
        for label, r in found.items():
            rows.append(
                f"| {batch} | {label} | {r['wall']:.1f} | {r['wall'] / base['wall']:.3f}x "
                f"| {r['cpu']:.1f} | {r['cpu'] / base['cpu']:.3f}x |"
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "irc-bench")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--sequence", type=int, default=128)
    parser.add_argument("--worker", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args.worker)
    folder = make("bert-base", args.cache / "bert-base")
    models = exports(folder, args.cache / "encoder-bench")
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "latency", str(args.sequence)]
    command += [",".join(map(str, args.batch)), json.dumps(list(models)), *map(str, models.values())]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"latency run failed:\n{done.stderr[-3000:]}")
    results = json.loads(done.stdout.strip().splitlines()[-1])
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"irc encoder benchmark, {when}, {platform.node()} ({os.cpu_count()} cores, load {load}), ORT threads {THREADS}"
    )
    print("\n".join(table(results, args.sequence)))
    return 0


def _worker(rest: list[str]) -> int:
    kind = rest[0]
    if kind == "torch-onnx":
        torch_onnx_worker(rest[1], rest[2], rest[3])
    elif kind == "latency":
        latency_worker(int(rest[1]), [int(b) for b in rest[2].split(",")], json.loads(rest[3]), rest[4:])
    else:
        raise SystemExit(f"unknown worker {kind!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
