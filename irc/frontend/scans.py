"""Linear-attention scans that torch.export can trace at every sequence length.

transformers' torch fallbacks of the chunked gated delta rule (Qwen3-Next, Qwen3.5, OLMo-Hybrid
and the families copied from them) and of Kimi delta attention (its per-key-channel variant: Kimi
Linear, Bailing-Hybrid, GLM-5-Next) pad the sequence to chunks of 64 and loops over the chunks
in Python: torch.export runs that loop as many times as the traced length has chunks (one, at
the default 8 tokens), so an artifact would read only the first 64 tokens of a longer step. While
tracing, irc swaps in the same computation over one chunk as long as the sequence, where the
triangular system of the chunk's delta-rule updates is solved by a fixed number of doublings of
a Neumann series (no loop over the length, and no triangular solver, which ONNX lacks). The
model in eager mode, the reference of validation and of the generation check, keeps its own.
Mamba(1) selective scans are irc.frontend.selective_scan's.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from irc.frontend.selective_scan import scans_from_state

_CHUNKED = "torch_chunk_gated_delta_rule"
_CHUNKED_KIMI = "chunk_kimi_delta_attention"
_DEFAULT_POSITIONS = 1 << 16


@contextmanager
def traceable_scans(model: Any) -> Iterator[None]:
    """Within: the model's chunked gated delta rule is the whole-sequence one (see module doc), and
    its Mamba(1) selective scans run from the cached state (irc.frontend.selective_scan)."""
    positions = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    doublings = max(1, math.ceil(math.log2(max(2, int(positions or _DEFAULT_POSITIONS)))))
    modules = {sys.modules.get(type(m).__module__) for m in model.modules()}

    def whole(*args: Any, **kwargs: Any) -> Any:
        return whole_sequence_gated_delta_rule(*args, doublings=doublings, **kwargs)

    def whole_kimi(*args: Any, **kwargs: Any) -> Any:
        return whole_sequence_kimi_delta_attention(*args, doublings=doublings, **kwargs)

    swaps = [
        (m, name, fn)
        for name, fn in ((_CHUNKED, whole), (_CHUNKED_KIMI, whole_kimi))
        for m in modules
        if m is not None and callable(getattr(m, name, None))
    ]
    originals = [getattr(m, name) for m, name, _ in swaps]
    for module, name, fn in swaps:
        setattr(module, name, fn)
    try:
        with scans_from_state(model):
            yield
    finally:
        for (module, name, _), original in zip(swaps, originals, strict=True):
            setattr(module, name, original)


def _l2norm(x: torch.Tensor) -> torch.Tensor:
    return x * torch.rsqrt((x * x).sum(dim=-1, keepdim=True) + 1e-6)


def whole_sequence_gated_delta_rule(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    g: torch.Tensor,
    beta: torch.Tensor,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
    use_qk_l2norm_in_kernel: bool = False,
    doublings: int = 16,
    **_: Any,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """transformers' chunked gated delta rule with one chunk: (batch, sequence, heads, dim) in,
    the output and the final state (batch, heads, key_dim, value_dim) out. Exact for sequences up
    to 2**doublings tokens."""
    dtype = query.dtype
    batch, length, k_heads, k_dim = key.shape
    v_heads, v_dim = value.shape[-2:]
    if k_heads != v_heads:  # grouped value attention
        query = query.repeat_interleave(v_heads // k_heads, dim=2)
        key = key.repeat_interleave(v_heads // k_heads, dim=2)
    query, key, value, beta, decay = (x.transpose(1, 2).float() for x in (query, key, value, beta, g))
    if use_qk_l2norm_in_kernel:
        query, key = _l2norm(query), _l2norm(key)
    query = query * k_dim**-0.5
    k_beta, v_beta = key * beta.unsqueeze(-1), value * beta.unsqueeze(-1)

    cum = decay.cumsum(dim=-1)
    upper = torch.ones(length, length, dtype=torch.bool, device=query.device).triu(1)
    pairwise = (cum.unsqueeze(-1) - cum.unsqueeze(-2)).masked_fill(upper, float("-inf")).exp()
    intra = (query @ key.transpose(-1, -2)) * pairwise
    strict = -((k_beta @ key.transpose(-1, -2)) * pairwise).tril(-1)
    solve = _unit_lower_inverse(strict, doublings)
    new_values = solve @ v_beta
    k_cumdecay = solve @ (k_beta * cum.exp().unsqueeze(-1))

    state = (
        torch.zeros(batch, v_heads, k_dim, v_dim, dtype=new_values.dtype, device=new_values.device)
        if initial_state is None
        else initial_state.to(new_values)
    )
    v_new = new_values - k_cumdecay @ state
    out = (query * cum.exp().unsqueeze(-1)) @ state + intra @ v_new
    decayed_key = key * (cum[..., -1:] - cum).exp().unsqueeze(-1)
    state = state * cum[..., -1].exp()[..., None, None] + decayed_key.transpose(-1, -2) @ v_new
    out = out.transpose(1, 2).contiguous().to(dtype)
    return out, (state if output_final_state else None)


def whole_sequence_kimi_delta_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    g: torch.Tensor,
    beta: torch.Tensor,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
    use_qk_l2norm_in_kernel: bool = False,
    doublings: int = 16,
    **_: Any,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """transformers' chunked Kimi delta attention (Kimi Linear, Bailing-Hybrid, GLM-5-Next) with one
    chunk: the gated delta rule with a decay per key channel, so the pairwise decays are
    (sequence, sequence, key_dim). (batch, sequence, heads, dim) in; the output and the final
    state (batch, heads, key_dim, value_dim) out. Exact for sequences up to 2**doublings tokens."""
    dtype = query.dtype
    query, key, value, beta, decay = (x.transpose(1, 2).float() for x in (query, key, value, beta, g))
    if use_qk_l2norm_in_kernel:  # FLA's norm: divided by sqrt(sum + eps)
        query = query / torch.sqrt((query * query).sum(dim=-1, keepdim=True) + 1e-6)
        key = key / torch.sqrt((key * key).sum(dim=-1, keepdim=True) + 1e-6)
    batch, heads, length, k_dim = key.shape
    query = query * k_dim**-0.5
    k_beta, v_beta = key * beta.unsqueeze(-1), value * beta.unsqueeze(-1)

    cum = decay.cumsum(dim=-2)  # (batch, heads, sequence, key_dim)
    upper = torch.ones(length, length, dtype=torch.bool, device=query.device).triu(1)
    pairwise = (cum.unsqueeze(-2) - cum.unsqueeze(-3)).masked_fill(upper[..., None], float("-inf")).exp()
    strict = -(k_beta.unsqueeze(-2) * key.unsqueeze(-3) * pairwise).sum(dim=-1).tril(-1)
    intra = (query.unsqueeze(-2) * key.unsqueeze(-3) * pairwise).sum(dim=-1).masked_fill(upper, 0.0)
    solve = _unit_lower_inverse(strict, doublings)
    new_values = solve @ v_beta
    k_cumdecay = solve @ (k_beta * cum.exp())

    state = (
        torch.zeros(batch, heads, k_dim, value.shape[-1], dtype=new_values.dtype, device=new_values.device)
        if initial_state is None
        else initial_state.to(new_values)
    )
    v_new = new_values - k_cumdecay @ state
    out = (query * cum.exp()) @ state + intra @ v_new
    decayed_key = key * (cum[..., -1:, :] - cum).exp()
    state = state * cum[..., -1, :].exp().unsqueeze(-1) + decayed_key.transpose(-1, -2) @ v_new
    out = out.transpose(1, 2).contiguous().to(dtype)
    return out, (state if output_final_state else None)


def _unit_lower_inverse(strict: torch.Tensor, doublings: int) -> torch.Tensor:
    """(I - N)^-1 for a strictly lower triangular N (n x n, n <= 2**doublings): N is nilpotent, so
    the inverse is I + N + ... + N^(n-1) = (I + N)(I + N^2)(I + N^4)..., a fixed number of
    matrix products whatever n is."""
    index = torch.arange(strict.shape[-1], device=strict.device)
    eye = (index.unsqueeze(-1) == index).to(strict.dtype)  # not torch.eye: aten.eye has no lowering
    total, power = eye + strict, strict
    for _ in range(doublings - 1):
        power = power @ power
        total = total + total @ power
    return total
