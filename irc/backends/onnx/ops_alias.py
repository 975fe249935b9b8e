"""ATen ops that are another name for an op already lowered: the same emitter serves both.

`aten.concat` and `aten.concatenate` are `aten.cat` under their NumPy names (PhiMoE's router calls
`torch.concat`, Zamba's shared attention block `torch.concatenate`).
"""

from __future__ import annotations

from irc.backends.onnx.ops_shape import cat
from irc.backends.onnx.registry import lowering

lowering("aten.concat")(cat)
lowering("aten.concatenate")(cat)
