"""benchmarks/shards.py: the full registry run in resumable shards, merged into one report."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.shards import ResultLog, merged, parse_shard, shard_of
from tests.coverage_cells import CellResult


def _cell(model_type: str, backend: str = "onnx", passed: bool = True) -> CellResult:
    return CellResult(model_type, "default", backend, passed, 0.0 if passed else None, 1.0, 1e-4)


def test_shards_partition_the_cells() -> None:
    todo = [(f"type{i}", "default") for i in range(10)]
    shards = [shard_of(todo, k, 3) for k in (1, 2, 3)]
    assert sorted(c for s in shards for c in s) == sorted(todo)
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "x", "1/2/3"):
        with pytest.raises(ValueError, match="--shard"):
            parse_shard(bad)


def test_a_resumed_shard_keeps_its_cells_and_skips_a_torn_line(tmp_path: Path) -> None:
    log = ResultLog(tmp_path, 1, 2)
    log.append(_cell("bert"))
    log.append(_cell("gpt2", passed=False))
    with log.path.open("a") as out:
        out.write('{"model_type": "t5", "ta')  # the shard was killed mid-write
    resumed = ResultLog(tmp_path, 1, 2)
    assert resumed.done() == {("bert", "default", "onnx"), ("gpt2", "default", "onnx")}
    assert [r.passed for r in resumed.results] == [True, False]


def test_merge_reads_every_shard_in_registry_order(tmp_path: Path) -> None:
    ResultLog(tmp_path, 1, 2).append(_cell("gpt2"))
    second = ResultLog(tmp_path, 2, 2)
    second.append(_cell("bert", "transformers-onnx"))
    second.append(_cell("bert"))
    results, cells, columns = merged(tmp_path, [("bert", "default"), ("gpt2", "default"), ("t5", "default")])
    assert cells == [("bert", "default"), ("gpt2", "default")]
    assert columns == ["onnx", "transformers-onnx"]
    assert len(results) == 3
    with pytest.raises(ValueError, match="no shard"):
        merged(tmp_path / "empty", [])


def test_a_cell_keeps_its_shard_when_the_registry_changes() -> None:
    todo = [(f"type{i}", task) for i in range(40) for task in ("default", "causal-lm")]
    before = shard_of(todo, 2, 8)
    grown = shard_of([("aaa", "default")] + todo[:10] + todo[11:], 2, 8)
    assert set(before) - {todo[10]} <= set(grown)


def test_cells_done_in_another_shard_file_are_not_run_again(tmp_path: Path) -> None:
    ResultLog(tmp_path, 1, 8).append(_cell("bert"))
    assert ("bert", "default", "onnx") in ResultLog(tmp_path, 3, 8).done()


def test_rerun_failed_forgets_only_the_failed_cells_it_is_given(tmp_path: Path) -> None:
    log = ResultLog(tmp_path, 1, 2)
    log.append(_cell("bert"))
    log.append(_cell("gpt2", passed=False))
    ResultLog(tmp_path, 2, 2).append(_cell("t5", passed=False))
    assert log.forget_failed([("bert", "default"), ("gpt2", "default")]) == 1
    assert log.done() == {("bert", "default", "onnx"), ("t5", "default", "onnx")}


def test_merge_leaves_out_cells_the_registry_no_longer_has(tmp_path: Path) -> None:
    log = ResultLog(tmp_path, 1, 1)
    log.append(_cell("bert"))
    log.append(_cell("llava"))
    results, cells, _ = merged(tmp_path, [("bert", "default")])
    assert cells == [("bert", "default")] and [r.model_type for r in results] == ["bert"]
