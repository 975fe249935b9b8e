"""Resumable shards of a coverage run, for the full registry (hours on two cores).

`--shard K/N` runs every N-th cell from the K-th, and with `--results DIR` appends each finished
cell to `DIR/shard-K-of-N.jsonl` as it lands: a shard that is stopped and started again skips the
cells it already has. `--merge DIR` reads every shard file there and writes one report of them all.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from pathlib import Path
from typing import Any

from tests.coverage_cells import CellResult


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` -> (K, N), 1 <= K <= N."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard takes K/N such as 2/8, got {text!r}") from None
    if not 1 <= k <= n:
        raise ValueError(f"--shard K/N needs 1 <= K <= N, got {text!r}")
    return k, n


def shard_of(todo: list[Any], k: int, n: int) -> list[Any]:
    """The K-th of N shards, by a hash of each cell: a cell stays in its shard when the registry
    gains or loses other cells (a new transformers, a changed cell rule), so finished shards stay
    finished; the cells of one model type spread over the shards."""
    return [cell for cell in todo if zlib.crc32("/".join(cell).encode()) % n == k - 1]


class ResultLog:
    """The cells a shard has finished, one JSON object per line, appended as each one lands. A
    cell any shard file in the folder already holds counts as done (shards of an older cell list
    may hold it)."""

    def __init__(self, directory: Path, k: int, n: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"shard-{k}-of-{n}.jsonl"
        self._load()

    def _load(self) -> None:
        self.results = read_results([self.path]) if self.path.exists() else []
        others = sorted(set(self.path.parent.glob("shard-*.jsonl")) - {self.path})
        self._others = read_results(others)

    def done(self) -> set[tuple[str, str, str]]:
        return {(r.model_type, r.task, r.backend) for r in self.results + self._others}

    def forget_failed(self, cells: list[tuple[str, str]]) -> int:
        """Drop the failed results of `cells` from every shard file, so they run again (after a
        fix); the number of results dropped."""
        wanted, dropped = set(cells), 0
        for path in sorted(self.path.parent.glob("shard-*.jsonl")):
            kept = []
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    result = CellResult(**json.loads(line))
                except (ValueError, TypeError):
                    continue
                if not result.passed and (result.model_type, result.task) in wanted:
                    dropped += 1
                else:
                    kept.append(line + "\n")
            staged = path.with_suffix(".tmp")
            staged.write_text("".join(kept), encoding="utf-8")
            staged.replace(path)
        self._load()
        return dropped

    def append(self, result: CellResult) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(dataclasses.asdict(result)) + "\n")


def read_results(paths: list[Path]) -> list[CellResult]:
    """The cells recorded in `paths`; a torn last line (a shard killed mid-write) is skipped."""
    results: dict[tuple[str, str, str], CellResult] = {}
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                result = CellResult(**json.loads(line))
            except (ValueError, TypeError):
                continue
            results[(result.model_type, result.task, result.backend)] = result
    return list(results.values())


def merged(
    directory: Path, todo: list[tuple[str, str]]
) -> tuple[list[CellResult], list[tuple[str, str]], list[str]]:
    """Every shard's results in `directory`, the cells they cover (in `todo`'s order) and their
    columns (backends first, transformers' exporter last)."""
    paths = sorted(directory.glob("shard-*.jsonl"))
    if not paths:
        raise ValueError(
            f"{directory} holds no shard-*.jsonl files; run with --shard K/N --results {directory}"
        )
    # A cell the registry no longer has (a changed cell rule) is left out of the report.
    wanted = set(todo)
    results = [r for r in read_results(paths) if (r.model_type, r.task) in wanted]
    covered = {(r.model_type, r.task) for r in results}
    cells = [cell for cell in todo if cell in covered]
    columns = sorted({r.backend for r in results}, key=lambda c: (c == "transformers-onnx", c))
    return results, cells, columns
