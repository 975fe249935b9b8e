"""Decode speed of irc's causal-lm-with-past files beside onnxruntime-genai's model builder's.

    python benchmarks/decode.py [--work ~/.cache/irc-bench/decode] [--rounds 3] [--new-tokens 32]

One command: writes (or reuses) a Qwen2-0.5B-shaped random checkpoint (make_checkpoint.py), exports
irc's float32 file with the decoder fusions (`--ort-fusions`), builds the model builder's fp32 and
int4 files (`python -m onnxruntime_genai.models.builder -p fp32|int4 -e cpu`), and irc's int4 file
too when this irc has `export(quantize=...)`. Then it loads every folder with onnxruntime-genai in
one process and runs them interleaved, round after round (a 32-token prompt, greedy decoding), and
does so again in `--processes` fresh processes: a float32 step reads 2 GB of weights, and how fast a
given load of them reads varies from one process to the next by more than the targets' margins
(the same two files measured 0.88x and 1.12x of each other in two processes on an idle machine), so
a ratio is the median over processes of each process's median token-by-token ratio, printed with
its range; and since the file loaded first runs slower, each process loads the files in another
order. Reported: ms per new token (median over all rounds of each round's mean), prompt ms,
bytes on disk, ONNX node count, ratios against the builder's files, and next-token top-1 agreement
with the float32 PyTorch
model over the generated positions (the model re-reads prompt + generated tokens and its argmax at
each generated position is compared with the token the file chose). Folders already built are
reused; `--rebuild` builds them again. Results go to stdout and `<work>/decode.json`.
"""

from __future__ import annotations

import argparse
import inspect
import json
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_checkpoint import make  # noqa: E402

CHECKPOINT = "qwen2-0.5b"
PROMPT_SEED = 1234


@dataclass
class Entry:
    name: str
    folder: Path
    build_seconds: float = 0.0
    step_ms: list[float] = field(default_factory=list)
    prompt_ms: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    ratios: list[list[float]] = field(default_factory=list)
    """Per round, each new token's time over the builder's file's same token (same precision)."""
    process_ratios: list[float] = field(default_factory=list)
    """Per process, the median of its token-by-token ratios."""


def build_irc(
    checkpoint: Path, out: Path, quantize: str | None = None, validate: bool = False, step: str | None = None
) -> float:
    """irc's fused file; `quantize` as `--quantize`, or `step`: a pass appended to the default
    fused pipeline (an int4 file with an int4 head, as the model builder makes it)."""
    import irc
    from irc.exporter.settings import resolve_backend

    started = time.perf_counter()
    extra: dict[str, Any] = {"quantize": quantize} if quantize else {}
    if step:
        backend, options = resolve_backend("onnx", {"ort_fusions": True})
        extra["passes"] = f"{backend.pipeline(options)},{step}"
    irc.export(
        checkpoint, task="causal-lm-with-past", output=out, ort_fusions=True, external_data=True,
        validate=validate, force=True, **extra,
    )  # fmt: skip
    return time.perf_counter() - started


