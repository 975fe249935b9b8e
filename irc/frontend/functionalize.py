"""In-place ops in a torch.export program made functional, so the IR is pure SSA: cheaply where
nothing can see the difference, by re-tracing (`run_decompositions({})`) only where needed."""

from __future__ import annotations

from typing import Any

import torch


def functionalize(program: Any) -> Any:
    """In-place ops (`add_`, `masked_fill_`) become functional ones, so the IR is pure SSA.

    `run_decompositions` with an empty table functionalizes without decomposing; it is only run
    when needed, since it also rewrites ops that need no rewrite (`dropout` -> `clone`) and
    re-traces the whole program (8 s of GPT-2's 14 s trace with a cache).
    """
    _drop_metadata_mutations(program)
    _functionalize_fresh(program)
    mutating = [
        n
        for n in program.graph.nodes
        if n.op == "call_function"
        and isinstance(n.target, torch._ops.OpOverload)
        and n.target._schema.is_mutable
    ]
    if not mutating:
        return program
    return program.run_decompositions({})


_METADATA_MUTATIONS = ("aten::detach_", "aten::requires_grad_")
"""In-place ops that change only autograd state: identities in an inference graph. `torch.tensor`
inside a traced forward (DynamicCache's empty first operand) records `detach_`, which alone
would send the program through `run_decompositions`."""


def _drop_metadata_mutations(program: Any) -> None:
    graph = program.graph
    dropped = False
    for node in list(graph.nodes):
        if (
            node.op == "call_function"
            and isinstance(node.target, torch._ops.OpOverload)
            and node.target._schema.name in _METADATA_MUTATIONS
        ):
            node.replace_all_uses_with(node.args[0])
            graph.erase_node(node)
            dropped = True
    if dropped:
        graph.lint()
        program.graph_module.recompile()


def _functionalize_fresh(program: Any) -> None:
    """`x.add_(y)` -> `x.add(y)` where nothing but the in-place op reads `x` and `x` is a fresh
    tensor (not an input, a weight or a view of anything): no one can see the difference. T5's
    relative position bias does this once (`position_bias += mask`), which alone cost
    T5-small a 6.5 s re-trace."""
    graph = program.graph
    changed = False
    for node in list(graph.nodes):
        functional = _functional_twin(node)
        if functional is None:
            continue
        target = node.args[0]
        if not _fresh(target) or len(target.users) != 1:
            continue
        if not _same_dtype_operands(node, target):
            continue
        node.target = functional
        changed = True
    if changed:
        graph.lint()
        program.graph_module.recompile()


def _functional_twin(node: Any) -> Any:
    """The out-of-place overload of an in-place op that writes only its first argument."""
    if node.op != "call_function" or not isinstance(node.target, torch._ops.OpOverload):
        return None
    schema = node.target._schema
    written = [a for a in schema.arguments if a.alias_info is not None and a.alias_info.is_write]
    if not schema.name.endswith("_") or len(written) != 1 or written[0] is not schema.arguments[0]:
        return None
    if not node.args or not isinstance(node.args[0], torch.fx.Node):
        return None
    name = schema.name.split("::", 1)[1][:-1]
    packet = getattr(torch.ops.aten, name, None)
    overload = getattr(packet, node.target._overloadname, None) if packet is not None else None
    if overload is None or overload._schema.is_mutable:
        return None
    return overload


def _fresh(value: Any) -> bool:
    """Made by an op whose result aliases none of its inputs."""
    if value.op != "call_function" or not isinstance(value.target, torch._ops.OpOverload):
        return False
    schema = value.target._schema
    return not schema.is_mutable and all(r.alias_info is None for r in schema.returns)


def _same_dtype_operands(node: Any, target: Any) -> bool:
    """The out-of-place op would promote where the in-place one casts back; only when every
    tensor operand already has the written tensor's dtype (and no scalar changes it) are the
    two the same."""
    dtype = target.meta["val"].dtype
    for arg in node.args[1:]:
        if isinstance(arg, torch.fx.Node):
            value = arg.meta.get("val")
            if not isinstance(value, torch.Tensor) or value.dtype != dtype:
                return False
        elif isinstance(arg, float) and not dtype.is_floating_point:
            return False
        elif isinstance(arg, (complex, list, tuple)):
            return False
    return all(not isinstance(v, torch.fx.Node) for v in node.kwargs.values())
