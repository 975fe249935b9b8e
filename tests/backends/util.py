"""Building small IR graphs by hand and checking a backend against the interpreter on them.

    >>> b = GraphMaker()
    >>> x = b.input("x", "f32", ("batch", 4))
    >>> b.output(b.op("aten.relu", x))
    >>> check_backend(b.graph, sizes=[{"batch": 2}, {"batch": 5}])

Output types are found by running each op's reference on probe inputs whose symbolic dims take
distinct primes (7, 11, 13): an output dim equal to a prime, or to a sum or product of two, is
that symbol expression. Static dims in test graphs must avoid those values.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations_with_replacement
from pathlib import Path
from typing import Any

import torch

from irc.ir.core import Graph, Node, Param, Value, map_args
from irc.ir.dims import Dim, SymDim, parse_dim
from irc.ir.dtypes import DType
from irc.ir.interpreter import interpret
from irc.ir.ops import get_op
from irc.ir.types import ScalarType, TensorType

PROBE = (7, 11, 13)

Maker = Callable[[tuple[int, ...], torch.Generator], torch.Tensor]


@dataclass
class InputSpec:
    value: Value
    make: Maker


@dataclass
class GraphMaker:
    """A Graph built op by op, with probe values to type each output."""

    graph: Graph = field(default_factory=lambda: Graph("test"))
    inputs: list[InputSpec] = field(default_factory=list)
    probe: dict[Value, Any] = field(default_factory=dict)
    symbols: dict[str, int] = field(default_factory=dict)

    def input(self, name: str, dtype: str, shape: Sequence[int | str], make: Maker | None = None) -> Value:
        """A graph input; `shape` holds ints and dim texts (`"batch"`, `"past + seq"`)."""
        dims = tuple(d if isinstance(d, int) else parse_dim(d) for d in shape)
        for dim in dims:
            for sym in sorted(dim.symbols) if isinstance(dim, SymDim) else ():
                if sym not in self.symbols:
                    self.symbols[sym] = PROBE[len(self.symbols)]
        value = self.graph.add_input(name, TensorType(DType.parse(dtype), dims))
        self.inputs.append(InputSpec(value, make or default_maker(DType.parse(dtype))))
        self.probe[value] = self.inputs[-1].make(
            concrete(dims, self.symbols), torch.Generator().manual_seed(0)
        )
        return value

    def param(self, name: str, data: torch.Tensor, tie_group: str | None = None) -> Param:
        ttype = TensorType(DType.from_torch(data.dtype), tuple(data.shape))
        param = self.graph.add_param(Param(name, ttype, "parameter", data, tie_group))
        self.probe[param] = data
        return param

    def op(
        self,
        op: str,
        *args: Any,
        outputs: int = 1,
        module: str = "",
        out_shape: Sequence[int | str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Append `op(*args, **kwargs)`; returns its output Value (a tuple when `outputs` > 1).

        `out_shape` gives the (first) output's dims when the probe cannot tell them (`"h - 2"`,
        `"(h - 1)//2 + 1"`); it is checked against the probe."""
        fn = get_op(op).target
        result = fn(*map_args(args, self.probe.__getitem__), **map_args(kwargs, self.probe.__getitem__))
        results = list(result)[:outputs] if outputs > 1 or isinstance(result, (list, tuple)) else [result]
        base = op.split(".")[1]
        types = [self._type(r) for r in results]
        if out_shape is not None:
            types[0] = self._given_type(results[0], out_shape)
        values = [self.graph.new_value(base, t) for t in types]
        meta = {"module": module, "source": "test.py:1"} if module else {}
        self.graph.append(Node(op, args, kwargs, values, meta))
        for value, r in zip(values, results, strict=True):
            self.probe[value] = r
        return tuple(values) if outputs > 1 else values[0]

    def output(self, *values: Value) -> None:
        self.graph.set_outputs((*self.graph.outputs, *values))

    def _given_type(self, result: torch.Tensor, shape: Sequence[int | str]) -> TensorType:
        dims = tuple(d if isinstance(d, int) else parse_dim(d) for d in shape)
        if concrete(dims, self.symbols) != tuple(result.shape):
            raise ValueError(
                f"shape {shape} is {concrete(dims, self.symbols)} at the probe, not {tuple(result.shape)}"
            )
        return TensorType(DType.from_torch(result.dtype), dims)

    def _type(self, result: Any) -> TensorType | ScalarType:
        if isinstance(result, torch.Tensor):
            return TensorType(DType.from_torch(result.dtype), tuple(self._dim(int(s)) for s in result.shape))
        if isinstance(result, bool):
            return ScalarType(DType.BOOL)
        if isinstance(result, float):
            return ScalarType(DType.F64)
        return ScalarType(DType.I64, self._dim(int(result)))

    def _dim(self, size: int) -> Dim:
        named = {v: SymDim.named(k) for k, v in self.symbols.items()}
        if size in named:
            return named[size]
        for a, b in combinations_with_replacement(sorted(named), 2):
            if size == a * b:
                return named[a] * named[b]
            if size == a + b:
                return named[a] + named[b]
        return size


def concrete(dims: Sequence[Dim], bindings: dict[str, int]) -> tuple[int, ...]:
    return tuple(d if isinstance(d, int) else d.evaluate(bindings) for d in dims)


def default_maker(dtype: DType) -> Maker:
    torch_dtype = dtype.to_torch()
    if dtype is DType.BOOL:
        return lambda shape, gen: torch.rand(shape, generator=gen) > 0.5
    if dtype.is_floating:
        return lambda shape, gen: torch.randn(shape, generator=gen).to(torch_dtype)
    return lambda shape, gen: torch.randint(0, 5, shape, generator=gen).to(torch_dtype)


def ints(low: int, high: int, dtype: torch.dtype = torch.int64) -> Maker:
    return lambda shape, gen: torch.randint(low, high, shape, generator=gen).to(dtype)


def make_inputs(maker: GraphMaker, sizes: dict[str, int], seed: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {s.value.name: s.make(concrete(s.value.tensor_type.shape, sizes), gen) for s in maker.inputs}


def lower(graph: Graph, folder: Path, **options: Any) -> Path:
    from irc.backends import get_backend

    return get_backend("onnx").lower_one(graph, folder, **options)


def check_backend(
    maker: GraphMaker,
    sizes: Sequence[dict[str, int]] = ({},),
    atol: float = 1e-5,
    *,
    backend_name: str = "onnx",
    **options: Any,
) -> None:
    """Lower, then compare the artifact (ONNX Runtime by default) with the interpreter at each of
    `sizes`."""
    from irc.backends import get_backend

    backend = get_backend(backend_name)
    with tempfile.TemporaryDirectory() as tmp:
        backend.lower_one(maker.graph, Path(tmp), **options)
        with backend.load(Path(tmp)) as runner:
            for seed, binding in enumerate(sizes):
                inputs = make_inputs(maker, binding, seed)
                expected = interpret(maker.graph, inputs)
                actual = runner.run(inputs)
                for name, want in expected.items():
                    torch.testing.assert_close(
                        actual[name], _as_tensor(want), atol=atol, rtol=1e-5, equal_nan=True
                    )


def _as_tensor(value: Any) -> torch.Tensor:
    """The interpreter's result as the runners return it (a symbolic float is a 0-d double)."""
    if isinstance(value, float):
        return torch.tensor(value, dtype=torch.float64)
    return torch.as_tensor(value)
