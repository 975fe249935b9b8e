"""How the traced wrapper calls a head: the `use_cache` flag it passes, and error text made short.

A head without past is called with `use_cache=False` so that it returns no cache; but some heads
fix the flag themselves when calling their base model (T5Gemma2's classification heads pass
`use_cache=False` and forward their `**kwargs`), and passing it again is a TypeError ("got
multiple values for keyword argument 'use_cache'"). Such a head does not name `use_cache` in its
signature and sets it in its source: it gets no flag from irc.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
from collections.abc import Iterator
from typing import Any


def use_cache_flag(model: Any, with_past: bool) -> dict[str, bool]:
    """The `use_cache` keyword for calling `model`: True with past; False without, unless the
    head sets it itself (then none)."""
    if with_past:
        return {"use_cache": True}
    return {} if _sets_use_cache_itself(type(model).forward) else {"use_cache": False}


@functools.cache
def _sets_use_cache_itself(forward: Any) -> bool:
    try:
        if "use_cache" in inspect.signature(forward).parameters:
            return False
        return "use_cache=False" in inspect.getsource(forward)
    except (OSError, TypeError, ValueError):  # no source (a compiled or dynamic forward)
        return False


_MODULE_REPR = re.compile(r"\(\n.*?\n\)", re.DOTALL)


def without_module_reprs(text: str) -> str:
    """`text` with multi-line module reprs (`T5Gemma2Model(\\n  (encoder): ...\\n)`, which Python
    puts in a call's TypeError) shortened to `T5Gemma2Model(...)`: the reason follows them."""
    return _MODULE_REPR.sub("(...)", text)


_NOT_INPUTS = ("labels", "return_dict", "use_cache", "cache_position", "past_key_values", "head_mask")


def hints(model: Any, specs: Any, exc: BaseException) -> str:
    """What irc knows about a trace error beyond torch's message: the optional inputs it left
    unset, or the input dim the model's code fixed."""
    given = [s.model_arg for s in specs]
    return unset_inputs_hint(model, given, exc) or _specialized_hint(specs, exc)


_SPECIALIZED = re.compile(
    r"L\['args'\]\[(\d+)\]\.size\(\)\[(\d+)\].*?specialized it to be a constant \((\d+)\)", re.S
)


def _specialized_hint(specs: Any, exc: BaseException) -> str:
    """torch.export's "Constraints violated (L['args'][i].size()[j])": the i-th input's j-th
    dim, named as irc names it, which the model's code fixed (a Python loop over it, a branch
    on its size)."""
    found = _SPECIALIZED.search(str(exc))
    if found is None:
        return ""
    i, j, size = (int(g) for g in found.groups())
    if i >= len(specs) or j >= len(specs[i].axes):
        return ""
    return (
        f" (the model's code fixes {specs[i].name}'s {specs[i].axes[j]} to {size}, the trace size: a Python"
        " loop over it or a branch on its value; irc exports every named dim dynamic)"
    )


def unset_inputs_hint(model: Any, given: list[str], exc: BaseException) -> str:
    """For an error on a None (`'NoneType' object has no attribute 'device'`): the forward's
    optional tensor arguments irc left unset, one of which the model reads anyway (MiniCPM-V 4.7's
    vision tower reads `target_sizes`). Empty for other errors."""
    if "NoneType" not in str(exc):
        return ""
    try:
        params = inspect.signature(type(model).forward).parameters.values()
    except (TypeError, ValueError):
        return ""
    unset = [
        p.name
        for p in params
        if p.default is None
        and p.name not in given
        and not p.name.startswith(("output_", "return_"))
        and not p.name.endswith("_embeds")
        and p.name not in _NOT_INPUTS
        and "Tensor" in str(p.annotation)
    ]
    return (
        f" (irc leaves the forward's optional {', '.join(unset)} unset; the model reads it)" if unset else ""
    )


def model_frame(exc: BaseException) -> str:
    """` (at modeling_udop.py:219 in combine_image_text_embeddings)`: the innermost line of a
    transformers modeling file in the traceback (or in that of the error it was raised from),
    for errors whose message names no place (a tensor iterated in Python under tracing, "its
    data is not allocated yet"); else ``."""
    seen: BaseException | None = exc
    for _ in range(4):  # torch.export re-raises the model's error from its own frames
        if seen is None:
            break
        found = ""
        tb = seen.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            name = code.co_filename.rsplit("/", 1)[-1]
            if name.startswith("modeling_"):
                found = f" (at {name}:{tb.tb_lineno} in {code.co_name})"
            tb = tb.tb_next
        if found:
            return found
        seen = seen.__cause__ or seen.__context__
    return ""


@contextlib.contextmanager
def unchecked_distributions() -> Iterator[None]:
    """While tracing, torch.distributions skip their argument checks (BLT's Categorical checks
    its logits with a data-dependent `.all()`, which torch.export cannot guard on); the checks
    only raise, they compute nothing, and the reference runs keep them."""
    from torch.distributions import Distribution

    before = Distribution._validate_args
    Distribution.set_default_validate_args(False)
    try:
        yield
    finally:
        Distribution.set_default_validate_args(before)
