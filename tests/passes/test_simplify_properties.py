"""Property test of `simplify` on random chains mixing no-ops with real ops: the interpreter's
results do not change, no no-op survives, the real ops all do, and a second run changes nothing."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from irc.ir.interpreter import interpret
from irc.ir.parser import parse_graph
from irc.ir.printer import print_graph
from irc.passes import PassManager

NOOPS = {
    "dropout": "aten.dropout({x}, 0.25, false) : f32[2, 3]",
    "clone": "aten.clone({x}) : f32[2, 3]",
    "mul1": "aten.mul.Tensor({x}, 1) : f32[2, 3]",
    "div1": "aten.div.Tensor({x}, 1.0) : f32[2, 3]",
    "view": "aten.view({x}, [2, 3]) : f32[2, 3]",
    "to": "aten._to_copy({x}, dtype=torch.float32) : f32[2, 3]",
}
REAL = {
    "relu": "aten.relu({x}) : f32[2, 3]",
    "neg": "aten.neg({x}) : f32[2, 3]",
    "add0": "aten.add.Tensor({x}, 0) : f32[2, 3]",  # -0.0 + 0 is 0.0: not a no-op on floats
    "mul2": "aten.mul.Tensor({x}, 2) : f32[2, 3]",
}


def chain(steps: list[str], output_every: int) -> str:
    lines = ["graph @chain {", "  input %x : f32[2, 3]"]
    value, outputs = "%x", []
    for i, step in enumerate(steps):
        lines.append(f"  %v{i} = {(NOOPS | REAL)[step].format(x=value)}")
        value = f"%v{i}"
        if output_every and i % output_every == 0:
            outputs.append(value)
    outputs.append(value)
    lines += [f"  output {', '.join(dict.fromkeys(outputs))}", "}"]
    return "\n".join(lines) + "\n"


@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(st.sampled_from(sorted(NOOPS | REAL)), min_size=1, max_size=10),
    output_every=st.integers(0, 4),
)
def test_simplify_removes_noops_and_keeps_results(steps: list[str], output_every: int) -> None:
    graph = parse_graph(chain(steps, output_every))
    inputs = {"x": torch.randn(2, 3)}
    names = [v.name for v in graph.outputs]
    expected = interpret(graph, inputs)
    PassManager("simplify", debug=True, debug_inputs=inputs).run(graph)
    assert [v.name for v in graph.outputs] == names
    torch.testing.assert_close(interpret(graph, inputs), expected)
    ops = graph.ops()
    real = {REAL[s].split("(")[0] for s in steps if s in REAL}
    assert set(ops) - {"irc.identity"} == real
    assert sum(ops.get(op, 0) for op in real) == sum(s in REAL for s in steps)
    text = print_graph(graph)
    assert not PassManager("simplify").run(graph).changed and print_graph(graph) == text
