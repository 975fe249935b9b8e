"""The text form: hand-written IR round trips exactly; malformed IR fails with a located ParseError."""

from __future__ import annotations

import math
import re

import pytest
import torch

from irc.errors import IRError, ParseError
from irc.ir import DType, Graph, Node, Param, SymDim, TensorType, parse_graph, print_graph, verify
from irc.ir.dims import parse_dim

EVERYTHING = """\
graph @"tiny model" {
  metadata {model_type = "gpt2", task = "causal-lm", "opset hints" = {onnx = 18, ok = true}, eps = 1e-05, names = ["a", "b"], nothing = none}
  input %input_ids : i64[batch, sequence]
  input %"past key" : f32[batch, 4, past_sequence, 8]
  input %x : f32[batch, sequence, 32]
  param %wte.weight : f32[99, 32] parameter tie "wte.weight"
  param %lm_head.weight : f32[99, 32] parameter tie "wte.weight"
  param %position_ids : i64[1, 64] buffer
  param %c : f32[2] constant = dense<[1.0, 2.5]> loc("transformer.h.0", "modeling_gpt2.py:3")
  param %mask : bool[2, 2] constant = dense<[[true, false], [false, true]]>
  param %scale : f64[] constant = dense<-0.5>
  param %odd : f32[3] constant = dense<[inf, -inf, nan]>
  param %empty : i32[2, 0] constant = dense<[[], []]>
  param %big : f32[100] constant loc("")
  %n = aten.sym_size.int(%"past key", 2) : sym<i64: past_sequence> loc("", "runtime_assert.py:24")
  %t = aten.sym_size.int(%x, 1) : sym<i64: sequence>
  %total = sym.add(%n, %t) : sym<i64: past_sequence + sequence> loc("transformer")
  %third = sym.floordiv(%t, 3) : sym<i64: sequence // 3>
  %a, %b, %"c d" = aten.split.Tensor(%x, 11, 2) : f32[batch, sequence, 11], f32[batch, sequence, 11], f32[batch, sequence, 10] loc("transformer.h.0.attn", "modeling_gpt2.py:187")
  %flag = aten.any(%mask) : bool[]
  aten._assert_async.msg(%flag, "boom \\"quoted\\"\\n\\u00e9") : () loc("transformer.h.0")
  %to = aten.to.dtype_layout(%a, dtype=torch.float16, layout=torch.strided, device=device("cpu"), memory_format=torch.contiguous_format) : f16[batch, sequence, 11]
  %full = aten.full([2, 3], -inf, dtype=torch.float32, layout=none, device=device("cpu"), pin_memory=false) : f32[2, 3]
  %lit = aten.full([1], nan) : f32[1]
  %lit_1 = aten.full([1], 1e+300) : f32[1]
  %lit_2 = aten.full([1], -0.0) : f32[1]
  %slice = aten.slice.Tensor(%x, 1, -7, 9223372036854775807) : f32[batch, sequence - 7, 32]
  %pooled = aten.view(%x, [%n, -1, [], [[1], 2]]) : f32[batch, (2 * sequence + 2) // 3, 48]
  %emb = aten.embedding(%wte.weight, %input_ids) : f32[batch, sequence, 32]
  %"weird/name:0" = irc.identity(%emb) : f32[batch, sequence, 32]
  output %a, %"c d", %total, %"weird/name:0"
}
"""


def test_round_trip_everything() -> None:
    graph = parse_graph(EVERYTHING)
    assert print_graph(graph) == EVERYTHING
    assert print_graph(parse_graph(print_graph(graph))) == EVERYTHING
    verify(graph)


