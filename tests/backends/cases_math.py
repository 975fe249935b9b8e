"""Cases for arithmetic, comparisons, logic, unary math and reductions (ops_math.py)."""

from __future__ import annotations

import torch

from tests.backends.cases import BATCH, add_case, case
from tests.backends.util import GraphMaker, ints


def _positive(shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    return torch.rand(shape, generator=gen) + 0.1


@case(BATCH)
def add_broadcast_and_alpha(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3))
    y = b.input("y", "f32", (3,))
    b.output(b.op("aten.add.Tensor", x, y), b.op("aten.add.Tensor", x, y, alpha=2))


@case(BATCH)
def add_int_tensor_and_python_float(b: GraphMaker) -> None:
    x = b.input("x", "i64", ("batch", 3))
    b.output(b.op("aten.add.Tensor", x, 1.5), b.op("aten.add.Scalar", x, 2))


@case(BATCH)
def sub(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3))
    y = b.input("y", "i64", ("batch", 3))
    b.output(b.op("aten.sub.Tensor", x, y, alpha=3), b.op("aten.sub.Scalar", y, 4))


@case(BATCH)
def rsub(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3))
    y = b.input("y", "f32", (3,))
    b.output(b.op("aten.rsub.Scalar", x, 1.0), b.op("aten.rsub.Tensor", x, y, alpha=2))


@case(BATCH)
def mul_promotes_int32_and_bool(b: GraphMaker) -> None:
    x = b.input("x", "i32", ("batch", 3))
    y = b.input("y", "i64", (3,))
    m = b.input("m", "bool", ("batch", 3))
    b.output(b.op("aten.mul.Tensor", x, y), b.op("aten.mul.Tensor", m, m), b.op("aten.mul.Scalar", x, 0.5))


@case(BATCH)
def div_true(b: GraphMaker) -> None:
    x = b.input("x", "i64", ("batch", 3))
    y = b.input("y", "i64", (3,), make=ints(1, 4))
    b.output(b.op("aten.div.Tensor", x, y), b.op("aten.div.Scalar", x, 4))


@case(BATCH)
def div_rounding_modes(b: GraphMaker) -> None:
    x = b.input("x", "i64", ("batch", 3), make=ints(-9, 9))
    y = b.input("y", "i64", (3,), make=ints(1, 4))
    f = b.input("f", "f32", ("batch", 3), make=lambda s, g: torch.randn(s, generator=g) * 5)
    b.output(
        b.op("aten.div.Tensor_mode", x, y, rounding_mode="floor"),
        b.op("aten.div.Tensor_mode", x, y, rounding_mode="trunc"),
        b.op("aten.div.Tensor_mode", f, 1.5, rounding_mode="trunc"),
        b.op("aten.div.Scalar_mode", f, 2.0, rounding_mode="floor"),
    )


@case(BATCH)
def floor_divide(b: GraphMaker) -> None:
    x = b.input("x", "i64", ("batch", 3), make=ints(-9, 9))
    y = b.input("y", "i64", (3,), make=ints(1, 4))
    b.output(b.op("aten.floor_divide", x, y), b.op("aten.floor_divide.Scalar", x, 2))


@case(BATCH)
def remainder(b: GraphMaker) -> None:
    x = b.input("x", "i64", ("batch", 3), make=ints(-9, 9))
    f = b.input("f", "f32", ("batch", 3))
    d = b.input("d", "f32", (3,), make=lambda s, g: torch.rand(s, generator=g) - 1.5)
    b.output(b.op("aten.remainder.Scalar", x, 4), b.op("aten.remainder.Tensor", f, d))


@case(BATCH)
def pow_(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3), make=_positive)
    y = b.input("y", "f32", (3,))
    b.output(
        b.op("aten.pow.Tensor_Scalar", x, 3.0),
        b.op("aten.pow.Tensor_Scalar", x, 2),
        b.op("aten.pow.Tensor_Scalar", x, 0.5),
        b.op("aten.pow.Tensor_Tensor", x, y),
        b.op("aten.pow.Scalar", 2.0, y),
    )


