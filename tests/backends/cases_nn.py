"""Cases for matmuls, normalizations, activations, embedding and attention (ops_nn.py)."""

from __future__ import annotations

import torch

from tests.backends.cases import BATCH, SEQ, add_case, case
from tests.backends.util import GraphMaker, ints


def _w(*shape: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(sum(shape)))


@case(SEQ)
def linear(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 4))
    w, bias = b.param("w", _w(6, 4)), b.param("bias", _w(6))
    b.output(b.op("aten.linear", x, w, bias), b.op("aten.linear", x, w))


@case(BATCH)
def linear_rank2_input(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 4))
    w, bias = b.param("w", _w(6, 4)), b.param("bias", _w(6))
    b.output(b.op("aten.linear", x, w, bias), b.op("aten.linear", x, w))


@case(BATCH)
def addmm_mm(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 4))
    w, bias = b.param("w", _w(4, 6)), b.param("bias", _w(6))
    b.output(
        b.op("aten.addmm", bias, x, w),
        b.op("aten.addmm", bias, x, w, beta=0.5, alpha=2),
        b.op("aten.mm", x, w),
    )


@case(SEQ)
def bmm_matmul(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 4))
    y = b.input("y", "f32", ("batch", 4, 3))
    w = b.param("w", _w(4, 2))
    b.output(b.op("aten.bmm", x, y), b.op("aten.matmul", x, w))


@case(SEQ)
def baddbmm(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 4))
    y = b.input("y", "f32", ("batch", 4, 3))
    c = b.input("c", "f32", ("batch", 1, 3))
    b.output(
        b.op("aten.baddbmm", c, x, y),
        b.op("aten.baddbmm", c, x, y, beta=0.5, alpha=2.0),
        b.op("aten.baddbmm", c, x, y, beta=0),
    )


for _opset in (15, 18):

    def _layer_norm(b: GraphMaker) -> None:
        x = b.input("x", "f32", ("batch", "seq", 4))
        w, bias = b.param("w", _w(4)), b.param("bias", _w(4) + 1)
        b.output(
            b.op("aten.layer_norm", x, [4], w, bias, 1e-12, False),
            b.op("aten.layer_norm", x, [4]),
            b.op("aten.layer_norm", x, [4], w, None, 1e-5),
        )

    add_case(f"layer_norm_opset{_opset}", _layer_norm, SEQ, opset=_opset)


@case(SEQ)
def rms_norm(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 4))
    w = b.param("w", _w(4))
    b.output(b.op("aten.rms_norm", x, [4], w, 1e-6), b.op("aten.rms_norm", x, [4]))


for _opset in (18, 20):

    def _gelu(b: GraphMaker) -> None:
        x = b.input("x", "f32", ("batch", 8), make=lambda s, g: torch.randn(s, generator=g) * 3)
        b.output(b.op("aten.gelu", x), b.op("aten.gelu", x, approximate="tanh"))

    add_case(f"gelu_opset{_opset}", _gelu, BATCH, opset=_opset)


