"""The TorchScript backend's contract: registry, op and tie checks, errors with provenance,
names of inputs, outputs and weights, literals TorchScript types its own way, and the runner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from irc.backends import backend_names, get_backend
from irc.backends.torchscript import registry
from irc.errors import BackendError, IrcError, LoweringError
from irc.ir.core import Graph
from irc.validate import CaseResult, ValidationReport, compare_outputs
from tests.backends.util import GraphMaker, check_backend

SEQ = ({"batch": 2, "seq": 3}, {"batch": 1, "seq": 6})


def lower(graph: Graph, folder: Path, **options: Any) -> Path:
    return get_backend("torchscript").lower_one(graph, folder, **options)


def check(maker: GraphMaker, sizes: tuple[dict[str, int], ...] = SEQ) -> None:
    check_backend(maker, sizes, backend_name="torchscript")


def test_registry_and_lazy_import() -> None:
    assert "torchscript" in backend_names()
    backend = get_backend("torchscript")
    assert backend.name == "torchscript"
    assert backend.default_pipeline == "untie-weights,simplify,dce,cse,fold-constants"
    code = "import sys, irc.backends; irc.backends.backend_names(); print('irc.backends.torchscript' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_check_names_every_missing_op_and_where_it_is_used(tmp_path: Path) -> None:
    b = GraphMaker()
    x = b.input("x", "f32", ("batch", 3))
    y = b.op(
        "aten.erfinv", b.op("aten.erfinv", x, module="encoder.layer.0.act"), module="encoder.layer.1.act"
    )
    b.output(b.op("aten.logcumsumexp", b.op("aten.relu", y), 1, module="pooler"))
    with pytest.raises(LoweringError) as info:
        lower(b.graph, tmp_path)
    message = str(info.value)
    assert "the torchscript backend cannot lower 2 op(s)" in message and "aten.relu" not in message
    assert (
        "aten.erfinv (2 node(s), at encoder.layer.0.act (test.py:1); encoder.layer.1.act (test.py:1))"
        in message
    )
    assert "aten.logcumsumexp (1 node(s), at pooler (test.py:1))" in message
    assert "irc/backends/torchscript/" in message
    assert not (tmp_path / "model.pt").exists()


def test_tied_weights_are_refused_until_untied(tmp_path: Path) -> None:
    b = GraphMaker()
    ids = b.input("ids", "i64", ("batch",))
    table = torch.randn(5, 4)
    wte = b.param("wte.weight", table, tie_group="wte.weight")
    head = b.param("head.weight", table, tie_group="wte.weight")
    b.output(b.op("aten.linear", b.op("aten.embedding", wte, ids), head))
    with pytest.raises(
        LoweringError, match=r"1 tie group\(s\) \(wte.weight: wte.weight, head.weight\).*untie-weights"
    ):
        lower(b.graph, tmp_path)


def test_emitter_refusals_and_script_failures_name_the_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = GraphMaker()
    x = b.input("x", "f32", ("batch", 3))
    b.output(b.op("aten.dropout", x, 0.5, True, module="encoder.dropout"))
    with pytest.raises(
        LoweringError, match=r"aten.dropout \(%dropout\) at encoder.dropout \(test.py:1\): .*eval mode"
    ):
        lower(b.graph, tmp_path)

    b = GraphMaker()
    b.output(b.op("aten.relu", b.input("x", "f32", (2,)), module="mlp.act"))
    monkeypatch.setitem(
        registry.EMITTERS, "aten.relu", lambda g, node, x: f"torch.ops.aten.no_such_op({g.name(x)})"
    )
    with pytest.raises(LoweringError) as info:
        lower(b.graph, tmp_path)
    message = str(info.value)
    assert (
        "TorchScript cannot compile the code generated for aten.relu (%relu) at mlp.act (test.py:1)"
        in message
    )
    assert "`relu = torch.ops.aten.no_such_op(x)  # mlp.act (test.py:1)`" in message


def test_options_are_refused(tmp_path: Path) -> None:
    b = GraphMaker()
    b.output(b.op("aten.relu", b.input("x", "f32", (2,))))
    with pytest.raises(BackendError, match="unknown option.*opset.*takes none"):
        lower(b.graph, tmp_path, opset=18)


def test_names_of_inputs_outputs_and_weights(tmp_path: Path) -> None:
    """IR names that are no Python identifiers, or that shadow what the code uses, still work;
    weights keep their dotted names in the state dict where nn.Module allows it."""
    b = GraphMaker()
    x = b.input("input", "f32", ("batch", 3))
    y = b.input("self", "f32", ("batch", 3))
    weights = {
        name: b.param(name, torch.randn(3))
        for name in ("h.0.weight", "training", "a", "a.b", "class.def", "my-layer.w")
    }
    total = b.op("aten.add.Tensor", x, y)
    for param in weights.values():
        total = b.op("aten.add.Tensor", total, param)
    b.graph.rename(total, "present.0.key")
    b.output(total, x, weights["a"], b.op("aten.sym_size.int", x, 0))
    lower(b.graph, tmp_path)
    check(b, ({"batch": 2}, {"batch": 5}))
    module = torch.jit.load(str(tmp_path / "model.pt"))
    assert set(module.state_dict()) == {"h.0.weight", "training_", "a", "a_.b", "class_.def_", "my_layer.w"}
    extra = {"irc_signature.json": "", "irc_module.py": ""}
    torch.jit.load(str(tmp_path / "model.pt"), _extra_files=extra)
    signature = json.loads(extra["irc_signature.json"])
    assert [i["name"] for i in signature["inputs"]] == ["input", "self"]
    assert [o["name"] for o in signature["outputs"]] == ["present.0.key", "input", "a", "sym_size"]
    assert signature["outputs"][3]["type"] == "sym<i64: batch>"
    assert (
        "def forward(self, input_: Tensor, self_: Tensor) -> Dict[str, Tensor]:"
        in extra["irc_module.py"].decode()
    )
    outputs = module(torch.ones(4, 3), torch.ones(4, 3))
    assert list(outputs) == ["present.0.key", "input", "a", "sym_size"]
    assert outputs["sym_size"].dtype == torch.int64 and int(outputs["sym_size"]) == 4


def test_literals_torchscript_types_its_own_way(tmp_path: Path) -> None:
    """inf and nan, ints where a float is due, memory formats, and bools where a number is due
    (TorchScript passes True as 1, so `bool & True` would be int64 without the cast back)."""
    b = GraphMaker()
    x = b.input("x", "f32", ("batch", "seq"))
    m = b.input("m", "bool", ("batch", "seq"))
    s0 = b.op("aten.sym_size.int", x, 0)
    b.output(
        b.op("aten.clamp", b.op("aten.add.Tensor", x, float("nan")), float("-inf"), float("inf")),
        b.op("aten.layer_norm", x, [b.op("aten.sym_size.int", x, 1)], None, None, 1),
        b.op("aten.clone", x, memory_format=torch.contiguous_format),
        b.op("aten.where.Scalar", m, True, False),
        b.op("aten.bitwise_and.Scalar", m, True),
        b.op("aten.full", [s0, 2], True),
        b.op("aten.mul.Tensor", m, True),
        b.op("aten.eq.Scalar", m, True),
        b.op("sym.truediv", s0, 2),
    )
    check(b)
    extra = {"irc_module.py": ""}
    lower(b.graph, tmp_path)
    torch.jit.load(str(tmp_path / "model.pt"), _extra_files=extra)
    code = extra["irc_module.py"].decode()
    assert 'float("nan")' in code and 'float("-inf")' in code and ", 1.0)" in code
    assert "torch.ops.aten.where(m, True, False).to(torch.bool)" in code


def test_runner_refuses_a_module_irc_did_not_write(tmp_path: Path) -> None:
    """The rest of the runner's contract is tests/backends/test_runner_contract.py's."""
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    torch.jit.save(torch.jit.script(torch.nn.ReLU()), str(foreign / "model.pt"))
    with pytest.raises(IrcError, match="not written by irc"):
        get_backend("torchscript").load(foreign).__enter__()


def test_report_label() -> None:
    outputs = compare_outputs({"logits": torch.zeros(2)}, {"logits": torch.zeros(2)}, 1e-4)
    report = ValidationReport("torchscript", [CaseResult({"batch": 1}, outputs, ["logits"], ["logits"])])
    text = report.format()
    assert text.startswith("Validating TorchScript model at batch=1...")
    assert '- Validating TorchScript Model output "logits":' in text
