"""Export and validate every (model type, task) on tiny configs, per backend; write docs/coverage.md.

    python benchmarks/coverage.py [--backends onnx,torchscript] [--jobs 2] [--only MODEL_TYPE ...]
    python benchmarks/coverage.py --registry [--anchor] [--sample N --seed S] [--timeout SECONDS]

Each cell is a tiny random model (tests/models.py) exported with `irc.export(..., validate=True)`:
traced at one shape and compared with PyTorch at two others. Cells run in `--jobs` spawned worker
processes with one torch thread each. With `--only` the matrix is printed but docs/coverage.md is
left alone unless `--output` names a file, so a partial run never replaces the full matrix.

With `--registry` the cells are every model type of the installed transformers with a head for an
irc task, as tiny models shrunk generically from their default configs (benchmarks/tiny_configs.py);
`--anchor` also runs transformers' own ONNX exporter on each cell, checked at the same new shapes;
`--sample N --seed S` runs a seeded sample of N cells. Each cell has `--timeout` seconds before its
worker is killed and replaced. `--failures FILE` writes one line per failed irc cell.

The full registry takes hours: run it in shards, each resumable, then merge them into one report:

    python benchmarks/coverage.py --registry --anchor --shard K/N --results DIR   (K = 1..N)
    python benchmarks/coverage.py --registry --merge DIR                          (docs/coverage.md)

A cell stays in its shard when the registry changes; `--rerun-failed` runs a shard's failed cells
again (after a fix) and keeps its passed ones.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from multiprocessing import get_context
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# `tests.coverage_cells` and `tests.models` live next to irc, not inside it; spawned workers
# inherit this sys.path from the parent.
sys.path.insert(0, str(ROOT))

from benchmarks.shards import ResultLog, merged, parse_shard, shard_of  # noqa: E402
from tests.coverage_cells import KNOWN_FAILURES, CellResult, cells, run_cell  # noqa: E402

DEFAULT_OUTPUT = ROOT / "docs" / "coverage.md"
PASS, FAIL, NO_HEAD = "✓", "✗", "–"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    backends = _available_backends(args.backends.split(","))
    later: dict[str, list[str]] = {}
    if args.registry:
        from benchmarks.registry import registry_cells, sample

        everything, later = registry_cells()
        todo = _select(everything, args.only)
        todo = sample(todo, args.sample, args.seed) if args.sample else todo
    else:
        todo = _select(cells(), args.only)
    if args.merge:
        return _merge(args, todo, later, _command_line(argv))
    todo = shard_of(todo, *args.shard) if args.shard else todo
    if not todo or not backends:
        print("nothing to run", file=sys.stderr)
        return 2
    command = _command_line(argv)
    started = time.perf_counter()
    columns = backends + (["transformers-onnx"] if args.anchor else [])
    log = ResultLog(args.results, *(args.shard or (1, 1))) if args.results else None
    if log and args.rerun_failed:
        print(f"--rerun-failed: {log.forget_failed(todo)} failed results will run again")
    done = log.done() if log else set()
    results = (log.results if log else []) + run_all(
        todo, columns, args.jobs, args.timeout, args.registry, skip=done, on_result=log and log.append
    )
    wall = time.perf_counter() - started
    if args.failures:
        _write_failures(args.failures, results, backends)
    if args.registry:
        from benchmarks.registry_report import render_registry

        text = render_registry(results, todo, columns, later, command, args.jobs, wall)
    else:
        text = render(results, todo, columns, command, args.jobs, wall)
    partial = args.only or (args.registry and args.sample) or args.shard
    output = args.output or (None if partial else DEFAULT_OUTPUT)
    if output is None:
        print(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output}")
    for backend in columns:
        passed = sum(r.passed for r in results if r.backend == backend)
        print(f"{backend}: {passed}/{len(todo)} cells passed")
    return 0 if all(r.passed for r in results) else 1


def _merge(
    args: argparse.Namespace, todo: list[tuple[str, str]], later: dict[str, list[str]], command: str
) -> int:
    """One report of every shard in `--merge DIR` (docs/coverage.md unless `--output`)."""
    from benchmarks.registry_report import render_registry

    results, covered, columns = merged(args.merge, todo)
    wall = sum(r.seconds for r in results)
    text = render_registry(results, covered, columns, later, command, args.jobs, wall)
    output = args.output or DEFAULT_OUTPUT
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    if args.failures:
        _write_failures(args.failures, results, [c for c in columns if c != "transformers-onnx"])
    print(f"wrote {output}: {len(covered)} of {len(todo)} cells from {args.merge}")
    return 0


def _write_failures(path: Path, results: list[CellResult], backends: list[str]) -> None:
    lines = [
        f"{r.model_type}\t{r.task}\t{r.backend}\t{r.reason}"
        for r in results
        if not r.passed and r.backend in backends
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="onnx,torchscript", help="comma-separated backend names")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--only", nargs="+", metavar="MODEL_TYPE", help="run only these model types")
    parser.add_argument(
        "--output", type=Path, help="markdown file to write (default docs/coverage.md, none with --only)"
    )
    parser.add_argument("--registry", action="store_true", help="every model type of transformers")
    parser.add_argument("--anchor", action="store_true", help="also run transformers' ONNX exporter")
    parser.add_argument("--sample", type=int, default=0, help="run a seeded sample of N cells")
    parser.add_argument("--seed", type=int, default=0, help="seed of --sample")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per cell (default 300)")
    parser.add_argument("--failures", type=Path, help="write failed cells here, one per line")
    parser.add_argument("--shard", help="run the K-th of N shards of the cells (K/N)")
    parser.add_argument(
        "--results", type=Path, help="append each finished cell to DIR/shard-K-of-N.jsonl; resume"
    )
    parser.add_argument(
        "--rerun-failed", action="store_true", help="with --results: run the shard's failed cells again"
    )
    parser.add_argument("--merge", type=Path, metavar="DIR", help="write one report of DIR's shard results")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    try:
        args.shard = parse_shard(args.shard) if args.shard else None
    except ValueError as exc:
        parser.error(str(exc))
    return args


def _available_backends(wanted: list[str]) -> list[str]:
    from irc.backends import backend_names

    known = set(backend_names())
    for name in wanted:
        if name not in known:
            print(f"skipping backend {name}: irc.backends.backend_names() does not list it yet", flush=True)
    return [name for name in wanted if name in known]


def _select(all_cells: list[tuple[str, str]], only: list[str] | None) -> list[tuple[str, str]]:
    if not only:
        return all_cells
    unknown = sorted(set(only) - {m for m, _ in all_cells})
    if unknown:
        print(f"no cells for model type(s): {', '.join(unknown)}", file=sys.stderr)
    return [(m, t) for m, t in all_cells if m in only]


def _command_line(argv: Sequence[str] | None) -> str:
    args = list(sys.argv[1:] if argv is None else argv)
    return " ".join(["python benchmarks/coverage.py", *args])


# -- running -------------------------------------------------------------------------------------


def _exit_with_parent(parent: int) -> None:
    # A pool worker outlives a parent killed by a signal and would go on using a core; on a
    # shared machine it has to go with its parent.
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(2)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _init_worker(parent: int) -> None:
    _exit_with_parent(parent)
    # Two workers on two cores: intra-op threads beyond one per worker only contend.
    import warnings

    import torch

    torch.set_num_threads(1)
    # torch.export's deprecation notices and transformers' tracing remarks repeat once per cell
    # and would drown the progress lines; the matrix records what went wrong.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    from irc.frontend.loading import quiet_transformers

    quiet_transformers()


def _serve(conn: Any, parent: int, registry: bool) -> None:
    """A worker: runs the cells it is sent, one at a time, until it is sent None."""
    _init_worker(parent)
    while True:
        item = conn.recv()
        if item is None:
            return
        with tempfile.TemporaryDirectory(prefix="irc-coverage-") as tmp:
            if registry or item[2] == "transformers-onnx":
                from benchmarks.registry import run_item

                result = run_item(item, Path(tmp))
            else:
                result = run_cell(*item, Path(tmp))
        conn.send(result)


class _Worker:
    """A spawned worker process and the cell it is running; killed and replaced on a timeout."""

    def __init__(self, parent: int, registry: bool) -> None:
        # spawn, not fork: torch and ONNX Runtime keep thread pools a forked child inherits broken.
        context = get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, parent, registry), daemon=True)
        self.process.start()
        self.item: tuple[str, str, str] | None = None
        self.since = 0.0

    def give(self, item: tuple[str, str, str]) -> None:
        self.item, self.since = item, time.monotonic()
        self.conn.send(item)

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            self.conn.send(None)
        self.process.join(5)


def run_all(
    todo: list[tuple[str, str]],
    backends: list[str],
    jobs: int,
    timeout: float = 300.0,
    registry: bool = False,
    skip: set[tuple[str, str, str]] | None = None,
    on_result: Callable[[CellResult], Any] | None = None,
) -> list[CellResult]:
    """Every cell on every backend in `jobs` spawned workers, each cell within `timeout` seconds,
    but those in `skip` (a resumed shard's); `on_result` sees each as it lands; progress on stdout."""
    work = [(m, t, b) for m, t in todo for b in backends if (m, t, b) not in (skip or set())]
    if not work:
        return []
    print(f"running {len(work)} cells ({len(todo)} per backend: {', '.join(backends)}) on {jobs} workers")
    pending, results = deque(work), []
    workers = [_Worker(os.getpid(), registry) for _ in range(min(jobs, len(work)))]
    while pending or any(w.item for w in workers):
        for worker in workers:
            if worker.item is None and pending:
                worker.give(pending.popleft())
        busy = [w for w in workers if w.item]
        for conn in wait([w.conn for w in busy], timeout=1.0):
            worker = next(w for w in busy if w.conn is conn)
            results.append(_receive(worker))
            _report(len(results), len(work), results[-1])
            if on_result is not None:
                on_result(results[-1])
        for i, worker in enumerate(workers):
            if worker.item and time.monotonic() - worker.since > timeout:
                from benchmarks.registry import timed_out

                results.append(timed_out(worker.item, timeout))
                _report(len(results), len(work), results[-1])
                if on_result is not None:
                    on_result(results[-1])
                worker.stop(kill=True)
                workers[i] = _Worker(os.getpid(), registry)
    for worker in workers:
        worker.stop()
    order = {item: i for i, item in enumerate(work)}
    return sorted(results, key=lambda r: order[(r.model_type, r.task, r.backend)])


def _receive(worker: _Worker) -> CellResult:
    item, worker.item = worker.item, None
    try:
        return worker.conn.recv()
    except (EOFError, OSError) as exc:  # run_cell never raises: the worker process died
        model_type, task, backend = item
        return CellResult(
            model_type, task, backend, False, None, 0.0, 1e-4, f"worker died: {exc!r}", "export"
        )


def _report(done: int, total: int, result: CellResult) -> None:
    print(f"[{done:>{len(str(total))}}/{total}] {_progress(result)}", flush=True)


def _progress(r: CellResult) -> str:
    mark = f"{PASS} {_diff(r.max_abs_diff)}" if r.passed else f"{FAIL} {r.reason}"
    return f"{r.backend:<11} {r.model_type:<16} {r.task:<23} {r.seconds:5.1f}s {mark}"


# -- the markdown ---------------------------------------------------------------------------------


def render(
    results: list[CellResult],
    todo: list[tuple[str, str]],
    backends: list[str],
    command: str,
    jobs: int,
    wall: float,
) -> str:
    footnotes: dict[tuple[str, str], int] = {}
    lines = _header(command, jobs, wall)
    lines += _summary(results, todo, backends)
    for backend in backends:
        lines += _matrix(results, todo, backend, footnotes)
    lines += _atol_notes(todo)
    lines += _failures(results, footnotes)
    return "\n".join(lines) + "\n"


def _header(command: str, jobs: int, wall: float) -> list[str]:
    import onnxruntime
    import torch
    import transformers

    import irc

    today = datetime.date.today().isoformat()
    return [
        "# Coverage",
        "",
        f"Generated by `{command}` on {today} (irc {irc.__version__}, torch {torch.__version__}, "
        f"transformers {transformers.__version__}, onnxruntime {onnxruntime.__version__}, "
        f"Python {platform.python_version()}; machine: {os.cpu_count()} cores, {platform.machine()}, "
        f"{jobs} workers, {wall / 60:.1f} min wall). Do not edit by hand: rerun the command.",
        "",
        "Each cell is a tiny random model of the model type with the task's head (configs in "
        "`tests/models.py`), exported with `irc.export(..., validate=True)`: traced at batch 2, "
        "sequence 8 and validated against PyTorch at two other shapes. A cell reads "
        f"`{PASS} max-abs-diff export-seconds`, `{FAIL} [n]` for a failure explained under Failures, "
        f"or `{NO_HEAD}` when Transformers has no head of that task for the model type. "
        "`tests/test_coverage.py` runs the same cells on the ONNX backend (one per model type by default, all with `-m slow`).",
        "",
    ]


def _summary(results: list[CellResult], todo: list[tuple[str, str]], backends: list[str]) -> list[str]:
    lines = ["## Summary", "", "| backend | cells passed | export time (sum) |", "|---|---|---|"]
    for backend in backends:
        mine = [r for r in results if r.backend == backend]
        passed = sum(r.passed for r in mine)
        seconds = sum(r.seconds for r in mine)
        lines.append(f"| {backend} | {passed} / {len(todo)} | {seconds / 60:.1f} min |")
    return [*lines, ""]


def _tasks_in(todo: list[tuple[str, str]]) -> list[str]:
    from irc.frontend.tasks import TASKS

    present = {t for _, t in todo}
    return [t for t in TASKS if t in present]


def _model_types(todo: list[tuple[str, str]]) -> list[str]:
    return list(dict.fromkeys(m for m, _ in todo))


def _matrix(
    results: list[CellResult],
    todo: list[tuple[str, str]],
    backend: str,
    footnotes: dict[tuple[str, str], int],
) -> list[str]:
    from irc.frontend.tasks import get_model
    from tests.models import base_type

    tasks = _tasks_in(todo)
    by_cell = {(r.model_type, r.task): r for r in results if r.backend == backend}
    lines = [
        f"## {backend}",
        "",
        "| model type | atol | " + " | ".join(tasks) + " |",
        "|---|---|" + "---|" * len(tasks),
    ]
    for model_type in _model_types(todo):
        row = [_cell_text(by_cell.get((model_type, t)), footnotes) for t in tasks]
        used = sorted({r.atol for (m, _), r in by_cell.items() if m == model_type})
        atol = " / ".join(_short(a) for a in used or [get_model(base_type(model_type)).atol])
        lines.append(f"| {model_type} | {atol} | " + " | ".join(row) + " |")
    return [*lines, ""]


def _short(value: float) -> str:
    """1e-4 rather than 0.0001 or 1e-04."""
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _cell_text(result: CellResult | None, footnotes: dict[tuple[str, str], int]) -> str:
    if result is None:
        return NO_HEAD
    if result.passed:
        return f"{PASS} {_diff(result.max_abs_diff)} {result.seconds:.1f}s"
    # One footnote per distinct reason and backend: one missing lowering fails many cells alike.
    key = (result.backend, result.reason)
    number = footnotes.setdefault(key, len(footnotes) + 1)
    return f"{FAIL} [{number}]"


def _diff(value: float | None) -> str:
    return "–" if value is None else f"{value:.0e}" if value else "0"


def _atol_notes(todo: list[tuple[str, str]]) -> list[str]:
    from irc.frontend.tasks import get_model
    from tests.models import base_type

    specs = [get_model(base_type(m)) for m in _model_types(todo)]
    wider = [spec for spec in specs if spec.atol != 1e-4]
    lines = ["## Tolerances", ""]
    if not wider:
        return [
            *lines,
            "Every model type is validated at atol 1e-4 (ModelSpec.atol in OVERRIDES, irc/frontend/tasks.py).",
            "",
        ]
    lines.append("Model types validated above atol 1e-4, and why:")
    lines.append("")
    lines += [
        f"- {spec.model_type}: {spec.atol:g}: {spec.atol_reason or 'no reason given'}" for spec in wider
    ]
    return [*lines, ""]


def _failures(results: list[CellResult], footnotes: dict[tuple[str, str], int]) -> list[str]:
    lines = ["## Failures", ""]
    if not footnotes:
        return [*lines, "None.", ""]
    for (backend, reason), number in sorted(footnotes.items(), key=lambda kv: kv[1]):
        where = ", ".join(
            f"{r.model_type} {r.task}" for r in results if r.backend == backend and r.reason == reason
        )
        known = _known_reasons(results, backend, reason)
        lines.append(f"{number}. **{backend}** ({where}): {_escape(reason)}{known}")
    return [*lines, ""]


def _known_reasons(results: Iterable[CellResult], backend: str, reason: str) -> str:
    """The cause recorded in KNOWN_FAILURES (for the ONNX test suite), when it says more."""
    causes = {
        KNOWN_FAILURES[(r.model_type, r.task)]
        for r in results
        if r.backend == backend and r.reason == reason and (r.model_type, r.task) in KNOWN_FAILURES
    }
    return "".join(f" *Known: {_escape(c)}*" for c in sorted(causes)) if backend == "onnx" else ""


def _escape(text: str) -> str:
    # Reasons quote IR (`%x`, `|`) and shapes; keep them from breaking the markdown.
    return text.replace("|", "\\|").replace("\n", " ")


if __name__ == "__main__":
    sys.exit(main())