@case(SEQ)
def softmax_family(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", "seq", 4))
    b.output(
        b.op("aten.softmax.int", x, -1),
        b.op("aten._softmax", x, 1, False),
        b.op("aten.log_softmax.int", x, -1),
        b.op("aten._log_softmax", x, 0, False),
    )


@case(SEQ)
def embedding(b: GraphMaker) -> None:
    ids = b.input("ids", "i64", ("batch", "seq"), make=ints(0, 10))
    table = b.param("table", _w(10, 4))
    b.output(b.op("aten.embedding", table, ids), b.op("aten.embedding", table, ids, 0))


def _qkv(b: GraphMaker, heads_kv: int = 2) -> tuple:
    q = b.input("q", "f32", ("batch", 2, "seq", 4))
    k = b.input("k", "f32", ("batch", heads_kv, "seq", 4))
    v = b.input("v", "f32", ("batch", heads_kv, "seq", 4))
    return q, k, v


def _some_rows_fully_masked(shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    mask = torch.rand(shape, generator=gen) > 0.4
    mask[..., 0, :] = False
    return mask


@case(SEQ)
def sdpa_bool_mask_with_empty_rows(b: GraphMaker) -> None:
    q, k, v = _qkv(b)
    mask = b.input("mask", "bool", ("batch", 1, "seq", "seq"), make=_some_rows_fully_masked)
    b.output(b.op("aten.scaled_dot_product_attention", q, k, v, mask, scale=0.3535533905932738))


@case(SEQ)
def sdpa_float_mask_and_default_scale(b: GraphMaker) -> None:
    q, k, v = _qkv(b)
    mask = b.input("mask", "f32", ("batch", 1, 1, "seq"))
    b.output(
        b.op("aten.scaled_dot_product_attention", q, k, v, mask),
        b.op("aten.scaled_dot_product_attention", q, k, v),
    )


@case(SEQ)
def sdpa_causal(b: GraphMaker) -> None:
    q, k, v = _qkv(b)
    b.output(
        b.op("aten.scaled_dot_product_attention", q, k, v, None, 0.0, True),
        # more keys than queries: torch aligns the causal mask top-left
        b.op(
            "aten.scaled_dot_product_attention",
            q,
            b.op("aten.cat", [k, k], 2),
            b.op("aten.cat", [v, v], 2),
            is_causal=True,
        ),
    )


@case(SEQ)
def sdpa_grouped_query(b: GraphMaker) -> None:
    q, k, v = _qkv(b, heads_kv=1)
    b.output(b.op("aten.scaled_dot_product_attention", q, k, v, enable_gqa=True))


@case(({"batch": 2, "h": 3, "w": 5}, {"batch": 1, "h": 4, "w": 6}))
def batch_norm_eval_and_batch_statistics(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 3, "h", "w"))
    flat = b.input("flat", "f32", ("batch", 3))
    w, bias = b.param("w", _w(3)), b.param("bias", _w(3) + 1)
    mean, var = b.param("mean", _w(3) / 2), b.param("var", torch.rand(3) + 0.5)
    b.output(
        b.op("aten.batch_norm", x, w, bias, mean, var, False, 0.1, 1e-5, True),
        b.op("aten.batch_norm", x, None, None, mean, var, False, 0.1, 1e-3, True),
        b.op("aten.batch_norm", flat, w, bias, mean, var, False, 0.1, 1e-5, True),  # BatchNorm1d
        # track_running_stats=False: F.batch_norm passes training=True, even in eval
        b.op("aten.batch_norm", x, w, bias, None, None, True, 0.1, 1e-5, True),
    )


@case(({"batch": 2, "h": 3, "w": 5}, {"batch": 1, "h": 4, "w": 6}))
def native_batch_norm_outputs(b: GraphMaker) -> None:
    """After functionalization a BatchNorm2d in eval is `_native_batch_norm_legit_no_training`;
    the saved statistics are empty in eval and the batch's mean and 1/std in training."""
    x = b.input("x", "f32", ("batch", 3, "h", "w"))
    seq = b.input("seq", "f32", ("batch", 3, "h"))
    w, bias = b.param("w", _w(3)), b.param("bias", _w(3) + 1)
    mean, var = b.param("mean", _w(3) / 2), b.param("var", torch.rand(3) + 0.5)
    b.output(
        *b.op("aten._native_batch_norm_legit_no_training", x, w, bias, mean, var, 0.1, 1e-5, outputs=3),
        *b.op("aten._native_batch_norm_legit", seq, w, None, mean, var, False, 0.1, 1e-5, outputs=3),
        *b.op("aten._native_batch_norm_legit.no_stats", x, None, bias, True, 0.1, 1e-5, outputs=3),
        *b.op("aten.native_batch_norm", seq, w, bias, mean, var, False, 0.1, 1e-5, outputs=3),
        *b.op("aten.native_batch_norm", x, w, bias, None, None, True, 0.1, 1e-5, outputs=3),
    )


@case(SEQ)
def einsum(b: GraphMaker) -> None:
    """LongT5's local attention equations, an implicit output and a batch ellipsis."""
    q = b.input("q", "f32", ("batch", 3, "seq", 2, 4))
    k = b.input("k", "f32", ("batch", 3, 5, 2, 4))
    m = b.input("m", "f32", ("batch", "seq", 4))
    w = b.param("w", _w(4, 6))
    scores = b.op("aten.einsum", "...qhd,...khd->...hqk", [q, k])
    b.output(
        scores,
        b.op("aten.einsum", "...hqk,...khd->...qhd", [scores, k]),
        b.op("aten.einsum", "bsd,de", [m, w]),
        b.op("aten.einsum", "b s d -> b d", [m]),
    )


@case(BATCH)
def pixel_shuffle(b: GraphMaker) -> None:
    x = b.input("x", "f32", ("batch", 8, 3, 5))
    b.output(b.op("aten.pixel_shuffle", x, 2))


def _at_opset_23() -> None:
    """The attention cases again at opset 23, where attention lowers to ONNX's Attention op."""
    for name in (
        "sdpa_bool_mask_with_empty_rows",
        "sdpa_float_mask_and_default_scale",
        "sdpa_causal",
        "sdpa_grouped_query",
    ):
        build = globals()[name]
        add_case(f"{name}_opset23", build, SEQ, opset=23)


_at_opset_23()
