"""Mixture-of-experts routing: top-k, sort, histogram, one-hot and transformers' grouped matmul.

The aten ops are packet calls. `transformers.grouped_mm_fallback` is transformers' own custom op,
which a process that never imports transformers cannot call: it is emitted as the loop it stands
for, one `mm` per expert over that expert's run of rows, written as a list comprehension (an
emitter returns one expression).
"""

from __future__ import annotations

from typing import Any

from irc.backends.torchscript.codegen import Codegen
from irc.backends.torchscript.registry import call, emitter
from irc.ir.core import Node, Value

Arg = Any

emitter("aten.topk", "aten.sort", "aten.sort.stable", "aten.histc", "aten.one_hot")(call)


@emitter("transformers.grouped_mm_fallback")
def grouped_mm(g: Codegen, node: Node, input: Value, weight: Value, offs: Value) -> str:
    """grouped_mm_fallback(Tensor input, Tensor weight, Tensor offs) -> Tensor: rows
    offs[e-1]:offs[e] of input times weight[e], rows past offs[-1] zero."""
    x, w, ends = g.name(input), g.name(weight), g.name(offs)
    start = f"(0 if e_ == 0 else int({ends}[e_ - 1]))"
    runs = f"[torch.mm({x}[{start}:int({ends}[e_])], {w}[e_]) for e_ in range({w}.size(0))]"
    rest = f"[{x}.new_zeros([{x}.size(0) - int({ends}[-1]), {w}.size(2)])]"
    return f"torch.cat({runs} + {rest}, 0)"
