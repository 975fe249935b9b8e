"""`irc show --format dot|svg`: the DOT text is well formed (checked here without graphviz), names
ops and typed edges with symbolic dims, and renders with graphviz's `dot` where it is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from irc.cli.main import main
from irc.errors import IrcError
from irc.ir.dot import render, to_dot
from irc.ir.parser import parse_graph
from tests.models import tiny_checkpoint

GRAPH = """\
graph @"cache \\"step\\"" {
  input %x : f32[batch, past_sequence + sequence, 8]
  param %w : f32[8, 8] parameter
  param %unused : f32[2] constant = dense<[1.0, 2.0]>
  %l = aten.linear(%x, %w) : f32[batch, past_sequence + sequence, 8] loc("h.0.mlp", "model.py:3")
  %a, %b = aten.split.Tensor(%l, 4, 2) : f32[batch, past_sequence + sequence, 4], f32[batch, past_sequence + sequence, 4]
  %s = aten.add.Tensor(%a, %b) : f32[batch, past_sequence + sequence, 4]
  output %s, %a
}
"""

STRING = r'"(?:[^"\\]|\\.)*"'
NODE = re.compile(rf"^  ({STRING}) \[(.*)\];$")
EDGE = re.compile(rf"^  ({STRING}) -> ({STRING}) \[(.*)\];$")


def check_dot(text: str) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Node id -> attributes and (source, target, attributes) edges of DOT text as `to_dot`
    writes it; fails on unbalanced braces or quotes, an unknown line, or an undeclared node."""
    outside = re.sub(STRING, '""', text)
    assert outside.count('"') % 2 == 0
    assert outside.count("{") == outside.count("}") == 1 and outside.count("[") == outside.count("]")
    lines = text.splitlines()
    assert re.fullmatch(rf"digraph {STRING} \{{", lines[0]) and lines[-1] == "}"
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str, str]] = []
    for line in lines[1:-1]:
        if line.startswith(("  node [", "  edge [")):
            continue
        if match := EDGE.match(line):
            source, target, attrs = match.groups()
            assert source in nodes, f"edge from undeclared {source}"
            edges.append((source, target, attrs))
        elif match := NODE.match(line):
            assert match.group(1) not in nodes, f"{match.group(1)} declared twice"
            nodes[match.group(1)] = match.group(2)
        else:
            raise AssertionError(f"not a DOT statement of to_dot: {line!r}")
    assert all(target in nodes for _, target, _ in edges)
    return nodes, edges


def test_dot_names_ops_and_typed_edges() -> None:
    nodes, edges = check_dot(to_dot(parse_graph(GRAPH)))
    assert nodes['"node:0"'] == 'label="aten.linear\\nh.0.mlp"'
    assert nodes['"node:1"'] == 'label="aten.split.Tensor"'
    assert '"param:unused"' not in nodes  # nothing reads it
    typed = 'label="f32[batch, past_sequence + sequence, 4]"'
    assert ('"node:1"', '"node:2"', typed) in edges
    assert edges.count(('"node:1"', '"node:2"', typed)) == 2  # %a and %b, one edge per use
    assert ('"node:1"', '"output:a"', typed) in edges and ('"node:2"', '"output:s"', typed) in edges
    assert ('"input:x"', '"node:0"', 'label="f32[batch, past_sequence + sequence, 8]"') in edges
    assert to_dot(parse_graph(GRAPH)).startswith('digraph "cache \\"step\\"" {')
    without = check_dot(to_dot(parse_graph(GRAPH), params=False))[0]
    assert '"param:w"' not in without


def test_the_checker_rejects_broken_dot() -> None:
    text = to_dot(parse_graph(GRAPH))
    with pytest.raises(AssertionError):
        check_dot(text.replace('  "node:0" [', '  "nod:0" ['))  # an edge from an undeclared node
    with pytest.raises(AssertionError):
        check_dot(text[: text.rindex("}")])


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "gpt2", "gpt2", "causal-lm")


def test_show_format_dot(gpt2: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "--model", str(gpt2), "--format", "dot", "--passes", "dce,cse"]) == 0
    text = capsys.readouterr().out
    nodes, edges = check_dot(text)
    assert any(attrs.startswith('label="aten.scaled_dot_product_attention\\n') for attrs in nodes.values())
    assert '"output:logits"' in nodes
    assert any("[batch, sequence, 32]" in attrs for *_, attrs in edges)
    if shutil.which("dot") is None:
        pytest.skip("graphviz's dot is not on PATH: the DOT text was checked, not rendered")
    run = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "<svg" in run.stdout and "aten.scaled_dot_product_attention" in run.stdout


@pytest.mark.skipif(shutil.which("dot") is not None, reason="graphviz is installed here")
def test_svg_without_graphviz_is_a_clear_error(gpt2: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(IrcError, match="graphviz's `dot` program is not on PATH"):
        render("digraph {}")
    assert main(["show", "--model", str(gpt2), "--format", "svg"]) == 2
    assert "use `--format dot`" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not on PATH")
def test_show_format_svg(gpt2: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "--model", str(gpt2), "--format", "svg"]) == 0
    assert "<svg" in capsys.readouterr().out


def test_show_prints_ir_after_passes(gpt2: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["show", "--model", str(gpt2), "--passes", "simplify,cse,dce", "--no-locs"]
    assert main([*argv, "--print-changed"]) == 0
    out, err = capsys.readouterr()
    headers = [line for line in err.splitlines() if line.startswith("// -----// IR Dump")]
    assert headers[0] == "// -----// IR Dump After simplify //----- //"
    assert len(headers) == 3
    final = out.splitlines()
    # The last dump printed in full is the graph `show` prints at the end.
    last = err.rindex("//----- //\ngraph")
    assert err[last:].split("\n", 1)[1].splitlines()[: len(final)] == final
    assert main([*argv, "--print-after-all"]) == 0
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if line.startswith("// -----// IR Dump")] == [
        "// -----// IR Dump After simplify //----- //",
        "// -----// IR Dump After cse //----- //",
        "// -----// IR Dump After dce //----- //",
    ]
    assert err.count("graph @") == 3