def test_parsed_objects() -> None:
    graph = parse_graph(EVERYTHING)
    assert graph.name == "tiny model"
    assert graph.metadata["opset hints"] == {"onnx": 18, "ok": True}
    assert [v.name for v in graph.inputs] == ["input_ids", "past key", "x"]
    assert [v.name for v in graph.outputs] == ["a", "c d", "total", "weird/name:0"]
    assert set(graph.tie_groups()) == {"wte.weight"}
    assert graph.params["wte.weight"].data is None
    assert graph.params["big"].data is None
    assert graph.params["big"].meta == {"module": ""}
    assert graph.params["c"].meta == {"module": "transformer.h.0", "source": "modeling_gpt2.py:3"}
    torch.testing.assert_close(graph.params["c"].data, torch.tensor([1.0, 2.5]))
    assert graph.params["mask"].data.dtype == torch.bool
    assert graph.params["scale"].data.shape == () and graph.params["scale"].data.dtype == torch.float64
    assert graph.params["empty"].data.shape == (2, 0)
    nodes = {n.outputs[0].name if n.outputs else n.op: n for n in graph.nodes}
    assert nodes["total"].outputs[0].type.value == parse_dim("past_sequence + sequence")
    assert nodes["a"].meta == {"module": "transformer.h.0.attn", "source": "modeling_gpt2.py:187"}
    assert nodes["total"].meta == {"module": "transformer"}
    assert nodes["t"].meta == {}
    assert nodes["aten._assert_async.msg"].args[1] == 'boom "quoted"\n\u00e9'
    to = nodes["to"]
    assert to.kwargs == {
        "dtype": torch.float16,
        "layout": torch.strided,
        "device": torch.device("cpu"),
        "memory_format": torch.contiguous_format,
    }
    assert nodes["full"].args[1] == -math.inf
    assert math.isnan(nodes["lit"].args[1])
    assert math.copysign(1.0, nodes["lit_2"].args[1]) == -1.0
    n = graph.inputs[1].uses()[0].output
    assert nodes["pooled"].args[1] == [n, -1, [], [[1], 2]]
    assert n.uses() == [nodes["total"], nodes["pooled"]]


def test_locs_false_omits_provenance() -> None:
    text = print_graph(parse_graph(EVERYTHING), locs=False)
    assert "loc(" not in text
    assert print_graph(parse_graph(text)) == text


def test_comments_and_free_whitespace() -> None:
    text = """
    // RUN: irc-opt %s
    graph @g {  # a comment
      input %x :
        f32[batch]
      %y = aten.neg(%x)   // CHECK: aten.neg
           : f32[batch]
      output %y
    }
    """
    graph = parse_graph(text)
    assert (
        print_graph(graph)
        == "graph @g {\n  input %x : f32[batch]\n  %y = aten.neg(%x) : f32[batch]\n  output %y\n}\n"
    )


def test_quoted_names_and_no_outputs() -> None:
    graph = Graph("with space")
    x = graph.add_input('a "b"', TensorType(DType.F32, (SymDim.named("batch"),)))
    graph.append(Node("aten._assert_async.msg", (x, "m"), {}, [], meta={"module": "x"}))
    text = print_graph(graph)
    assert text == (
        'graph @"with space" {\n'
        '  input %"a \\"b\\"" : f32[batch]\n'
        '  aten._assert_async.msg(%"a \\"b\\"", "m") : () loc("x")\n'
        "  output\n"
        "}\n"
    )
    assert print_graph(parse_graph(text)) == text


def test_tuples_print_as_lists() -> None:
    graph = Graph("g")
    x = graph.add_input("x", TensorType(DType.F32, (2, 3)))
    node = graph.append(
        Node("aten.permute", (x, (1, 0)), {}, [graph.new_value("p", TensorType(DType.F32, (3, 2)))])
    )
    graph.add_output(node.output)
    assert "aten.permute(%x, [1, 0])" in print_graph(graph)
    assert parse_graph(print_graph(graph)).nodes[0].args[1] == [1, 0]


def test_dense_only_for_small_real_constants() -> None:
    graph = Graph("g")
    graph.add_param(Param("small", TensorType(DType.F32, (2,)), "constant", torch.tensor([0.25, -2.0])))
    graph.add_param(Param("weight", TensorType(DType.F32, (2,)), "parameter", torch.tensor([0.25, -2.0])))
    graph.add_param(Param("large", TensorType(DType.F32, (65,)), "constant", torch.zeros(65)))
    graph.add_param(Param("meta", TensorType(DType.F32, (2,)), "constant", torch.empty(2, device="meta")))
    graph.add_param(Param("edge", TensorType(DType.I64, (64,)), "constant", torch.arange(64)))
    lines = print_graph(graph).splitlines()
    assert lines[1] == "  param %small : f32[2] constant = dense<[0.25, -2.0]>"
    assert lines[2] == "  param %weight : f32[2] parameter"
    assert lines[3] == "  param %large : f32[65] constant"
    assert lines[4] == "  param %meta : f32[2] constant"
    assert lines[5].startswith("  param %edge : i64[64] constant = dense<[0, 1, 2,")
    parsed = parse_graph(print_graph(graph))
    torch.testing.assert_close(parsed.params["small"].data, torch.tensor([0.25, -2.0]))
    torch.testing.assert_close(parsed.params["edge"].data, torch.arange(64))


