"""ATen ops that are another name for an op already lowered: the same emitter serves both.

`aten.concat` is `aten.cat` under its NumPy name (PhiMoE's router calls `torch.concat`).
"""

from __future__ import annotations

from irc.backends.onnx.ops_shape import cat
from irc.backends.onnx.registry import lowering

lowering("aten.concat")(cat)
