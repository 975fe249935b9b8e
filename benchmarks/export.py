"""irc against torch.onnx (dynamo) and Optimum on real-size checkpoints, side by side in one run.

    python benchmarks/export.py [--cache ~/.cache/irc-bench] [--only bert-base gpt2 t5-small]
                                [--optimum /path/to/venv/bin/python] [--profile]

On first use it writes random-init checkpoints of real sizes (BERT-base, GPT-2 124M, T5-small)
with `save_pretrained` into the cache folder. Then for each one, in fresh subprocesses, one after
the other: `irc export --no-validate`, `irc export` with validation, `torch.onnx.export(...,
dynamo=True)`, and, when `--optimum` names a Python that has Optimum's ONNX exporter (it pins
transformers 4.x, so it lives in its own virtualenv), Optimum without validation
(`main_export(..., do_validation=False)`) and with it (its CLI). It prints ratios irc/other:
export wall time, peak RSS of the export process (also over the checkpoint size), artifact
bytes (also over the checkpoint's weights), ONNX Runtime latency with 2 threads (BERT-base batch
1 and 8 at sequence 128; GPT-2 one decode step after a 128-token past, with-past artifacts on
every side), and validation time. Peak RSS is the child's `ru_maxrss` from `wait4`. irc's
artifact is also exported with `--opset 23`, `--ort-fusions` and (BERT-base) `--dtype float16`,
timed in the same latency runs. `--profile` adds each artifact's ORT kernel time by op type.

torch.onnx gets the care irc gives itself: `torch.no_grad()`, `use_cache=False` for no-cache
tasks, the same inputs (names and trace sizes as in irc's `irc.json`), dynamic dims for every
named axis, and the same outputs, the cache flattened to `present.N.key/value`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_checkpoint import make  # noqa: E402

CASES = {
    "bert-base": ("default", "feature-extraction"),
    "gpt2": ("causal-lm-with-past", "text-generation-with-past"),
    "t5-small": ("seq2seq-lm", "text2text-generation"),
}
"""checkpoint -> (irc task, Optimum task)."""

TRACE_SIZES = {"batch": 2, "sequence": 8, "past_sequence": 5, "decoder_sequence": 6}
THREADS = 2
MIN_CALLS, MAX_CALLS, BUDGET_S = 10, 200, 30.0
"""Latency: calls per artifact and setting (the median is reported)."""


@dataclass
class Run:
    wall: float = float("nan")
    rss: int = 0
    """Peak resident set of the process, bytes."""
    size: int = 0
    """Artifact bytes (.onnx and external data)."""
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def measure(command: list[str], env: dict[str, str] | None = None) -> tuple[Run, str]:
    """Run `command`; its wall time, peak RSS (wait4) and stdout."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    run = Run(wall, usage.ru_maxrss * 1024)
    if proc.returncode != 0:
        run.error = (stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1][:200]
    return run, stdout


def artifact_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and "onnx" in f.name)


def checkpoint_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.glob("*.safetensors"))


# -- exporters ----------------------------------------------------------------------------------
def irc_export(folder: Path, task: str, out: Path, validate: bool, flags: tuple[str, ...] = ()) -> Run:
    """`flags` are more `irc export` options (`--opset 23`, `--dtype float16`); only without
    validation."""
    command = [sys.executable, "-m", "irc.cli", "export", "--model", str(folder), "--task", task, *flags]
    if validate:
        # Through the API, to read the validation stage's own time; ended as `irc export` ends
        # (irc.cli.main.entry: no interpreter teardown).
        code = (
            "import json, os, sys, irc.api as a, irc.progress as p; pr = p.Progress(enabled=False); "
            "a.export(sys.argv[1], sys.argv[2], sys.argv[3], progress=pr); print(json.dumps(pr.timings)); "
            "sys.stdout.flush(); os._exit(0)"
        )
        command = [sys.executable, "-c", code, str(folder), task, str(out)]
    else:
        command += ["--no-validate", str(out)]
    run, stdout = measure(command)
    run.size = artifact_bytes(out) if out.exists() else 0
    if validate and not run.error:
        run.extra = json.loads(stdout.strip().splitlines()[-1])
    return run


def torch_onnx_export(folder: Path, irc_out: Path, out: Path) -> Run:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "torch-onnx"]
    run, _ = measure(command + [str(folder), str(irc_out / "irc.json"), str(out)])
    run.size = artifact_bytes(out) if out.exists() else 0
    return run