@case(BATCH)
def maximum_minimum(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3))
    y = b.input("y", "f32", (3,))
    i = b.input("i", "i64", ("batch", 3))
    b.output(
        b.op("aten.maximum", x, y),
        b.op("aten.minimum", x, y),
        b.op("aten.max.other", i, y),  # promotes to float
        b.op("aten.min.other", x, b.op("aten.full_like", x, 0.5)),  # T5's clamp of the bucket index
    )


@case(BATCH)
def clamp(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3))
    lo = b.input("lo", "f32", (3,))
    b.output(
        b.op("aten.clamp", x, -0.5, 0.5),
        b.op("aten.clamp", x, None, 0.1),
        b.op("aten.clamp.Tensor", x, lo),
        b.op("aten.clamp_min", x, 0.0),
        b.op("aten.clamp_max", x, 0.0),
        b.op("aten.clip", x, 0.2, -0.2),  # min above max: torch gives max
        b.op("aten.clip.Tensor", x, None, lo),
    )


@case(BATCH)
def multiply_alias(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3))
    i = b.input("i", "i64", (3,))
    b.output(b.op("aten.multiply.Tensor", x, i), b.op("aten.multiply.Scalar", i, 3))


@case(BATCH)
def hard_activations(b: GraphMaker) -> None:
    """LeViT's hardswish; inputs reach both kinks (-3 and 3)."""
    x = b.input("x", "f32", ("batch", 8), make=lambda s, g: torch.randn(s, generator=g) * 4)
    b.output(
        b.op("aten.hardswish", x),
        b.op("aten.hardsigmoid", x),
        b.op("aten.hardtanh", x),
        b.op("aten.hardtanh", x, -2.0, 0.5),
        b.op("aten.relu6", x),
    )


for _name in ("eq", "ne", "lt", "le", "gt", "ge"):

    def _compare(b: GraphMaker, name: str = _name) -> None:
        x = b.input("x", "i64", ("batch", 3))
        y = b.input("y", "f32", (3,), make=ints(0, 5, torch.float32))
        m = b.input("m", "bool", ("batch", 3))
        b.output(
            b.op(f"aten.{name}.Tensor", x, y),
            b.op(f"aten.{name}.Scalar", x, 1.5),
            b.op(f"aten.{name}.Scalar", x, 2),
            b.op(f"aten.{name}.Tensor", m, m),
        )

    add_case(f"compare_{_name}", _compare, BATCH)


for _kind in ("and", "or", "xor"):

    def _logic(b: GraphMaker, kind: str = _kind) -> None:
        m = b.input("m", "bool", ("batch", 3))
        n = b.input("n", "bool", (3,))
        x = b.input("x", "i64", ("batch", 3), make=ints(0, 16))
        b.output(
            b.op(f"aten.__{kind}__.Tensor", m, n),
            b.op(f"aten.__{kind}__.Scalar", x, 6),
            b.op(f"aten.bitwise_{kind}.Tensor", x, x),
            b.op(f"aten.bitwise_{kind}.Scalar", m, True),
            b.op(f"aten.logical_{kind}", x, m),
        )

    add_case(f"logic_{_kind}", _logic, BATCH)


@case(BATCH)
def logical_and_bitwise_not(b: GraphMaker) -> None:
    m = b.input("m", "bool", ("batch", 3))
    x = b.input("x", "i64", ("batch", 3), make=ints(-4, 4))
    b.output(b.op("aten.logical_not", x), b.op("aten.bitwise_not", m), b.op("aten.bitwise_not", x))


@case(BATCH)
def where(b: GraphMaker) -> None:
    c = b.input("c", "bool", ("batch", 3))
    x = b.input("x", "f32", ("batch", 3))
    y = b.input("y", "i64", (3,))
    b.output(
        b.op("aten.where.self", c, x, y),
        b.op("aten.where.ScalarSelf", c, 1.0, x),
        b.op("aten.where.ScalarOther", c, y, 0),
        b.op("aten.where.Scalar", c, 1.0, 0.0),
    )