def test_bf16_dense_is_exact() -> None:
    data = torch.tensor([0.1, 3.3, -7.77], dtype=torch.bfloat16)
    graph = Graph("g")
    graph.add_param(Param("c", TensorType(DType.BF16, (3,)), "constant", data))
    parsed = parse_graph(print_graph(graph))
    assert torch.equal(parsed.params["c"].data, data)


def test_printer_rejects_unprintable_literal() -> None:
    graph = Graph("g")
    x = graph.add_input("x", TensorType(DType.F32, (2,)))
    graph.append(Node("irc.identity", (x, object()), {}, [graph.new_value("y", x.type)]))
    with pytest.raises(IRError, match="no literal"):
        print_graph(graph)


HEADER = "graph @g {\n  input %x : f32[batch, 4]\n"


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        ("  %y = aten.neg($x) : f32[batch, 4]\n", "3:17", "expected a literal"),
        ("  %y = aten.no_such_op(%x) : f32[batch, 4]\n", "3:8", "aten.no_such_op"),
        ("  %y = frob.neg(%x) : f32[batch, 4]\n", "3:8", "unknown op frob.neg"),
        ("  %y = aten.neg(%z) : f32[batch, 4]\n", "3:17", "%z is used but not defined"),
        ("  %y = aten.neg(%y) : f32[batch, 4]\n", "3:17", "%y is used but not defined"),
        ("  %x = aten.neg(%x) : f32[batch, 4]\n", "3:3", "%x is defined twice"),
        (
            "  %y, %y = aten.split.Tensor(%x, 2) : f32[batch, 2], f32[batch, 2]\n",
            "3:7",
            "%y is defined twice",
        ),
        ("  input %x : f32[3]\n", "3:9", "%x is defined twice"),
        ("  %y = aten.neg(%x) : f32[batch, 4\n", "3:35", "']' closing the type"),
        ("  %y = aten.neg(%x) : f32[batch +, 4]\n", "3:27", "dim 'batch +' ends too early"),
        ("  %y = aten.neg(%x) : f33[batch]\n", "3:23", "expected a type"),
        ("  %y, %z = aten.neg(%x) : f32[batch, 4]\n", "3:27", "2 output names but 1 result types"),
        ("  %y = aten.neg(%x, dtype=torch.load) : f32[batch, 4]\n", "3:27", "expected a literal"),
        (
            "  %y = aten.neg(%x, dtype=torch.float32, 1) : f32[batch, 4]\n",
            "3:42",
            "positional argument follows",
        ),
        ("  %y = aten.neg(%x) : f32[batch, 4] loc(x)\n", "3:41", "module path"),
        ("  param %p : f32[2] constant = dense<[1.0]>\n", "3:38", "1 elements"),
        ("  param %p : f32[2] weight\n", "3:21", "param's kind"),
        ("  param %p : sym<i64> buffer\n", "3:14", "must have a tensor type"),
        ("  output %x\n  %y = aten.neg(%x) : f32[batch, 4]\n", "4:3", "output is the last statement"),
        ("  output %x\n}\n}\n", "5:1", "end of input"),
        ("  metadata {a = %x}\n", "3:17", "values are not allowed"),
        ("  %y = aten.neg(%x) : f32[batch, 4]\n", "4:1", "found end of input"),
    ],
)
def test_parse_errors(body: str, where: str, message: str) -> None:
    text = HEADER + body
    if "output" not in body and "found end of input" not in message:
        text += "  output %x\n}\n"
    with pytest.raises(ParseError) as info:
        parse_graph(text)
    assert str(info.value).startswith(where + ": "), str(info.value)
    assert message in str(info.value)


def test_parse_error_bad_header() -> None:
    with pytest.raises(ParseError, match=re.escape("1:1: expected 'graph'")):
        parse_graph("grph @g {}")
