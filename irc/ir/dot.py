"""Graphviz drawings of a graph: `to_dot` writes DOT text, `render` turns it into SVG with
graphviz's `dot` program when it is installed.

    digraph "gpt2" {
      "input:input_ids" [label="%input_ids\ni64[batch, sequence]", shape=ellipse];
      "node:0" [label="aten.embedding\ntransformer.wte"];
      "input:input_ids" -> "node:0" [label="i64[batch, sequence]"];
      ...
    }

A box per node labelled with its op (and its module path), an ellipse per graph input and
output, a small note per param; each edge is a use, labelled with the value's element type and
dims, symbolic ones by name.
"""

from __future__ import annotations

import shutil
import subprocess

from irc.errors import IrcError
from irc.ir.core import Graph, Param, Value


class RenderError(IrcError):
    """The drawing cannot be rendered (graphviz is missing or failed)."""


def to_dot(graph: Graph, *, params: bool = True) -> str:
    """The DOT text of `graph`. With `params=False`, weights are left out (large models)."""
    keys: dict[int, str] = {}
    lines = [
        f"digraph {_quote(graph.name)} {{",
        '  node [shape=box, fontname="monospace", fontsize=10];',
        '  edge [fontname="monospace", fontsize=9];',
    ]
    for value in graph.inputs:
        keys[id(value)] = key = f"input:{value.name}"
        label = f"%{value.name}\n{value.type}"
        lines.append(f"  {_quote(key)} [label={_quote(label)}, shape=ellipse];")
    for param in graph.params.values():
        if params and param.is_used():
            keys[id(param)] = key = f"param:{param.name}"
            label = f"%{param.name}\n{param.type} {param.kind}"
            lines.append(f"  {_quote(key)} [label={_quote(label)}, shape=note, style=dashed];")
    for index, node in enumerate(graph.nodes):
        key = f"node:{index}"
        label = node.op if "module" not in node.meta else f"{node.op}\n{node.meta['module']}"
        lines.append(f"  {_quote(key)} [label={_quote(label)}];")
        for value in node.inputs:
            lines += _edge(keys, value, key)
        for out in node.outputs:
            keys[id(out)] = key
    for value in graph.outputs:
        key = f"output:{value.name}"
        label = f"%{value.name}"
        lines.append(f"  {_quote(key)} [label={_quote(label)}, shape=ellipse, style=bold];")
        lines += _edge(keys, value, key)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _edge(keys: dict[int, str], value: Value, target: str) -> list[str]:
    source = keys.get(id(value))
    if source is None:  # a param left out
        return []
    label = str(value.type) if not isinstance(value, Param) else ""
    return [f"  {_quote(source)} -> {_quote(target)} [label={_quote(label)}];"]


def _quote(text: str) -> str:
    """A DOT double-quoted string; a newline becomes graphviz's centred line break `\\n`."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def render(dot_text: str, fmt: str = "svg") -> str:
    """`dot_text` rendered by graphviz's `dot -T<fmt>`; RenderError when `dot` is not on PATH."""
    exe = shutil.which("dot")
    if exe is None:
        raise RenderError(
            "graphviz's `dot` program is not on PATH, so irc cannot draw SVG. Install graphviz "
            "(`apt-get install graphviz`, `brew install graphviz`), or use `--format dot` and render "
            "the text elsewhere."
        )
    run = subprocess.run([exe, f"-T{fmt}"], input=dot_text, capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        raise RenderError(f"graphviz's dot failed on the drawing: {run.stderr.strip()}")
    return run.stdout
