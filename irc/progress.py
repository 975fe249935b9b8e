"""Stage-by-stage progress on a terminal: `[irc] trace ... done in 1.2 s`; silent otherwise.

Every API call times its own stages: it works on `Progress.for_call(progress)`, a fresh Progress
that prints where the caller's does and adds its timings to the caller's too, so the timings a
call returns are that call's alone, however many calls share one caller's Progress.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    """Times each stage; prints it when `enabled` (by default: when the stream is a terminal)."""

    def __init__(
        self, enabled: bool | None = None, stream: TextIO | None = None, parent: Progress | None = None
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.timings: dict[str, float] = {}
        self.parent = parent
        """Also given every stage's time (the caller's Progress of a call's own)."""

    @classmethod
    def for_call(cls, caller: Progress | None) -> Progress:
        """A fresh Progress for one API call: quiet when the caller gave none, else printing
        like `caller` and reporting to it."""
        if caller is None:
            return cls(enabled=False)
        return cls(enabled=caller.enabled, stream=caller.stream, parent=caller)

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
        self._add(name, elapsed)
        self._write(f" done in {elapsed:.2f} s\n")

    def _add(self, name: str, seconds: float) -> None:
        self.timings[name] = self.timings.get(name, 0.0) + seconds
        if self.parent is not None:
            self.parent._add(name, seconds)

    def _write(self, text: str) -> None:
        if self.enabled:
            self.stream.write(text)
            self.stream.flush()
