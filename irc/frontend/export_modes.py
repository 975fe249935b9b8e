"""Tracing help that reads the model's own code paths: its export switch, and where torch.export
stopped in it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_RAISED_AT = re.compile(
    r'The following call raised this error:\s*File "[^"]*/([^/"]+)", line (\d+), in (\w+)'
)
_CAUSED_BY = re.compile(r"Caused by: \((?:[^()\s]*/)?([^/()\s]+\.py):(\d+) in (\w+)\)")


@contextmanager
def export_friendly(config: Any) -> Iterator[None]:
    """While tracing, a config's `onnx_export` switch is on where the config class has one:
    Longformer's chunking then avoids `as_strided` views, whose sizes torch.export can only guess
    from data. The computation is the same; the reference runs keep the config as it was."""
    if getattr(config, "onnx_export", None) is not False:
        yield
        return
    config.onnx_export = True
    try:
        yield
    finally:
        config.onnx_export = False


def raised_at(exc: BaseException) -> str:
    """` (at modeling_x.py:123 in fn)`: the model's line torch.export names, or ``."""
    text = str(exc)
    found = _RAISED_AT.search(text) or _CAUSED_BY.search(text)
    # A guard inside torch's own reference ops (`_refs/__init__.py`) says nothing about the model.
    if found is None or "modeling" not in found[1]:
        return ""
    return f" (at {found[1]}:{found[2]} in {found[3]})"