def optimum_export(python: str, folder: Path, task: str, out: Path, validate: bool) -> Run:
    """Optimum's exporter in its own Python. Its CLI always validates, so the run without
    validation calls `main_export(..., do_validation=False)`, the function the CLI wraps."""
    if validate:
        command = [python, "-m", "optimum.exporters.onnx", "--model", str(folder), "--task", task, str(out)]
    else:
        code = (
            "import sys; from optimum.exporters.onnx import main_export; "
            "main_export(sys.argv[1], output=sys.argv[3], task=sys.argv[2], do_validation=False)"
        )
        command = [python, "-c", code, str(folder), task, str(out)]
    run, _ = measure(command)
    run.size = artifact_bytes(out) if out.exists() else 0
    return run


def torch_onnx_worker(folder: str, manifest_file: str, out: str) -> None:
    """In a fresh process: torch.onnx.export(dynamo=True) with irc's input/output signature."""
    import torch
    import transformers

    manifest = json.loads(Path(manifest_file).read_text())
    auto = {"default": "AutoModel", "seq2seq-lm": "AutoModelForSeq2SeqLM"}.get(
        manifest["task"], "AutoModelForCausalLM"
    )
    model = getattr(transformers, auto).from_pretrained(folder).eval()
    names = list(manifest["inputs"])
    plain = [n for n in names if not n.startswith("past_key_values.")]
    wrapper = _Wrapper(model, plain, list(manifest["outputs"]), len(names) - len(plain))
    args = tuple(_dummy(manifest["inputs"][n], n, model.config) for n in names)
    dynamic = tuple(_dynamic_axes(manifest["inputs"][n]) for n in names)
    Path(out).mkdir(parents=True)
    with torch.no_grad():
        program = torch.onnx.export(
            wrapper,
            args,
            dynamo=True,
            input_names=names,
            output_names=list(manifest["outputs"]),
            dynamic_shapes=(dynamic,),
        )
    program.save(str(Path(out) / "model.onnx"))


class _Wrapper(torch.nn.Module):
    def __init__(self, model: Any, plain: list[str], outputs: list[str], past: int) -> None:
        super().__init__()
        self.model, self.plain, self.outputs, self.past = model, plain, outputs, past

    def forward(self, *args: Any) -> tuple[Any, ...]:
        from transformers import DynamicCache

        kwargs = dict(zip(self.plain, args[: len(self.plain)], strict=True))
        flat = args[len(self.plain) :]
        if self.past:
            pairs = [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]
            kwargs["past_key_values"] = DynamicCache(pairs, config=self.model.config)
        out = self.model(**kwargs, use_cache=bool(self.past), return_dict=True)
        values = [out[n] for n in self.outputs if not n.startswith("present.")]
        if self.past:
            for layer in out["past_key_values"].layers:
                values += [layer.keys, layer.values]
        return tuple(values)


def _shape(type_text: str) -> list[str]:
    """`f32[batch, past_sequence + sequence]` -> ['batch', 'past_sequence + sequence']."""
    return [d.strip() for d in type_text.split("[", 1)[1].rstrip("]").split(",")]


def _size(dim: str) -> int:
    return sum(TRACE_SIZES[p.strip()] for p in dim.split("+")) if not dim.isdigit() else int(dim)


def _dummy(type_text: str, name: str, config: Any) -> Any:
    import torch

    shape = [_size(d) for d in _shape(type_text)]
    if type_text.startswith("f"):
        return torch.randn(shape)
    if "ids" in name:
        return torch.randint(0, config.vocab_size, shape)
    return torch.ones(shape, dtype=torch.long)


def _dynamic_axes(type_text: str) -> dict[int, Any]:
    import torch

    return {i: torch.export.Dim.DYNAMIC for i, d in enumerate(_shape(type_text)) if not d.isdigit()}


# -- ONNX Runtime latency -----------------------------------------------------------------------
LATENCY = {
    "bert-base": [
        ("batch 1 x 128", {"batch": 1, "sequence": 128}),
        ("batch 8 x 128", {"batch": 8, "sequence": 128}),
    ],
    "gpt2": [("decode, 128 past", {"batch": 1, "sequence": 1, "past_sequence": 128})],
}
HALF = ("bert-base",)
"""Cases also exported with `--dtype float16`, for its artifact size and ORT latency."""


