"""Golden graphs: a few exports of seeded tiny models, compared with fingerprints kept in
tests/golden/, so that a change to a pass, the frontend or a backend that alters an artifact is
seen, and one that should not alter it is shown not to.

A fingerprint is canonical text: for ONNX, the graph I/O (names, dtypes, shapes), every node in
order (op type, domain, inputs, outputs, attributes) and every initializer (name, dtype, shape,
sha256 of its bytes); for TorchScript, the code of the saved module and its parameters and
buffers the same way. Nothing depends on paths or times, so a fresh clone computes the same text
(weights come from `tests.models.tiny_model`'s seed; a new torch or transformers version may
initialize them differently, which is an intended change).

When a change is intended, regenerate and review the diff of tests/golden/:

    IRC_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_graphs.py -n 0
"""

from __future__ import annotations

import difflib
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

import irc
from tests.models import tiny_model

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("IRC_UPDATE_GOLDEN") == "1"

CASES = {
    "bert-default-onnx": ("bert", "default", {}),
    "gpt2-causal-lm-with-past-onnx": ("gpt2", "causal-lm-with-past", {}),
    "t5-seq2seq-lm-with-past-onnx": ("t5", "seq2seq-lm-with-past", {}),
    "gpt2-causal-lm-onnx-float16": ("gpt2", "causal-lm", {"dtype": "float16"}),
    "gpt2-causal-lm-onnx-ort-fusions": ("gpt2", "causal-lm", {"ort_fusions": True}),
    "bert-default-torchscript": ("bert", "default", {"backend": "torchscript"}),
}
"""Golden file stem -> (model type, task, `irc.export` options)."""


@pytest.mark.parametrize("case", list(CASES))
def test_export_matches_its_golden_fingerprint(case: str, tmp_path: Path) -> None:
    model_type, task, options = CASES[case]
    result = irc.export(tiny_model(model_type, task), task, tmp_path / "out", validate=False, **options)
    text = "".join(
        f"== {component}\n{fingerprint(path)}" for component, path in sorted(result.artifacts.items())
    )
    golden = GOLDEN / f"{case}.txt"
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
        return
    if not golden.is_file():
        pytest.fail(f"{golden} is missing; write it with IRC_UPDATE_GOLDEN=1 (see this module's docstring)")
    expected = golden.read_text()
    if text != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), text.splitlines(), "golden", "exported", lineterm="", n=2
        )
        shown = "\n".join(list(diff)[:60])
        pytest.fail(
            f"the {case} artifact differs from {golden.name}. If the change is intended, run "
            f"`IRC_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_graphs.py -n 0` and commit the "
            f"new fingerprints.\n{shown}",
            pytrace=False,
        )


def fingerprint(path: Path) -> str:
    """The canonical text of an artifact file (`.onnx` or TorchScript `.pt`)."""
    return onnx_fingerprint(path) if path.suffix == ".onnx" else torchscript_fingerprint(path)


def onnx_fingerprint(path: Path) -> str:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))  # external data, if any, is read from beside the file
    graph = model.graph
    opsets = ", ".join(f"{o.domain or 'ai.onnx'}:{o.version}" for o in model.opset_import)
    lines = [f"opsets {opsets}"]
    lines += [f"input {_value_info(v)}" for v in graph.input]
    lines += [f"output {_value_info(v)}" for v in graph.output]
    for node in graph.node:
        attrs = " ".join(f"{a.name}={_attribute(a)}" for a in node.attribute)
        lines.append(
            f"node {node.domain or 'ai.onnx'}.{node.op_type}({', '.join(node.input)}) -> "
            f"{', '.join(node.output)} {attrs}".rstrip()
        )
    for tensor in graph.initializer:
        array = numpy_helper.to_array(tensor)
        lines.append(f"init {tensor.name} {array.dtype} {list(array.shape)} {_digest(array.tobytes())}")
    return "\n".join(lines) + "\n"


def torchscript_fingerprint(path: Path) -> str:
    import torch

    module = torch.jit.load(str(path))
    lines = module.code.strip().splitlines()
    for kind, named in (("param", module.named_parameters()), ("buffer", module.named_buffers())):
        for name, tensor in named:
            data = tensor.detach().contiguous().view(-1).view(torch.uint8).numpy().tobytes()
            lines.append(f"{kind} {name} {tensor.dtype} {list(tensor.shape)} {_digest(data)}")
    return "\n".join(lines) + "\n"


def _value_info(value: Any) -> str:
    tensor = value.type.tensor_type
    dims = [d.dim_param or str(d.dim_value) for d in tensor.shape.dim]
    return f"{value.name} {tensor.elem_type} [{', '.join(dims)}]"


def _attribute(attr: Any) -> str:
    import onnx
    from onnx import numpy_helper

    value = onnx.helper.get_attribute_value(attr)
    if isinstance(value, onnx.TensorProto):
        array = numpy_helper.to_array(value)
        return f"tensor({array.dtype} {list(array.shape)} {_digest(array.tobytes())})"
    if isinstance(value, onnx.GraphProto):  # a subgraph (If, Loop): its nodes, in order
        return "graph(" + "; ".join(f"{n.op_type}({', '.join(n.input)})" for n in value.node) + ")"
    if isinstance(value, bytes):
        return repr(value.decode())
    if isinstance(value, float):
        return repr(value)
    return repr(value)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]
