"""The PassManager: order checks, verification after each pass, and debug-mode validation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch

from irc.errors import PassError
from irc.ir.core import Graph
from irc.ir.parser import parse_graph
from irc.ir.printer import print_graph
from irc.passes import Pass, PassManager
from irc.passes.dce import DeadCodeElimination
from irc.passes.manager import debug_inputs_for, graph_properties

Register = Callable[[type[Pass]], type[Pass]]

DYNAMIC = """\
graph @g {
  input %x : f32[batch, 4]
  %a = aten.add.Tensor(%x, %x) : f32[batch, 4]
  %b = aten.add.Tensor(%x, %x) : f32[batch, 4]
  %dead = aten.neg(%x) : f32[batch, 4]
  %c = aten.mul.Tensor(%a, %b) : f32[batch, 4]
  output %c
}
"""

STATIC = DYNAMIC.replace("batch", "2")


@dataclass(frozen=True)
class NeedsStatic(Pass):
    """Requires static shapes."""

    name = "needs-static"
    requires = frozenset({"static-shapes"})

    def run(self, graph: Graph) -> bool:
        return False


@dataclass(frozen=True)
class MakesStatic(Pass):
    """Claims to make shapes static (and does nothing)."""

    name = "makes-static"
    ensures = frozenset({"static-shapes"})

    def run(self, graph: Graph) -> bool:
        return False


@dataclass(frozen=True)
class BreaksGraph(Pass):
    """Drops the first node while others still read it: the verifier must catch that."""

    name = "breaks-graph"

    def run(self, graph: Graph) -> bool:
        graph._nodes.pop(0)
        return True


@dataclass(frozen=True)
class Raises(Pass):
    """Fails outright."""

    name = "raises"

    def run(self, graph: Graph) -> bool:
        raise RuntimeError("boom")


@dataclass(frozen=True)
class FlipsMul(Pass):
    """Turns every multiplication into an addition: well-formed, but wrong."""

    name = "flips-mul"

    def run(self, graph: Graph) -> bool:
        for node in graph.nodes:
            if node.op == "aten.mul.Tensor":
                node.op = "aten.add.Tensor"
        return True


@dataclass(frozen=True)
class SilentEdit(Pass):
    """Edits the graph but says it did not."""

    name = "silent-edit"

    def run(self, graph: Graph) -> bool:
        graph.metadata["touched"] = True
        return False


@dataclass(frozen=True)
class ReturnsNone(Pass):
    """Forgets to return the changed flag."""

    name = "returns-none"

    def run(self, graph: Graph) -> bool:
        return None  # type: ignore[return-value]


def test_records_per_pass() -> None:
    graph = parse_graph(DYNAMIC)
    result = PassManager("dce,cse,dce").run(graph)
    assert [(r.name, r.changed) for r in result.records] == [("dce", True), ("cse", True), ("dce", False)]
    assert all(r.seconds >= 0 for r in result.records) and result.changed
    assert "%dead" not in print_graph(graph) and "%b" not in print_graph(graph)


def test_accepts_instances_and_rejects_other_things() -> None:
    assert PassManager([DeadCodeElimination()]).run(parse_graph(DYNAMIC)).changed
    with pytest.raises(PassError, match="is not a Pass"):
        PassManager(["dce"])  # type: ignore[list-item]


def test_unknown_pass_is_reported_before_running() -> None:
    with pytest.raises(
        PassError, match=r"unknown pass 'csee'. Did you mean 'cse'\? Known passes: convert-dtype, cse, dce"
    ):
        PassManager("dce,csee")


def test_bad_option_value_is_reported() -> None:
    with pytest.raises(PassError, match="takes an int, not 'many'"):
        PassManager("fold-constants{max_elements=many}")


def test_requires_not_met_fails_before_anything_runs(registered: Register) -> None:
    registered(NeedsStatic)
    graph = parse_graph(DYNAMIC)
    with pytest.raises(PassError) as info:
        PassManager("dce,needs-static").run(graph)
    assert (
        "pass needs-static requires static-shapes, which neither the input graph nor the passes "
        "before it (dce) ensure" in str(info.value)
    )
    assert print_graph(graph) == DYNAMIC


def test_requires_met_by_earlier_pass_initial_properties_or_the_graph(registered: Register) -> None:
    registered(NeedsStatic)
    registered(MakesStatic)
    PassManager("makes-static,dce,needs-static").run(parse_graph(DYNAMIC))
    PassManager("needs-static", initial=frozenset({"static-shapes"})).run(parse_graph(DYNAMIC))
    PassManager("needs-static").run(parse_graph(STATIC))
    with pytest.raises(PassError, match="requires static-shapes"):
        PassManager("needs-static,makes-static").check_order()


def test_a_consumers_requirements_are_checked_without_a_graph(registered: Register) -> None:
    registered(MakesStatic)
    PassManager("dce,makes-static").check_requirements(frozenset({"static-shapes"}), "the x backend")
    PassManager("dce", initial=frozenset({"static-shapes"})).check_requirements(
        frozenset({"static-shapes"}), "the x backend"
    )
    with pytest.raises(PassError) as info:
        PassManager("dce,cse").check_requirements(frozenset({"static-shapes"}), "the x backend", "Add one.")
    assert str(info.value) == (
        "the x backend requires static-shapes, which the pipeline does not ensure (its passes: dce, cse). "
        "Add one."
    )


def test_graph_properties() -> None:
    assert graph_properties(parse_graph(STATIC)) == {"static-shapes", "untied"}
    assert graph_properties(parse_graph(DYNAMIC)) == {"untied"}


def test_broken_pass_is_named_with_the_passes_before_it(registered: Register) -> None:
    registered(BreaksGraph)
    with pytest.raises(PassError) as info:
        PassManager("dce,cse,breaks-graph").run(parse_graph(DYNAMIC))
    message = str(info.value)
    assert message.startswith("pass breaks-graph failed after [dce, cse]: graph @g is malformed")
    assert "is not defined before this node" in message


def test_verify_false_skips_the_verifier(registered: Register) -> None:
    registered(BreaksGraph)
    PassManager("breaks-graph", verify=False).run(parse_graph(DYNAMIC))


def test_exception_in_pass_is_wrapped(registered: Register) -> None:
    registered(Raises)
    with pytest.raises(PassError, match=r"pass raises failed after \[dce\]: boom") as info:
        PassManager("dce,raises").run(parse_graph(DYNAMIC))
    assert isinstance(info.value.__cause__, RuntimeError)


def test_changed_flag_must_be_a_bool(registered: Register) -> None:
    registered(ReturnsNone)
    with pytest.raises(PassError, match="returned None instead of True/False"):
        PassManager("returns-none").run(parse_graph(DYNAMIC))


def test_invalid_input_graph_is_not_blamed_on_a_pass() -> None:
    graph = parse_graph(DYNAMIC)
    graph._nodes.pop(0)
    with pytest.raises(PassError, match="the input graph is invalid before any pass ran"):
        PassManager("dce").run(graph)


def test_debug_names_the_pass_that_changed_results(registered: Register) -> None:
    registered(FlipsMul)
    with pytest.raises(
        PassError, match=r"pass flips-mul changed the results of the graph after \[dce, cse\]"
    ):
        PassManager("dce,cse,flips-mul", debug=True).run(parse_graph(DYNAMIC))
    PassManager("dce,cse,flips-mul").run(parse_graph(DYNAMIC))  # without debug, nobody checks


def test_debug_catches_a_pass_that_hides_its_edits(registered: Register) -> None:
    registered(SilentEdit)
    with pytest.raises(
        PassError, match="pass silent-edit reported no change after \\[\\] but changed the graph's text"
    ):
        PassManager("silent-edit", debug=True).run(parse_graph(DYNAMIC))


def test_debug_uses_given_inputs(registered: Register) -> None:
    registered(FlipsMul)
    # x = 1: (x + x) * (x + x) == (x + x) + (x + x), so the flip is invisible on this input.
    inputs = {"x": torch.ones(3, 4)}
    PassManager("flips-mul", debug=True, debug_inputs=inputs).run(parse_graph(DYNAMIC))


def test_debug_inputs_bind_dims() -> None:
    graph = parse_graph(
        "graph @g {\n  input %ids : i64[batch, sequence]\n  input %h : f32[batch, sequence + 1, 3]\n"
        "  input %m : bool[sequence]\n  output %ids\n}\n"
    )
    inputs = debug_inputs_for(graph)
    assert inputs["ids"].shape == (2, 5) and inputs["ids"].dtype == torch.int64
    assert int(inputs["ids"].min()) >= 0 and int(inputs["ids"].max()) <= 1
    assert inputs["h"].shape == (2, 6, 3) and inputs["h"].dtype == torch.float32
    assert inputs["m"].dtype == torch.bool
    assert torch.equal(debug_inputs_for(graph)["h"], inputs["h"])


def test_static_shapes_allows_static_size_scalars() -> None:
    graph = parse_graph(
        "graph @g {\n  input %x : f32[2, 4]\n  %n = aten.sym_size.int(%x, 1) : sym<i64: 4>\n"
        "  %f = sym.truediv(%n, 2) : sym<f64>\n  output %x\n}\n"
    )
    assert "static-shapes" in graph_properties(graph)
    dynamic = parse_graph(
        "graph @g {\n  input %x : f32[2, n]\n  %n = aten.sym_size.int(%x, 1) : sym<i64: n>\n  output %x\n}\n"
    )
    assert "static-shapes" not in graph_properties(dynamic)