def latency(case: str, artifacts: list[Path]) -> list[list[float]]:
    """Per latency setting, each artifact's median ms; measured in one process, interleaved."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "latency", case]
    run, stdout = measure(command + [str(a / "model.onnx") for a in artifacts])
    if run.error:
        raise RuntimeError(run.error)
    return json.loads(stdout.strip().splitlines()[-1])


def _sessions(models: list[str], profile: str = "") -> list[Any]:
    import onnxruntime as ort

    sessions = []
    for i, model in enumerate(models):
        options = ort.SessionOptions()
        options.intra_op_num_threads = THREADS
        options.inter_op_num_threads = 1
        # Sessions are timed in turn; a pool that spins after its run steals the 2 cores from the
        # next session's (BERT-base batch 1: every artifact 35% slower, ratios unchanged).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if profile:
            options.enable_profiling = True
            options.profile_file_prefix = f"{profile}-{i}"
        sessions.append(ort.InferenceSession(model, options, providers=["CPUExecutionProvider"]))
    return sessions


def latency_worker(case: str, models: list[str]) -> None:
    import numpy as np

    sessions = _sessions(models)
    rng = np.random.default_rng(0)
    results = []
    for _label, sizes in LATENCY[case]:
        feeds = [_feeds(s, sizes, rng) for s in sessions]
        times: list[list[float]] = [[] for _ in sessions]
        for session, feed in zip(sessions, feeds, strict=True):  # warm-up
            session.run(None, feed)
        started = time.perf_counter()
        # Interleaved, one call each per round, so load from other processes hits both alike;
        # at least MIN_CALLS calls each, then until the budget is spent.
        while len(times[0]) < MIN_CALLS or (
            time.perf_counter() - started < BUDGET_S and len(times[0]) < MAX_CALLS
        ):
            for i, (session, feed) in enumerate(zip(sessions, feeds, strict=True)):
                start = time.perf_counter()
                session.run(None, feed)
                times[i].append(time.perf_counter() - start)
        results.append([float(np.median(t)) * 1000 for t in times])
    print(json.dumps(results))


PROFILE_CALLS = 20


def profile_worker(case: str, models: list[str]) -> None:
    """Each artifact's ONNX Runtime kernel time by op type at the case's first latency setting
    (ORT's own profiler, `PROFILE_CALLS` calls after a warm-up), as JSON: where the time goes."""
    import collections

    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        sessions = _sessions(models, profile=str(Path(tmp) / "ort"))
        _, sizes = LATENCY[case][0]
        result = []
        for session in sessions:
            feed = _feeds(session, sizes, np.random.default_rng(0))
            for _ in range(3 + PROFILE_CALLS):
                session.run(None, feed)
            events = json.loads(Path(session.end_profiling()).read_text())
            kernels: collections.Counter[str] = collections.Counter()
            runs = [e["dur"] for e in events if e.get("cat") == "Session" and e["name"] == "model_run"]
            for event in events:
                if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
                    kernels[event["args"]["op_name"]] += event["dur"]
            calls = len(runs)
            result.append(
                {
                    "run_ms": sum(runs) / calls / 1000,
                    "ops_ms": {op: d / calls / 1000 for op, d in kernels.most_common()},
                }
            )
    print(json.dumps(result))


def profile_rows(case: str, name: str, artifacts: list[Path], labels: list[str]) -> list[str]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "profile", case]
    run, stdout = measure(command + [str(a / "model.onnx") for a in artifacts])
    if run.error:
        return [f"| {name} | ORT profile failed | {run.error} | | |"]
    rows = []
    setting = LATENCY[case][0][0]
    for label, found in zip(labels, json.loads(stdout.strip().splitlines()[-1]), strict=True):
        ops = found["ops_ms"]
        total = sum(ops.values())
        gemm = sum(ms for op, ms in ops.items() if op in ("MatMul", "Gemm", "FusedMatMul", "FusedGemm"))
        top = ", ".join(f"{op} {ms:.1f}" for op, ms in list(ops.items())[:6])
        rows.append(
            f"| {name} | ORT profile, {setting}, {label}: ms per call; kernels; of which MatMul/Gemm "
            f"| {found['run_ms']:.1f}; {total:.1f}; {gemm:.1f} ({gemm / total:.0%}) | {top} | |"
        )
    return rows


