"""Where the model's code pinned an input dim that irc exports dynamic.

torch.export's shape environment logs each guard it adds with the user frame that added it
(`eval Eq(s50, 8) [guard added] (transformers/models/rwkv/modeling_rwkv.py:180 in
rwkv_linear_attention_cpu)`) and each input symbol with its source (`create_symbol s50 = 8 for
L['args'][0].size()[1]`). While tracing, those records are kept; when a named dim comes out fixed
(a Python loop over it, `len(tensor)`, a branch on its size), the error names the modeling line
that fixed it and quotes it, so the user sees what irc cannot export and where.
"""

from __future__ import annotations

import contextlib
import linecache
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_LOGGER = "torch.fx.experimental.symbolic_shapes"
_CREATED = re.compile(r"create_symbol (s\d+) = (\d+) for L\['args'\]\[(\d+)\]\.size\(\)\[(\d+)\]")
_PINNED = re.compile(r"eval Eq\((s\d+), (\d+)\) \[guard added\][^(]*\(([^()]+\.py):(\d+) in (\w+)\)")


class _Keep(logging.Handler):
    def __init__(self, kept: list[str]) -> None:
        super().__init__(logging.INFO)
        self.kept = kept

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(("create_symbol", "eval Eq(")):
            self.kept.append(message)


@contextlib.contextmanager
def watched_guards() -> Iterator[list[str]]:
    """The shape environment's symbol and guard records while the block runs (kept, not printed)."""
    logger = logging.getLogger(_LOGGER)
    kept: list[str] = []
    handler = _Keep(kept)
    level, propagate, handlers = logger.level, logger.propagate, list(logger.handlers)
    logger.setLevel(logging.INFO)
    # torch's own handlers (on this logger and above it) would print every INFO record.
    logger.propagate = False
    logger.handlers = [handler]
    try:
        yield kept
    finally:
        logger.handlers = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def pinned_at(records: list[str], arg: int, axis: int) -> str:
    """` at modeling_rwkv.py:180 in rwkv_linear_attention_cpu (`...the line...`)` for the guard
    that fixed input `arg`'s `axis`, or `` if the records do not say."""
    symbols = {m[1] for r in records if (m := _CREATED.search(r)) and (int(m[3]), int(m[4])) == (arg, axis)}
    for record in records:
        found = _PINNED.search(record)
        if found and found[1] in symbols:
            path, line, function = found[3], int(found[4]), found[5]
            text = _source(path, line)
            quoted = f" (`{text}`)" if text else ""
            return f" at {Path(path).name}:{line} in {function}{quoted}"
    return ""


def pinned_message(records: list[str], specs: Any, arg: int, axis: int, size: int) -> str:
    """The sentence for input `arg`'s named `axis` fixed to `size` by the model's code."""
    name, dim = specs[arg].name, specs[arg].axes[axis]
    where = pinned_at(records, arg, axis) or " (torch.export did not say where)"
    return (
        f"the model's code fixes {name}'s {dim} to {size}, the trace size,{where}: irc exports every "
        f"named dim dynamic and has no mode that keeps {dim} static, so this artifact would be wrong at "
        f"any other {dim}. That line would have to compute {dim} from a tensor op instead of a Python int "
        "(report the model type)"
    )


def _source(path: str, line: int) -> str:
    full = path
    if not Path(path).is_absolute():
        import transformers

        full = str(Path(transformers.__file__).parent.parent / path)
    return linecache.getline(full, line).strip()[:120]


_SPECIALIZED = re.compile(
    r"L\['args'\]\[(\d+)\]\.size\(\)\[(\d+)\].*?specialized it to be a constant \((\d+)\)", re.S
)


def specialized_hint(records: list[str], specs: Any, exc: BaseException) -> str:
    """For torch.export's "Constraints violated ... specialized it to be a constant (8)": "the
    model's code fixes input_ids's sequence to 8 ... at modeling_x.py:N ..."; else ``."""
    found = _SPECIALIZED.search(str(exc))
    if found is None:
        return ""
    arg, axis, size = (int(g) for g in found.groups())
    if arg >= len(specs) or axis >= len(specs[arg].axes) or not isinstance(specs[arg].axes[axis], str):
        return ""
    return pinned_message(records, specs, arg, axis, size)


_DATA_DEPENDENT = re.compile(r"data-dependent expression (.+?) \(unhinted")
_FILE_LINE = re.compile(r'File "([^"]*/modeling_[^"/]+\.py)", line (\d+), in (\w+)')
_CAUSED_BY = re.compile(r"Caused by: \(([^()\s]*modeling_[^()\s]+\.py):(\d+) in (\w+)\)")


def data_dependent_message(exc: BaseException) -> str:
    """For "Could not guard on data-dependent expression Eq(u0, 0)": what that means (a Python
    branch, loop or int() on a value the inputs compute, which one trace cannot hold) and the
    modeling line, quoted; else ``."""
    found = _DATA_DEPENDENT.search(str(exc))
    if found is None:
        return ""
    where = _modeling_frame(exc)
    return (
        f"the model's code branches on the values of a tensor (a Python if, loop or int() on data "
        f"the inputs compute: torch.export's {found[1]}){where}; a trace holds one path, which would be "
        "wrong for other inputs, and irc has no rewrite for this line (report the model type)"
    )


def _modeling_frame(exc: BaseException) -> str:
    """` at modeling_x.py:N in fn (`the line`)` for the innermost modeling frame of the error."""
    places = _FILE_LINE.findall(str(exc)) or _CAUSED_BY.findall(str(exc))
    seen: BaseException | None = exc
    for _ in range(4):  # torch.export re-raises the model's error from its own frames
        if seen is None or places:
            break
        tb = seen.__traceback__
        while tb is not None:
            name = tb.tb_frame.f_code.co_filename
            if "/modeling_" in name:
                places.append((name, str(tb.tb_lineno), tb.tb_frame.f_code.co_name))
            tb = tb.tb_next
        seen = seen.__cause__ or seen.__context__
    if not places:
        return ""
    path, line, function = places[-1]
    text = _source(path, int(line))
    return f" at {Path(path).name}:{line} in {function}" + (f" (`{text}`)" if text else "")
