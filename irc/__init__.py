"""irc: compile PyTorch / Hugging Face transformers models through one IR to ONNX and more.

`irc.trace(model, task=...)` returns the IR graph; `irc.export(model, task=..., output=...)`
writes a validated artifact. Heavy dependencies load on first use, not on `import irc`.
"""

from __future__ import annotations

from typing import Any

from irc.errors import IrcError

__version__ = "0.1.0"
__all__ = ["IrcError", "__version__", "export", "trace"]


def trace(model: Any, task: str | None = None, **kwargs: Any) -> Any:
    from irc.api import trace as _trace

    return _trace(model, task, **kwargs)


def export(model: Any, task: str | None = None, output: Any = "out", **kwargs: Any) -> Any:
    from irc.api import export as _export

    return _export(model, task, output, **kwargs)