def _feeds(session: Any, sizes: dict[str, int], rng: Any) -> dict[str, Any]:
    import numpy as np

    total = sizes.get("past_sequence", 0) + sizes["sequence"]
    feeds = {}
    for arg in session.get_inputs():
        if arg.name.startswith("past_key_values."):
            heads, head_dim = arg.shape[1], arg.shape[3]
            shape = (sizes["batch"], heads, sizes["past_sequence"], head_dim)
            feeds[arg.name] = rng.standard_normal(shape).astype(np.float32)
        elif arg.name == "attention_mask":
            feeds[arg.name] = np.ones((sizes["batch"], total), dtype=np.int64)
        elif arg.name == "token_type_ids":
            feeds[arg.name] = np.zeros((sizes["batch"], sizes["sequence"]), dtype=np.int64)
        elif arg.name == "position_ids":  # Optimum's decoders take them
            start = sizes.get("past_sequence", 0)
            positions = np.arange(start, start + sizes["sequence"], dtype=np.int64)
            feeds[arg.name] = np.broadcast_to(positions, (sizes["batch"], sizes["sequence"])).copy()
        else:
            feeds[arg.name] = rng.integers(0, 1000, (sizes["batch"], sizes["sequence"]), dtype=np.int64)
    return feeds


# -- the table ----------------------------------------------------------------------------------
def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b and b == b and a == a else "n/a"


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.worker:
        return _worker(args.worker, args.rest)
    cache = args.cache.expanduser()
    rows: list[str] = []
    header = "| model | measure | irc | torch.onnx | irc/torch.onnx |" + (
        " optimum | irc/optimum |" if args.optimum else ""
    )
    rows += [header, "|" + " --- |" * (header.count("|") - 1)]
    with tempfile.TemporaryDirectory(prefix="irc-bench-") as tmp:
        for case in args.only:
            rows += bench_case(case, cache, Path(tmp), args.optimum, args.profile)
            print("\n".join(rows[-1:]), file=sys.stderr)
    print(
        f"irc export benchmark, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.node()} ({os.cpu_count()} cores, {_memory_gib():.0f} GiB), ORT threads {THREADS}"
    )
    print("\n".join(rows))
    return 0


def bench_case(case: str, cache: Path, tmp: Path, optimum: str | None, profile: bool = False) -> list[str]:
    irc_task, optimum_task = CASES[case]
    folder = make(case, cache / case)
    ckpt = checkpoint_bytes(folder)
    quiet = irc_export(folder, irc_task, tmp / f"{case}-irc", validate=False)
    checked = irc_export(folder, irc_task, tmp / f"{case}-irc-validated", validate=True)
    other = torch_onnx_export(folder, tmp / f"{case}-irc", tmp / f"{case}-torch-onnx")
    opt = opt_checked = None
    if optimum:
        opt = optimum_export(optimum, folder, optimum_task, tmp / f"{case}-optimum", validate=False)
        opt_checked = optimum_export(
            optimum, folder, optimum_task, tmp / f"{case}-optimum-validated", validate=True
        )
    name = f"{case} ({irc_task}, {ckpt / 1e6:.0f} MB)"

    def row(measure: str, a: float, b: float, c: float | None, fmt: str) -> str:
        cells = [name, measure, fmt.format(a), fmt.format(b), ratio(a, b)]
        if opt is not None and c is not None:
            cells += [fmt.format(c), ratio(a, c)]
        return "| " + " | ".join(cells) + " |"

    rows = []
    runs = ((quiet, "irc"), (checked, "irc (validated)"), (other, "torch.onnx"), (opt, "optimum"))
    for run, who in (*runs, (opt_checked, "optimum (validated)")):
        if run is not None and run.error:
            rows.append(f"| {name} | {who} failed | {run.error} | | |")
    rows.append(row("export wall s (no validation)", quiet.wall, other.wall, opt and opt.wall, "{:.1f}"))
    rows.append(
        row("peak RSS GB (no validation)", quiet.rss / 1e9, other.rss / 1e9, opt and opt.rss / 1e9, "{:.2f}")
    )
    rows.append(
        row("peak RSS / checkpoint", quiet.rss / ckpt, other.rss / ckpt, opt and opt.rss / ckpt, "{:.2f}")
    )
    rows.append(
        f"| {name} | irc with validation: wall s, peak RSS / checkpoint | {checked.wall:.1f} s, "
        f"{checked.rss / ckpt:.2f}x | | validate stage {checked.extra.get('validate', float('nan')):.1f} s |"
    )
    if opt_checked is not None:
        # Optimum's CLI validates too: the like-for-like comparison of a validated export.
        rows.append(
            row("export wall s, with validation", checked.wall, float("nan"), opt_checked.wall, "{:.1f}")
        )
        rows.append(
            row("peak RSS / checkpoint, with validation", checked.rss / ckpt, float("nan"),
                opt_checked.rss / ckpt, "{:.2f}")
        )  # fmt: skip
    rows.append(row("artifact MB", quiet.size / 1e6, other.size / 1e6, opt and opt.size / 1e6, "{:.0f}"))
    rows.append(
        row("artifact / checkpoint", quiet.size / ckpt, other.size / ckpt, opt and opt.size / ckpt, "{:.3f}")
    )
    if case in LATENCY and not quiet.error and not other.error:
        with_optimum = opt is not None and not opt.error
        rows += latency_rows(case, name, folder, irc_task, tmp, row, with_optimum, profile)
    return rows


