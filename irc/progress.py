"""Stage-by-stage progress on a terminal: `[irc] trace ... done in 1.2 s`; silent otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    """Times each stage; prints it when `enabled` (by default: when the stream is a terminal)."""

    def __init__(self, enabled: bool | None = None, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, detail: str = "") -> Iterator[None]:
        start = time.perf_counter()
        try:
            # Inside the try: a Ctrl-C that lands just after the write still ends the line.
            self._write(f"[irc] {name}{' ' + detail if detail else ''} ...")
            yield
        except BaseException:
            self._write(" failed\n")
            raise
        elapsed = time.perf_counter() - start
        self.timings[name] = self.timings.get(name, 0.0) + elapsed
        self._write(f" done in {elapsed:.2f} s\n")

    def _write(self, text: str) -> None:
        if self.enabled:
            self.stream.write(text)
            self.stream.flush()


QUIET = Progress(enabled=False)
