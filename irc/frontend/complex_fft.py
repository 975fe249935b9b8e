"""Complex-pairs rules for `torch.fft`: `fft`, `fftn` and `real` / `imag` of their results.

A transform over several dims is one `irc.dft` per dim (the DFT is separable); a real input
becomes a pair with a zero imaginary part first. Only the defaults transformers' models use are
taken (no padding or cropping length, `norm="backward"`); anything else is refused by name rather
than computed differently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from irc.errors import TraceError

if TYPE_CHECKING:
    from irc.frontend.complex_pairs import Rule, _Site
    from irc.ir.core import Value


def _as_pair(site: _Site) -> Value:
    """The input as a pair: its own pair when complex, else (x, 0)."""
    value = site.bound["self"]
    if value in site.pairs:
        return site.pairs[value]
    shape = value.tensor_type.shape
    zeros = site.emit("aten.zeros_like", (value,), shape)
    return site.emit("aten.stack", ([value, zeros], -1), (*shape, 2))


def _refuse_options(site: _Site, length_arg: str) -> None:
    length, norm = site.bound.get(length_arg), site.bound.get("norm")
    if length is not None or norm not in (None, "backward"):
        raise TraceError(
            f"{site.node.op} at {site.node.provenance} sets {length_arg}={length!r}, norm={norm!r}; irc "
            f"lowers the Fourier transform with no {length_arg} and norm='backward' only. Report the "
            "model type so the option can be added."
        )


def _transform(site: _Site, dims: list[int]) -> Value:
    pair = _as_pair(site)
    rank = site.node.output.tensor_type.rank
    for dim in sorted({d % rank for d in dims}):
        pair = site.emit("irc.dft", (pair, dim), site.pair_shape())
    return pair


def _fft(site: _Site) -> Value:
    """fft_fft(Tensor self, SymInt? n=None, int dim=-1, str? norm=None)"""
    _refuse_options(site, "n")
    return _transform(site, [site.bound.get("dim", -1)])


def _fftn(site: _Site) -> Value:
    """fft_fftn(Tensor self, SymInt[1]? s=None, int[1]? dim=None, str? norm=None); no dim: all."""
    _refuse_options(site, "s")
    dims: Any = site.bound.get("dim")
    rank = site.node.output.tensor_type.rank
    return _transform(site, list(range(rank)) if dims is None else list(dims))


def _part(index: int) -> Rule:
    def rule(site: _Site) -> Value:
        return site.part(site.complex_arg("self"), index)

    return rule


FFT_RULES: dict[str, Rule] = {
    "aten.fft_fft": _fft,
    "aten.fft_fftn": _fftn,
    "aten.real": _part(0),
    "aten.imag": _part(1),
}