VARIANTS = {"irc --opset 23": ("--opset", "23"), "irc --ort-fusions": ("--ort-fusions",)}
"""irc's artifact exported with these options too, for before/after latency in the same run:
opset 23 lowers attention to one ONNX Attention op; --ort-fusions adds com.microsoft kernels;
`--dtype float16` (for the HALF cases) halves the weights."""


def latency_rows(
    case: str,
    name: str,
    folder: Path,
    irc_task: str,
    tmp: Path,
    row: Any,
    with_optimum: bool = False,
    profile: bool = False,
) -> list[str]:
    artifacts = [tmp / f"{case}-irc", tmp / f"{case}-torch-onnx"]
    if with_optimum:
        artifacts.append(tmp / f"{case}-optimum")
    first_variant = len(artifacts)
    labels = []
    rows = []
    variants = dict(VARIANTS)
    if case in HALF:
        variants["irc --dtype float16"] = ("--dtype", "float16")
    for label, flags in variants.items():
        out = tmp / f"{case}-{label.replace(' ', '').replace('-', '')}"
        run = irc_export(folder, irc_task, out, validate=False, flags=flags)
        if run.error:
            rows.append(f"| {case} | {label} failed | {run.error} | | |")
            continue
        if "--dtype" in flags:
            other_size = artifact_bytes(artifacts[1])
            rows.append(row(f"artifact MB, {label}", run.size / 1e6, other_size / 1e6, None, "{:.0f}"))
        artifacts.append(out)
        labels.append(label)
    half = labels.index("irc --dtype float16") if "irc --dtype float16" in labels else None
    versus = []
    for (setting, _), ms in zip(LATENCY[case], latency(case, artifacts), strict=True):
        optimum_ms = ms[2] if with_optimum else None
        rows.append(row(f"ORT ms, {setting}", ms[0], ms[1], optimum_ms, "{:.2f}"))
        for label, variant in zip(labels, ms[first_variant:], strict=True):
            rows.append(row(f"ORT ms, {setting}, {label}", variant, ms[1], optimum_ms, "{:.2f}"))
        if half is not None:
            versus.append(f"ORT {setting} {ratio(ms[first_variant + half], ms[0])}")
    if half is not None:
        sizes = ratio(artifact_bytes(artifacts[first_variant + half]), artifact_bytes(artifacts[0]))
        rows.append(
            f"| {name} | irc --dtype float16 / irc float32 | artifact {sizes}, {', '.join(versus)} | | |"
        )
    if profile:
        who = ["irc", "torch.onnx"] + (["optimum"] if with_optimum else []) + labels
        rows += profile_rows(case, name, artifacts, who)
    return rows


def _memory_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def _worker(kind: str, rest: list[str]) -> int:
    if kind == "torch-onnx":
        torch_onnx_worker(*rest)
    elif kind == "latency":
        latency_worker(rest[0], rest[1:])
    elif kind == "profile":
        profile_worker(rest[0], rest[1:])
    return 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--cache", type=Path, default=Path("~/.cache/irc-bench"))
    parser.add_argument("--only", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument(
        "--optimum",
        help="a Python with Optimum's ONNX exporter (transformers 4.x), e.g. a venv with\n"
        "torch==2.13.0 'transformers<5' optimum-onnx",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also print each artifact's ONNX Runtime kernel time by op type (ORT's profiler)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
