"""Ctrl-C (or SIGTERM) during `irc export` leaves nothing behind and prints one line; what a
SIGKILL leaves, the next export to the same output removes.

The export runs in a real subprocess whose stderr is a pseudo-terminal, as when a user runs it,
so irc prints its `[irc] <stage> ...` lines; the test waits for a stage to start, sends the
signal with `os.kill`, and checks the exit code, the message and the whole test folder.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.models import tiny_checkpoint

TIMEOUT = 300.0


def _default_signals() -> None:
    """Run in the child before exec: SIGINT and SIGTERM do what they do at a terminal.

    A background job of a non-interactive shell (`nohup pytest &`) starts with SIGINT ignored,
    and an ignored disposition survives exec, so the export would never see the Ctrl-C these
    tests send; the test sets the disposition it relies on instead of inheriting it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _read_until(fd: int, needle: str | None, deadline: float) -> str:
    """Read the terminal until `needle` has appeared (None: until the other end closes)."""
    text = ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096).decode(errors="replace")
        except OSError:  # EIO: the child closed the terminal
            return text
        if not chunk:
            return text
        text += chunk
        if needle is not None and needle in text:
            return text
    raise AssertionError(f"timed out waiting for {needle!r}; the terminal showed:\n{text}")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # causal-lm-with-past validates generation too: a validate stage long enough to interrupt.
    return tiny_checkpoint(tmp_path_factory.mktemp("gpt2") / "ckpt", "gpt2", "causal-lm")


@pytest.mark.parametrize(
    ("stage", "signum"),
    [
        ("load", signal.SIGINT),
        ("trace", signal.SIGINT),
        ("validate", signal.SIGINT),
        ("validate", signal.SIGTERM),
    ],
    ids=["sigint-load", "sigint-trace", "sigint-validate", "sigterm-validate"],
)
def test_interrupted_export_leaves_nothing(
    tmp_path: Path, checkpoint: Path, stage: str, signum: signal.Signals
) -> None:
    root = tmp_path / "work"
    root.mkdir()
    out = root / "new" / "out"
    before = _tree(root)
    master, slave = pty.openpty()
    argv = [sys.executable, "-m", "irc.cli", "export", "--model", str(checkpoint)]
    proc = subprocess.Popen(
        [*argv, "--task", "causal-lm-with-past", str(out)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        preexec_fn=_default_signals,
    )
    os.close(slave)
    deadline = time.monotonic() + TIMEOUT
    try:
        shown = _read_until(master, f"[irc] {stage}", deadline)
        if stage == "validate":
            assert [p for p in out.parent.iterdir() if ".irc-tmp-" in p.name], "no staging folder yet"
        os.kill(proc.pid, signum)
        shown += _read_until(master, None, deadline)
        proc.wait(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert proc.stdout is not None
    stdout = proc.stdout.read().decode()
    proc.stdout.close()

    assert proc.returncode == 130, shown + stdout
    assert "Traceback" not in shown and "Traceback" not in stdout
    last = shown.replace("\r\n", "\n").rstrip("\n").split("\n")[-1]
    assert last == "interrupted; nothing was written.", shown
    assert shown.count("interrupted") == 1
    assert _tree(root) == before, "the interrupted export left files behind"


def test_sigkill_leftovers_are_removed_by_the_next_export(tmp_path: Path, checkpoint: Path) -> None:
    """SIGKILL (the OOM killer's signal) allows no cleanup: the staging folder stays until the
    next export to the same output, which removes it and succeeds."""
    out = tmp_path / "out"
    master, slave = pty.openpty()
    argv = [sys.executable, "-m", "irc.cli", "export", "--model", str(checkpoint), "--task", "causal-lm"]
    proc = subprocess.Popen(
        [*argv, str(out)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=slave,
        preexec_fn=_default_signals,
    )
    os.close(slave)
    try:
        _read_until(master, "[irc] validate", time.monotonic() + TIMEOUT)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    left = [p for p in tmp_path.iterdir() if ".irc-tmp-" in p.name]
    assert len(left) == 1 and f"-{proc.pid}-" in left[0].name and not out.exists()

    done = subprocess.run([*argv, "--no-validate", str(out)], capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_stale_folders_of_live_processes_and_other_hosts_stay(tmp_path: Path) -> None:
    from irc.exporter.artifact import _HOST, remove_stale

    out = tmp_path / "out"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    names = {
        "dead": f".out.irc-tmp-{_HOST}-{int(dead.stdout)}-x1",
        "dead old": f".out.irc-old-{_HOST}-{int(dead.stdout)}",
        "live": f".out.irc-tmp-{_HOST}-{os.getpid()}-x2",
        "other host": f".out.irc-tmp-{_HOST}x-{int(dead.stdout)}-x3",
        "other output": f".out2.irc-tmp-{_HOST}-{int(dead.stdout)}-x4",
    }
    for name in names.values():
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.onnx").write_bytes(b"partial")
    remove_stale(out)
    kept = {label for label, name in names.items() if (tmp_path / name).exists()}
    assert kept == {"live", "other host", "other output"}