@case(BATCH)
def masked_fill(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3))
    m = b.input("m", "bool", ("batch", 1))
    v = b.input("v", "f32", ())
    b.output(b.op("aten.masked_fill.Scalar", x, m, float("-inf")), b.op("aten.masked_fill.Tensor", x, m, v))


_UNARY = (
    "abs",
    "neg",
    "exp",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "erf",
    "relu",
    "floor",
    "ceil",
    "sign",
    "silu",
)
_POSITIVE = ("log", "sqrt", "rsqrt", "reciprocal")

for _op in _UNARY + _POSITIVE:

    def _unary(b: GraphMaker, op: str = _op) -> None:
        x = b.input("x", "f32", ("batch", 3), make=_positive if op in _POSITIVE else None)
        b.output(b.op(f"aten.{op}", x))

    add_case(f"aten.{_op}", _unary, BATCH)


@case(BATCH)
def sqrt_of_int_is_float(b: GraphMaker) -> None:
    x = b.input("x", "i64", ("batch", 3))
    b.output(b.op("aten.sqrt", x), b.op("aten.exp", x))


@case(BATCH)
def isnan(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3))
    b.output(b.op("aten.isnan", b.op("aten.log", x)))


@case(BATCH)
def mean_sum(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3, 4))
    i = b.input("i", "i32", ("batch", 3))
    b.output(
        b.op("aten.mean.dim", x, [-1], True),
        b.op("aten.mean", x),
        b.op("aten.sum.dim_IntList", i, [1]),
        b.op("aten.sum", x),
        b.op("aten.sum.dim_IntList", x, None),
    )


@case(BATCH)
def amax_amin_max_min_prod(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3, 4))
    b.output(
        b.op("aten.amax", x, [1, 2]),
        b.op("aten.amin", x, [-1], True),
        b.op("aten.max", x),
        b.op("aten.min", x),
        b.op("aten.prod.dim_int", x, 1),
        b.op("aten.prod", x),
    )


@case(BATCH)
def max_min_dim(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3, 4))
    b.output(*b.op("aten.max.dim", x, 1, outputs=2), *b.op("aten.min.dim", x, -1, True, outputs=2))


@case(BATCH)
def argmax_argmin_first_of_ties(b: GraphMaker) -> None:
    x = b.input("x", "i32", ("batch", 6), make=ints(0, 3, torch.int32))
    b.output(
        b.op("aten.argmax", x, -1),
        b.op("aten.argmax", x),
        b.op("aten.argmin", x, 1, True),
        b.op("aten.argmax", x, None, True),
    )


@case(BATCH)
def cumsum(b: GraphMaker) -> None:
    x = b.input("x", "i32", ("batch", 6))
    f = b.input("f", "f32", ("batch", 6))
    b.output(b.op("aten.cumsum", x, 1), b.op("aten.cumsum", f, 0))


@case(BATCH)
def diff(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 6))
    p = b.input("p", "f32", ("batch", 1))
    b.output(b.op("aten.diff", x), b.op("aten.diff", x, 1, 0), b.op("aten.diff", x, 1, -1, p, p))


@case(BATCH, atol=1e-4)
def linalg_vector_norm(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3, 4, 5))
    inf = float("inf")
    b.output(
        b.op("aten.linalg_vector_norm", x, 2, [1, 2], True),
        b.op("aten.linalg_vector_norm", x),
        b.op("aten.linalg_vector_norm", x, 1, [-1]),
        b.op("aten.linalg_vector_norm", x, inf, [1]),
        b.op("aten.linalg_vector_norm", x, -inf, [2, 3], True),
        b.op("aten.linalg_vector_norm", x, 0, [1]),
        b.op("aten.linalg_vector_norm", x, 3, [3]),
    )
