"""Writing an artifact folder atomically, with its manifest `irc.json`.

The artifact is built in a hidden sibling folder and renamed into place only when complete, so
a failed or interrupted export never leaves a half-written folder at the output path.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from irc.errors import IrcError
from irc.validate.reload import MANIFEST as MANIFEST

WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.pt", "*.pth")
"""The files of a checkpoint folder that hold weights; `checkpoint_record` hashes these."""
CHUNK = 1 << 20


class OutputExistsError(IrcError):
    """The output folder exists and --force was not given."""


def check_output(output: Path, force: bool) -> None:
    if output.exists() and not force:
        raise OutputExistsError(
            f"output folder {output} already exists; choose another path or pass --force to replace it."
        )
    if output.exists() and not output.is_dir():
        raise OutputExistsError(f"output path {output} is a file; choose a folder path.")


@contextmanager
def staging_folder(output: Path) -> Iterator[Path]:
    """A temporary folder beside `output`, removed on any failure (SIGINT and SIGTERM included),
    together with the parent folders it had to create."""
    created = [p for p in (output.parent, *output.parent.parents) if not p.exists()]
    previous = signal.getsignal(signal.SIGTERM)
    staging: Path | None = None
    try:
        # SIGTERM becomes KeyboardInterrupt so the cleanup below runs; SIGINT already is one.
        if _in_main_thread():
            signal.signal(signal.SIGTERM, _raise_interrupt)
        output.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(output)
        staging = Path(tempfile.mkdtemp(prefix=_hidden(output, "tmp") + "-", dir=output.parent))
        # mkdtemp makes the folder private (0700); the artifact gets the permissions of any new folder.
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)
        yield staging
    finally:
        # A second Ctrl-C must not cut the cleanup short: it is held until the end of this block.
        with signals_held():
            if _in_main_thread():
                signal.signal(signal.SIGTERM, previous)
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            if not output.exists():
                for folder in created:  # deepest first; a folder something else wrote to stays
                    _remove_if_empty(folder)


def publish(staging: Path, output: Path) -> None:
    """Move the finished staging folder to `output`, replacing an old one (checked by the caller).

    Signals are held meanwhile, so an interrupt cannot fall between moving the old folder aside
    and moving the new one in."""
    with signals_held():
        if not output.exists():
            staging.rename(output)
            return
        old = output.parent / _hidden(output, "old")
        output.rename(old)
        staging.rename(output)
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends; one that arrived meanwhile is delivered then."""
    if not _in_main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")


def checkpoint_record(source: str) -> dict[str, Any]:
    """The manifest's record of where the weights came from.

    For a folder: its weight files and one sha256 over them, in name order, each contributing its
    name, its size and its bytes (read in 1 MiB chunks, so a checkpoint of any size is hashed in
    constant memory). For an in-memory module (`source` is `<module Name>`) there is no file to hash
    and the record says so.
    """
    folder = Path(source)
    if not folder.is_dir():
        return {
            "source": source,
            "files": [],
            "sha256": None,
            "note": "in-memory module: no checkpoint files",
        }
    files = sorted({f for pattern in WEIGHT_PATTERNS for f in folder.glob(pattern) if f.is_file()})
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.name}\0{file.stat().st_size}\0".encode())
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                digest.update(chunk)
    return {"source": source, "files": [f.name for f in files], "sha256": digest.hexdigest()}


def checkpoint_record_soon(source: str) -> Callable[[], dict[str, Any]]:
    """`checkpoint_record(source)` started now in a thread; the returned call waits for it.

    Hashing reads every weight file (0.4 s for BERT-base's 438 MB); file reads and hashlib release
    the GIL, so started before tracing it costs no wall time on a second core. The thread is a
    daemon: an interrupted export does not wait for it.
    """
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            result["record"] = checkpoint_record(source)
        except OSError:  # read again by `wait`, which raises it where the caller sees it
            pass

    thread = threading.Thread(target=work, name="irc-checkpoint-sha256", daemon=True)
    thread.start()

    def wait() -> dict[str, Any]:
        thread.join()
        return result["record"] if "record" in result else checkpoint_record(source)

    return wait


def dynamic_dims(values: Any) -> dict[str, dict[str, str]]:
    """`{value name: {axis: dim text}}` for every symbolic dim of `values` (graph inputs or
    outputs), the `dynamic_axes` form transformers' and Optimum's exporters use."""
    dims: dict[str, dict[str, str]] = {}
    for value in values:
        shape = getattr(value.type, "shape", ())
        axes = {str(i): str(d) for i, d in enumerate(shape) if not isinstance(d, int)}
        if axes:
            dims[value.name] = axes
    return dims


def _hidden(output: Path, kind: str) -> str:
    """The name of a hidden sibling of `output` this process owns: `.out.irc-tmp-host-1234`."""
    return f".{output.name}.irc-{kind}-{_HOST}-{os.getpid()}"


_HOST = re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname()) or "localhost"


def remove_stale(output: Path) -> None:
    """Remove hidden siblings of `output` left by exports on this host whose process is gone.

    SIGKILL (the OOM killer's signal) ends a process without any cleanup, so its staging folder
    stays; the next export to the same output removes it. Folders of live processes, or made on
    another host sharing the file system, are left alone.
    """
    pattern = re.compile(rf"\.{re.escape(output.name)}\.irc-(?:tmp|old)-{re.escape(_HOST)}-(\d+)(?:-.*)?")
    for entry in output.parent.iterdir():
        found = pattern.fullmatch(entry.name)
        if found and entry.is_dir() and not _alive(int(found.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def build_manifest(
    plan: Any,
    report: Any,
    checkpoint: Callable[[], dict[str, Any]] | None,
    dtype: str | None,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """`irc.json` for an `irc.exporter.plan.ExportPlan`: what made the artifact, from what, each
    model's signature and tie groups, how it validated, and the backend's own `extra` entries."""
    import irc
    from irc.backends.options import as_dict

    first = plan.checks[0].part
    graphs = {check.name: _graph_record(check.part.graph, check.lowered) for check in plan.checks}
    single = graphs.pop("model") if list(graphs) == ["model"] else {"components": graphs}
    options = plan.options
    return {
        "irc_version": irc.__version__,
        "source": first.loaded.source,
        "model_type": first.loaded.model_type,
        "checkpoint": checkpoint() if checkpoint is not None else checkpoint_record(first.loaded.source),
        "task": first.loaded.task.name,
        "backend": plan.backend.name,
        "pipeline": plan.pipelines,
        "options": as_dict(options),
        "opset": getattr(options, "opset", getattr(plan.backend, "default_opset", None)),
        **single,
        "traced_sizes": first.sizes,
        "validation": report.to_dict() if report is not None else None,
        "dtype": dtype or "float32",
        **extra,
    }


def _graph_record(graph: Any, lowered: Any) -> dict[str, Any]:
    """Names, types and dims of `graph` (as traced, or after its pipeline), and the tie groups
    of what was `lowered` from it (a bucket's copy went through untie-weights)."""
    return {
        "inputs": {v.name: str(v.type) for v in graph.inputs},
        "outputs": {v.name: str(v.type) for v in graph.outputs},
        "dynamic_dims": {**dynamic_dims(graph.inputs), **dynamic_dims(graph.outputs)},
        "tie_groups": {k: [q.name for q in v] for k, v in lowered.tie_groups().items()},
        # Separated by untie-weights: each group's members must be trained together.
        "untied": lowered.metadata.get("untied", {}),
    }