def build_builder(checkpoint: Path, out: Path, precision: str, cache: Path) -> float:
    started = time.perf_counter()
    command = [
        sys.executable, "-m", "onnxruntime_genai.models.builder",
        "-i", str(checkpoint), "-o", str(out), "-p", precision, "-e", "cpu", "-c", str(cache),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(
            f"the model builder failed ({precision}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        )
    return time.perf_counter() - started


def irc_quantizes() -> bool:
    """Whether this irc's export takes `quantize` (the quantize-weights work; absent before it)."""
    import irc.api

    return "quantize" in inspect.signature(irc.api.export).parameters


def build_all(checkpoint: Path, work: Path, rebuild: bool, validate: bool) -> list[Entry]:
    cache = work / "builder-cache"
    plans: list[tuple[str, Any]] = [
        ("irc fp32", lambda out: build_irc(checkpoint, out, validate=validate)),
        ("builder fp32", lambda out: build_builder(checkpoint, out, "fp32", cache)),
        ("builder int4", lambda out: build_builder(checkpoint, out, "int4", cache)),
    ]
    if irc_quantizes():
        plans.append(("irc int4", lambda out: build_irc(checkpoint, out, quantize="int4", validate=validate)))
        plans.append(("irc int8", lambda out: build_irc(checkpoint, out, quantize="int8", validate=validate)))
        head4 = "quantize-weights{bits=4,lm_head_bits=4}"
        plans.append(("irc int4 h4", lambda out: build_irc(checkpoint, out, validate=validate, step=head4)))
    entries = []
    for name, build in plans:
        folder = work / name.replace(" ", "-")
        entry = Entry(name, folder)
        if rebuild or not (folder / "genai_config.json").is_file():
            shutil.rmtree(folder, ignore_errors=True)
            entry.build_seconds = build(folder)
            print(f"built {name} in {entry.build_seconds:.0f} s", flush=True)
        entries.append(entry)
    return entries


def start(model: Any, prompt: list[int], new_tokens: int) -> tuple[Any, float, int]:
    """A greedy generator with the prompt read: (generator, prompt ms, its first token)."""
    import numpy as np
    import onnxruntime_genai as og

    params = og.GeneratorParams(model)
    total = len(prompt) + new_tokens
    params.set_search_options(max_length=total, min_length=total, do_sample=False)
    generator = og.Generator(model, params)
    started = time.perf_counter()
    generator.append_tokens(np.array([prompt], dtype=np.int32))
    prompt_ms = (time.perf_counter() - started) * 1000  # the prompt's forward pass and first token
    return generator, prompt_ms, int(generator.get_next_tokens()[0])


def measure(entries: list[Entry], prompt: list[int], new_tokens: int, rounds: int) -> None:
    """Per round, every file generates side by side one token at a time (the order reversed at
    each step), so that each token's timings are taken within milliseconds of one another and a
    busy machine slows all files alike."""
    import onnxruntime_genai as og

    models = {e.name: og.Model(str(e.folder)) for e in entries}
    for entry in entries:  # warm-up: first-run allocations and kernel selection
        generator, _, _ = start(models[entry.name], prompt, 2)
        while not generator.is_done():
            generator.generate_next_token()
    for round_index in range(rounds):
        running = {}
        for entry in entries:
            generator, prompt_ms, token = start(models[entry.name], prompt, new_tokens)
            running[entry.name] = generator
            entry.prompt_ms.append(prompt_ms)
            entry.tokens = [token]
        steps: dict[str, list[float]] = {e.name: [] for e in entries}
        for step in range(new_tokens - 1):
            for entry in entries if step % 2 == 0 else entries[::-1]:
                generator = running[entry.name]
                started = time.perf_counter()
                generator.generate_next_token()
                steps[entry.name].append((time.perf_counter() - started) * 1000)
                entry.tokens.append(int(generator.get_next_tokens()[0]))
        for entry in entries:
            entry.step_ms.append(statistics.fmean(steps[entry.name]))
            entry.ratios.append(
                [a / b for a, b in zip(steps[entry.name], steps[_base(entry.name)], strict=True)]
            )
        print(
            f"round {round_index + 1}/{rounds}: "
            + ", ".join(f"{e.name} {e.step_ms[-1]:.1f} ms" for e in entries),
            flush=True,
        )
    del models


def measure_in_processes(entries: list[Entry], args: argparse.Namespace) -> None:
    """`measure` in `args.processes` fresh child processes, one after another; each entry gets every
    process's rounds, and `process_ratios` one median token-by-token ratio per process."""
    import tempfile

    for index in range(args.processes):
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "entries.json"
            command = [
                sys.executable,
                __file__,
                "--work",
                str(args.work),
                "--checkpoint",
                str(args.checkpoint),
            ]
            command += ["--prompt-tokens", str(args.prompt_tokens), "--new-tokens", str(args.new_tokens)]
            command += ["--rounds", str(args.rounds), "--measure-into", str(out), "--place", str(index)]
            print(f"process {index + 1}/{args.processes}", flush=True)
            subprocess.run(command, check=True)
            measured = {e["name"]: e for e in json.loads(out.read_text())}
        for entry in entries:
            got = measured[entry.name]
            entry.step_ms += got["step_ms"]
            entry.prompt_ms += got["prompt_ms"]
            entry.tokens = got["tokens"]
            entry.ratios += got["ratios"]
            entry.process_ratios.append(statistics.median(r for ratios in got["ratios"] for r in ratios))


def placed(entries: list[Entry], index: int) -> list[Entry]:
    """The files in process `index`'s load and step order: rotated by `index`, reversed in odd
    processes. Order is not neutral: of two files loaded into one process, the first loaded measured
    ~5% slower than the second whichever file it was (irc's and the builder's fp32 files, idle
    machine, either order), so every file takes each place in turn."""
    turn = index % len(entries)
    order = entries[turn:] + entries[:turn]
    return order[::-1] if index % 2 else order


def _base(name: str) -> str:
    return "builder int4" if "int4" in name else "builder fp32"


def agreement(checkpoint: Path, prompt: list[int], entries: list[Entry], new_tokens: int) -> dict[str, Any]:
    """Next-token top-1 agreement with the float32 PyTorch model, two ways:
    `same`: every file reads PyTorch's own greedy continuation of the prompt in one forward pass
    (ONNX Runtime, empty cache) and its argmax at each continuation position is compared with
    PyTorch's, so all files are judged on the same positions; `own`: the file's generated tokens
    against PyTorch's argmax on that file's own sequence (positions differ once files diverge)."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32).eval()
    with torch.no_grad():
        sequence = list(prompt)
        cache = None
        for _ in range(new_tokens):  # greedy, on the model's own cache
            step = model(
                torch.tensor([sequence[len(sequence) - 1 if cache is not None else 0 :]]),
                past_key_values=cache,
            )
            cache = step.past_key_values
            sequence.append(int(step.logits[0, -1].argmax()))
        own = {}
        for entry in entries:
            logits = model(torch.tensor([prompt + entry.tokens[:-1]])).logits[0, len(prompt) - 1 :]
            own[entry.name] = _share(logits.argmax(-1).tolist(), entry.tokens)
    del model
    expected = sequence[len(prompt) :]
    same = {e.name: _share(_forced_argmax(e.folder, sequence[:-1], len(prompt)), expected) for e in entries}
    return {"same": same, "own": own}


def _share(got: list[int], expected: list[int]) -> float:
    return sum(a == b for a, b in zip(got, expected, strict=True)) / len(expected)


def _forced_argmax(folder: Path, sequence: list[int], prompt_tokens: int) -> list[int]:
    """The file's argmax at positions prompt_tokens - 1 .. end of one pass over `sequence`."""
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    decoder = json.loads((folder / "genai_config.json").read_text())["model"]["decoder"]
    length = len(sequence)
    feeds = {}
    for spec in session.get_inputs():
        kind = np.int32 if spec.type == "tensor(int32)" else np.int64
        if spec.name == "input_ids":
            feeds[spec.name] = np.array([sequence], kind)
        elif spec.name == "attention_mask":
            feeds[spec.name] = np.ones((1, length), kind)
        elif spec.name == "position_ids":
            feeds[spec.name] = np.arange(length, dtype=kind)[None]
        else:  # an empty past key/value cache [1, heads, 0, head size]
            heads, size = decoder["num_key_value_heads"], decoder["head_size"]  # the builder's dims are named
            feeds[spec.name] = np.zeros((1, heads, 0, size), np.float32)
    logits = session.run(["logits"], feeds)[0]
    return logits[0, prompt_tokens - 1 :].argmax(-1).tolist()


def on_disk(folder: Path) -> tuple[int, int]:
    """(bytes of the ONNX files and their external data, node count of model.onnx)."""
    import onnx

    files = [
        f
        for f in folder.iterdir()
        if f.suffix in (".onnx", ".onnx_data", ".data") or f.name.endswith(".onnx.data")
    ]
    filename = json.loads((folder / "genai_config.json").read_text())["model"]["decoder"]["filename"]
    model = onnx.load(str(folder / filename), load_external_data=False)
    return sum(f.stat().st_size for f in files), len(model.graph.node)


def report(entries: list[Entry], agree: dict[str, float], args: argparse.Namespace) -> dict[str, Any]:
    rows = []
    for entry in entries:
        size, nodes = on_disk(entry.folder)
        rows.append(
            {
                "name": entry.name,
                "ms_per_token": statistics.median(entry.step_ms),
                "prompt_ms": statistics.median(entry.prompt_ms),
                "bytes": size,
                "nodes": nodes,
                "top1_agreement": agree["same"][entry.name],
                "top1_own_sequence": agree["own"][entry.name],
                "build_seconds": entry.build_seconds,
                "rounds_ms_per_token": entry.step_ms,
            }
        )
    by_name = {r["name"]: r for r in rows}
    for row, entry in zip(rows, entries, strict=True):
        base = by_name[_base(row["name"])]
        # Token-by-token ratios (each pair timed back to back), their median per process, and the
        # median of those: a process's load of the weights moves all its ratios together.
        row["vs_builder"] = statistics.median(entry.process_ratios)
        row["vs_builder_per_process"] = entry.process_ratios
        row["vs_builder_of_medians"] = row["ms_per_token"] / base["ms_per_token"]
        row["bytes_vs_builder"] = row["bytes"] / base["bytes"]
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {_cores()} cores, {platform.platform()}",
        "load_average_at_start": args.load_average,
        "checkpoint": CHECKPOINT,
        "prompt_tokens": args.prompt_tokens,
        "new_tokens": args.new_tokens,
        "rounds": args.rounds,
        "processes": args.processes,
        "rows": rows,
    }


def _cores() -> int:
    import os

    return os.cpu_count() or 0


def print_table(result: dict[str, Any]) -> None:
    print(f"\n{result['date']}, {result['machine']}, load average at start {result['load_average_at_start']}")
    print(
        f"{result['checkpoint']}, prompt {result['prompt_tokens']} tokens, {result['new_tokens']} new, greedy"
    )
    header = f"{'file':<14}{'ms/token':>10}{'vs builder':>12}{'per process':>20}{'prompt ms':>11}{'MB':>9}"
    print(header + f"{'bytes vs':>10}{'nodes':>7}{'top-1':>7}{'own':>6}")
    for r in result["rows"]:
        spread = " ".join(f"{x:.2f}" for x in r["vs_builder_per_process"])
        print(
            f"{r['name']:<14}{r['ms_per_token']:>10.1f}{r['vs_builder']:>11.2f}x{spread:>20}{r['prompt_ms']:>11.0f}"
            f"{r['bytes'] / 1e6:>9.0f}{r['bytes_vs_builder']:>9.2f}x{r['nodes']:>7}{r['top1_agreement']:>7.2f}"
            f"{r['top1_own_sequence']:>6.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    import os

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("~/.cache/irc-bench/decode"))
    parser.add_argument("--checkpoint", type=Path, default=Path("~/.cache/irc-bench/qwen2-0.5b"))
    parser.add_argument("--prompt-tokens", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true", help="build every folder again")
    parser.add_argument("--validate", action="store_true", help="let irc validate its exports (slow)")
    parser.add_argument("--processes", type=int, default=3, help="fresh processes to measure in")
    parser.add_argument("--measure-into", type=Path, help=argparse.SUPPRESS)  # one child process's run
    parser.add_argument("--place", type=int, default=0, help=argparse.SUPPRESS)  # its load order
    args = parser.parse_args(argv)
    args.load_average = " ".join(f"{x:.1f}" for x in os.getloadavg())
    work = args.work.expanduser()
    work.mkdir(parents=True, exist_ok=True)
    checkpoint = make(CHECKPOINT, args.checkpoint.expanduser())
    entries = build_all(checkpoint, work, args.rebuild, args.validate)
    import random

    prompt = random.Random(PROMPT_SEED).sample(range(1000, 100000), args.prompt_tokens)
    if args.measure_into:
        measure(placed(entries, args.place), prompt, args.new_tokens, args.rounds)
        args.measure_into.write_text(json.dumps([asdict(e) for e in entries], default=str))
        return 0
    measure_in_processes(entries, args)
    result = report(entries, agreement(checkpoint, prompt, entries, args.new_tokens), args)
    print_table(result)
    (work / "decode.json").write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
