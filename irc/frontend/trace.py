"""Tracing a loaded model with torch.export into an irc Graph.

The model is wrapped so that it takes its inputs positionally, is called with `use_cache=False`
(unless the head sets it itself: call_flags.py) and `return_dict=True` (reaching every sub-module,
unlike a config edit), and returns the task's outputs as a dict by name; the ModelOutput is
flattened by name here. torch.export's symbols (`s33`) are renamed to the task's dim names
(`batch`), its `getitem` nodes become node outputs, and its assertion nodes are dropped: the IR
says what is computed, not what was checked while tracing.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

import sympy
import torch

from irc.errors import TraceError
from irc.frontend import call_flags
from irc.frontend.cache import build_cache, cache_keyword, returned_cache
from irc.frontend.complex_pairs import rewrite_complex
from irc.frontend.export_modes import export_friendly, raised_at
from irc.frontend.functionalize import functionalize
from irc.frontend.loading import LoadedModel
from irc.frontend.mask_rewrites import kept_padding_masks
from irc.frontend.outputs import no_outputs
from irc.frontend.pinned_dims import (
    data_dependent_message,
    pinned_message,
    specialized_hint,
    watched_guards,
)
from irc.frontend.reference_attention import reference_attention
from irc.frontend.scans import traceable_scans
from irc.frontend.selective_scan import scans_from_state
from irc.frontend.state_cache import named_cache
from irc.frontend.tasks import InputSpec
from irc.frontend.ties import find_tie_groups, repoint_tied_uses
from irc.ir.core import Graph, Node, Param, Value
from irc.ir.dims import Dim, SymDim, make_dim, parse_dim
from irc.ir.dtypes import DType
from irc.ir.ops import op_name_of
from irc.ir.types import ScalarType, TensorType, Type

_PREFIX = "model."
_GRAD_BLOCK = torch.ops.higher_order.wrap_with_set_grad_enabled

_DROPPED = {
    "aten._assert_tensor_metadata",
    "aten._assert_scalar",
    "aten._assert_async.msg",
    "aten.sym_constrain_range_for_size",
    "aten.sym_constrain_range",
}

_SYM_OPS: dict[Any, str] = {
    **{
        getattr(operator, n): f"sym.{n}"
        for n in "add sub mul floordiv truediv mod neg eq ne lt le gt ge pow".split()
    },
    # `min(q.size(-2), max_relative_positions)` in DeBERTa's attention traces as torch.sym_min.
    torch.sym_min: "sym.min",
    torch.sym_max: "sym.max",
    torch.sym_not: "sym.not",
}


def _named_outputs(forward: Callable[..., Any]) -> Callable[..., dict[str, torch.Tensor]]:
    def named(self: TaskModule, *args: torch.Tensor) -> dict[str, torch.Tensor]:
        values = forward(self, *args)  # sets self.recorded
        return dict(zip(self.recorded, values, strict=True))

    return named


class TaskModule(torch.nn.Module):
    """Positional inputs in, the task's outputs out, as a dict by output name.

    With `past_count` > 0 the last `past_count` inputs are the flat key/value cache: they are
    packed into a Cache for the model, and the cache it returns is flattened after the outputs.
    Every `forward` (subclasses' too) returns a tuple named by `record`, wrapped into a dict: the
    names leave through the outputs (the program's output spec), not through module state.
    """

    def __init__(
        self, model: torch.nn.Module, arg_names: list[str], wanted: tuple[str, ...], past_count: int = 0
    ) -> None:
        super().__init__()
        self.model = model
        self.arg_names = arg_names
        self.wanted = wanted
        self.past_count = past_count
        self.recorded: list[str] = []
        self.returned: list[str] = []
        self.past_names: list[str] | None = None
        """The cache inputs' names, where they hold more than keys and values (state_cache.py)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "forward" in cls.__dict__:
            cls.forward = _named_outputs(cls.__dict__["forward"])  # type: ignore[method-assign]

    @_named_outputs
    def forward(self, *args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        plain = len(args) - self.past_count
        kwargs: dict[str, Any] = dict(zip(self.arg_names, args[:plain], strict=True))
        if self.past_count:
            kwargs[cache_keyword(self.model)] = build_cache(self.model.config, args[plain:], self.past_names)
        flag = call_flags.use_cache_flag(self.model, bool(self.past_count))
        out = self.model(**kwargs, **flag, return_dict=True)
        self.returned = [k for k in out if out[k] is not None]  # what it has, when none is wanted
        names = [k for k in self.wanted if k in out and out[k] is not None]
        values = [out[k] for k in names]
        if self.past_count:
            presents = named_cache(returned_cache(out))
            names += [f"present.{name}" for name, _ in presents]
            values += [tensor for _, tensor in presents]
        self.record(names)
        return tuple(values)

    def record(self, names: list[str]) -> None:
        """Say which outputs `forward` returned, in order (subclasses call it too)."""
        self.recorded = list(names)


def _wrap(loaded: LoadedModel, names: list[str]) -> TaskModule:
    by_name = {s.name: s for s in loaded.inputs}
    specs = [by_name[n] for n in names]
    plain = [s.model_arg for s in specs if s.kind != "past"]
    module = TaskModule(loaded.module, plain, loaded.task.outputs, len(specs) - len(plain))
    module.past_names = [s.name for s in specs if s.kind == "past"]
    return module


Wrap = Callable[[LoadedModel, list[str]], TaskModule]
"""Builds the module that torch.export traces: the loaded model behind positional inputs (named
by the list, in order) and a dict of named outputs. Components of an encoder-decoder bring
their own."""


def call_reference(
    loaded: LoadedModel, inputs: dict[str, torch.Tensor], wrap: Wrap | None = None
) -> dict[str, torch.Tensor]:
    """Run the original model the way the trace sees it; outputs by name."""
    # A multi-token step of transformers' Mamba(1) scan forgets the cached state; see selective_scan.
    with torch.no_grad(), reference_attention(loaded), scans_from_state(loaded.module):
        return (wrap or _wrap)(loaded, list(inputs))(*inputs.values())  # type: ignore[no-any-return]


def trace(
    loaded: LoadedModel,
    specs: tuple[InputSpec, ...],
    dummy: dict[str, torch.Tensor],
    wrap: Wrap | None = None,
) -> Graph:
    """Export `loaded` at the dummy inputs' shapes, with every named axis dynamic."""
    wrapper = (wrap or _wrap)(loaded, [s.name for s in specs])
    dynamic = tuple(
        {i: torch.export.Dim.DYNAMIC for i, a in enumerate(s.axes) if isinstance(a, str)} for s in specs
    )
    args = tuple(dummy[s.name] for s in specs)
    guards: list[str] = []
    try:
        with (
            torch.no_grad(),
            export_friendly(loaded.module.config),
            call_flags.unchecked_distributions(),
            traceable_scans(loaded.module),
            kept_padding_masks(loaded.module),
            watched_guards() as guards,
        ):
            program = torch.export.export(wrapper, args, dynamic_shapes=(dynamic,), strict=False)
            returned = list(program.call_spec.out_spec.context)  # the output dict's keys, in order
            program = functionalize(program)
    except Exception as exc:  # torch.export raises many types; the user needs the gist, not the stack
        pinned = specialized_hint(guards, specs, exc) or data_dependent_message(exc)
        if pinned:
            raise TraceError(
                f"irc cannot export {loaded.model_type} for {loaded.task.name}: {pinned}."
            ) from exc
        raise TraceError(
            f"torch.export could not trace {loaded.model_type} for {loaded.task.name}: "
            f"{_first_line(exc)}{call_flags.hints(loaded.module, specs, exc)}. "
            "Try another --sequence-length/--batch-size, or report the model type."
        ) from exc
    if not returned:
        raise TraceError(no_outputs(loaded, wrapper, args))
    graph = _Importer(program, specs, returned, loaded, guards).run()
    rewrite_complex(graph)
    graph.metadata.update({"model_type": loaded.model_type, "task": loaded.task.name})
    return graph


def _plain_sympy(expr: sympy.Expr) -> sympy.Expr:
    """torch's integer functions (`FloorDiv`, `PythonMod`, `CeilDiv`) as plain sympy `floor`,
    which the IR's dim text form writes as `//`, and its `Min`/`Max` as sympy's: longt5's block padding makes
    `(sequence + PythonMod(-sequence, 3)) // 3`, which becomes `-(-sequence // 3)`."""
    from torch.utils._sympy import functions as fn

    def floor_div(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
        return sympy.floor(a / b)

    def mod(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
        return a - b * sympy.floor(a / b)

    def ceil_div(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
        return -sympy.floor(-a / b)

    pairs = ((fn.FloorDiv, floor_div), (fn.PythonMod, mod), (fn.Mod, mod), (fn.CeilDiv, ceil_div))
    for func, plain in (*pairs, (fn.Min, sympy.Min), (fn.Max, sympy.Max)):
        if expr.has(func):
            expr = expr.replace(func, plain)
    return expr


def _first_line(exc: BaseException) -> str:
    text = call_flags.without_module_reprs(str(exc).strip()).splitlines()
    # Callers end the sentence themselves.
    return (text[0].strip().rstrip(".") if text else type(exc).__name__) + (
        raised_at(exc) or call_flags.model_frame(exc)
    )


class _Importer:
    """Converts one ExportedProgram into a Graph."""

    def __init__(
        self,
        program: Any,
        specs: tuple[InputSpec, ...],
        outputs: list[str],
        loaded: LoadedModel,
        guards: list[str] | None = None,
    ) -> None:
        self.guards = guards or []
        self.program = program
        self.specs = specs
        self.output_names = outputs
        self.loaded = loaded
        self.graph = Graph(loaded.model_type.replace("-", "_"))
        self.env: dict[Any, Any] = {}
        self.symbols: dict[sympy.Symbol, sympy.Expr] = {}

    def run(self) -> Graph:
        fx_nodes = list(self.program.graph.nodes)
        placeholders = [n for n in fx_nodes if n.op == "placeholder"]
        self._name_symbols(placeholders)
        self._import_placeholders(placeholders)
        for fx_node in fx_nodes:
            if fx_node.op == "call_function":
                self._import_call(fx_node)
            elif fx_node.op == "output":
                self._import_output(fx_node)
        repoint_tied_uses(self.graph)
        return self.graph

    # -- dims and types --------------------------------------------------------------------
    def _name_symbols(self, placeholders: list[Any]) -> None:
        """Map torch's symbols to the specs' dim names; an axis named by an expression
        (`past_sequence + sequence`) maps its symbol to that expression once its names are known."""
        users = [n for n in placeholders if n.name not in self._lifted_targets()]
        derived: list[tuple[sympy.Expr, str]] = []
        for arg, (spec, fx_node) in enumerate(zip(self.specs, users, strict=True)):
            shape = fx_node.meta["val"].shape
            if len(shape) != len(spec.axes):
                raise TraceError(
                    f"{spec.name} has rank {len(shape)} but its spec names {len(spec.axes)} axes {spec.axes}."
                )
            for axis, (name, size) in enumerate(zip(spec.axes, shape, strict=True)):
                if not isinstance(name, str):
                    continue
                if not isinstance(size, torch.SymInt):
                    raise TraceError(f"{pinned_message(self.guards, self.specs, arg, axis, size)}.")
                expr = size.node.expr
                if not isinstance(expr, sympy.Symbol):
                    continue
                if _NAME.fullmatch(name):
                    self.symbols.setdefault(expr, sympy.Symbol(name, integer=True, positive=True))
                else:
                    derived.append((expr, name))
        for expr, name in derived:
            if expr not in self.symbols:
                dim = parse_dim(name)
                self.symbols[expr] = dim.expr if isinstance(dim, SymDim) else sympy.Integer(dim)

    def _dim(self, size: Any) -> Dim:
        if isinstance(size, int):
            return size
        expr = _plain_sympy(size.node.expr)
        renamed = expr.xreplace(self.symbols)
        named = set().union(*(e.free_symbols for e in self.symbols.values()))
        for sym in renamed.free_symbols - named:
            # A size torch.export could not relate to any input (data-dependent): keep its own name.
            renamed = renamed.xreplace({sym: sympy.Symbol(str(sym), integer=True, positive=True)})
        return make_dim(renamed)

    def _type(self, val: Any, where: str) -> Type:
        if isinstance(val, torch.Tensor):
            return TensorType(DType.from_torch(val.dtype), tuple(self._dim(s) for s in val.shape))
        if isinstance(val, torch.SymInt):
            return ScalarType(DType.I64, self._dim(val))
        if isinstance(val, int) and not isinstance(val, bool):
            return ScalarType(DType.I64, val)
        if isinstance(val, (float, torch.SymFloat)):
            return ScalarType(DType.F64)
        if isinstance(val, (bool, torch.SymBool)):
            return ScalarType(DType.BOOL)
        raise TraceError(f"{where} produced a {type(val).__name__}, which irc cannot type")

    # -- inputs and params -----------------------------------------------------------------
    def _lifted_targets(self) -> dict[str, Any]:
        specs = self.program.graph_signature.input_specs
        return {s.arg.name: s for s in specs if s.target is not None}

    def _import_placeholders(self, placeholders: list[Any]) -> None:
        lifted = self._lifted_targets()
        data_of = {**self.program.state_dict, **self.program.constants}
        ties = find_tie_groups({s.target: data_of[s.target] for s in lifted.values()})
        spec_iter = iter(self.specs)
        for fx_node in placeholders:
            sig = lifted.get(fx_node.name)
            if sig is None:
                spec = next(spec_iter)
                self.env[fx_node] = self.graph.add_input(
                    spec.name, self._type(fx_node.meta["val"], spec.name)
                )
                continue
            name = sig.target.removeprefix(_PREFIX)
            data = data_of[sig.target]
            kind = {"PARAMETER": "parameter", "BUFFER": "buffer"}.get(sig.kind.name, "constant")
            ttype = TensorType(DType.from_torch(data.dtype), tuple(int(s) for s in data.shape))
            group = ties.get(sig.target)
            param = Param(name, ttype, kind, data.detach(), group.removeprefix(_PREFIX) if group else None)
            self.env[fx_node] = self.graph.add_param(param)

    # -- nodes -----------------------------------------------------------------------------
    def _import_call(self, fx_node: Any) -> None:
        target = fx_node.target
        if target is operator.getitem and isinstance(self.env.get(fx_node.args[0]), tuple):
            self.env[fx_node] = self.env[fx_node.args[0]][fx_node.args[1]]
            return
        if target is _GRAD_BLOCK:
            self._inline_grad_block(fx_node)
            return
        if isinstance(target, torch._ops.OpOverload):
            op = op_name_of(target)
        elif target in _SYM_OPS:
            op = _SYM_OPS[target]
        else:
            where = _module_path(fx_node) or "the model's top level"
            source = _source_line(fx_node)
            raise TraceError(
                f"the trace calls {getattr(target, '__name__', target)} at {where}"
                f"{f' ({source})' if source else ''}, which irc has no op for; please report the model type."
            )
        if op in _DROPPED:
            return
        args = self._map(fx_node.args)
        kwargs = self._map(dict(fx_node.kwargs))
        val = fx_node.meta.get("val")
        outputs = self._outputs(fx_node, val)
        node = Node(op, args, kwargs, outputs, meta=_provenance(fx_node))
        self.graph.append(node)
        if isinstance(val, (list, tuple)):
            self.env[fx_node] = node.outputs
        elif outputs:
            self.env[fx_node] = node.outputs[0]

    def _inline_grad_block(self, fx_node: Any) -> None:
        """A `with torch.no_grad():` inside the model's forward (BLT's patcher) is traced as a
        call of a submodule under that grad mode; grad mode means nothing to an inference
        artifact, so the submodule's nodes are imported in place."""
        _, submodule, *operands = fx_node.args
        graph = getattr(self.program.graph_module, submodule.target).graph
        placeholders = [n for n in graph.nodes if n.op == "placeholder"]
        for inner, outer in zip(placeholders, operands, strict=True):
            self.env[inner] = self._map(outer)
        for inner in graph.nodes:
            if inner.op == "call_function":
                self._import_call(inner)
            elif inner.op == "output":
                self.env[fx_node] = tuple(self._map(list(inner.args[0])))

    def _outputs(self, fx_node: Any, val: Any) -> list[Value]:
        if val is None:
            return []
        if not isinstance(val, (list, tuple)):
            return [self.graph.new_value(fx_node.name, self._type(val, fx_node.name))]
        names = {u.args[1]: u.name for u in fx_node.users if u.target is operator.getitem}
        return [
            self.graph.new_value(names.get(i, f"{fx_node.name}.{i}"), self._type(v, fx_node.name))
            for i, v in enumerate(val)
        ]

    def _map(self, arg: Any) -> Any:
        if isinstance(arg, torch.fx.Node):
            if arg not in self.env:
                raise TraceError(f"the trace uses {arg.name} before irc imported it")
            return self.env[arg]
        if isinstance(arg, (list, tuple)):
            return type(arg)(self._map(a) for a in arg)
        if isinstance(arg, dict):
            return {k: self._map(v) for k, v in arg.items()}
        return arg

    def _import_output(self, fx_node: Any) -> None:
        values = self._map(fx_node.args[0])
        for name, value in zip(self.output_names, values, strict=True):
            # An input, a weight or a value returned twice gets an `irc.identity` carrying the name.
            self.graph.add_output(value, name)


def _module_path(fx_node: Any) -> str:
    stack = fx_node.meta.get("nn_module_stack") or {}
    paths = [path for path, _cls in stack.values() if path.startswith(_PREFIX.rstrip("."))]
    if not paths:
        return ""
    return paths[-1].removeprefix(_PREFIX.rstrip(".")).removeprefix(".")


_FRAME = re.compile(r'File "([^"]+)", line (\d+)')
_TORCH_FILE = re.compile(r"(^|/)torch/")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _source_line(fx_node: Any) -> str | None:
    trace_text = fx_node.meta.get("stack_trace") or ""
    frames = [(f, line) for f, line in _FRAME.findall(trace_text) if not _TORCH_FILE.search(f)]
    if not frames:
        return None
    file, line = frames[-1]
    return f"{file.rsplit('/', 1)[-1]}:{line}"


def _provenance(fx_node: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"module": _module_path(fx_node)}
    source = _source_line(fx_node)
    if source:
        meta["source"] = source
    return meta
