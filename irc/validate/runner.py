"""Differential validation: the reference model and the artifact on the same fresh inputs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from irc.validate.compare import compare_outputs
from irc.validate.report import CaseResult, ValidationReport

Inputs = dict[str, torch.Tensor]


def validation_sizes(traced: dict[str, int]) -> list[dict[str, int]]:
    """Two or more size sets, each differing from the traced sizes on every named dim.

    Smaller and larger than the trace, so that a dim baked into the artifact shows up as a
    failure, and batch 1 (a size torch.export never traces with) among them. A cache adds past
    lengths 0 and 1.
    """
    smaller = {name: max(1, size - (size // 2 + 1)) for name, size in traced.items()}
    larger = {name: size + 3 + (size % 2) for name, size in traced.items()}
    much_larger = {name: 2 * size + 7 for name, size in traced.items()}
    cases = [c for c in (smaller, larger, much_larger) if all(c[k] != traced[k] for k in traced)][:2]
    if "past_sequence" in traced:
        # The first decoding step runs with an empty cache, the second with one token in it.
        cases += [{**cases[0], "past_sequence": 0}, {**cases[1], "past_sequence": 1}]
    return cases


def validate(
    reference: Callable[[Inputs], dict[str, torch.Tensor]],
    artifact: Callable[[Inputs], dict[str, torch.Tensor]],
    make_inputs: Callable[[dict[str, int], int], Inputs],
    sizes: Iterable[dict[str, int]],
    atol: float | dict[str, float],
    backend: str,
    on_case: Callable[[CaseResult], Any] | None = None,
    component: str = "",
) -> ValidationReport:
    """Run both sides at each size set and compare outputs by name; `component` names which
    model of a multi-model artifact this is, for the log."""
    report = ValidationReport(backend)
    for seed, case_sizes in enumerate(sizes):
        inputs = make_inputs(case_sizes, seed + 1)
        with torch.no_grad():
            expected = reference(inputs)
        actual = artifact(inputs)
        case = CaseResult(
            dict(case_sizes),
            compare_outputs(expected, actual, atol),
            list(expected),
            list(actual),
            component,
        )
        report.cases.append(case)
        if on_case is not None:
            on_case(case)
        # Not held while the next case runs: a case's outputs (GPT-2's logits and cache) are
        # tens of MB, and validation's peak memory is what `irc export` is measured by.
        del inputs, expected, actual
    return report


def bucket_validation_sizes(buckets: list[dict[str, int]], dim: str = "sequence") -> list[dict[str, int]]:
    """Sizes under each bucket of a static artifact: the shortest `dim` that picks the bucket,
    one halfway, and the bucket's own length (no padding), each at the bucket's other sizes.
    Buckets `{batch: 1, sequence: 32}` and `{batch: 1, sequence: 128}` give sequence 1, 16, 32,
    then 33, 80, 128, all at batch 1.
    """
    cases: list[dict[str, int]] = []
    low = 1
    for bucket in sorted(buckets, key=lambda b: b.get(dim, 0)):
        high = bucket.get(dim)
        if high is None:
            cases.append(dict(bucket))
            continue
        cases += [{**bucket, dim: length} for length in sorted({low, (low + high) // 2, high})]
        low = high + 1
    return cases
