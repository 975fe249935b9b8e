"""Task measures for an artifact whose weights were changed on purpose (quantized): a float32
atol cannot judge it, so it is compared with the float32 model on what the task is for.

- `top1`: the share of positions whose argmax of `logits` agrees (next-token predictions of a
  decoder, the class of a classifier), over every unpadded position of the validation inputs;
- `kl`: the mean KL divergence KL(reference || artifact) of the softmax of `logits`, in nats;
- `greedy`: greedy decoding through the artifact's cache next to `model.generate`: the mean,
  over prompts, of the number of leading tokens that agree (a row that ends with the reference's
  end-of-sequence token counts in full);
- `cosine`: the lowest cosine similarity between the reference's and the artifact's sentence
  embeddings (hidden states mean-pooled over the attention mask) or rows of other outputs.

Each measure has a threshold (`Quality`), which the user sets with `--quality min_top1=0.95,...`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from irc.errors import IrcError

_OK = "✓"
_BAD = "x"


@dataclass(frozen=True)
class Quality:
    """Thresholds of the task measures; defaults justified in README ("Quantization")."""

    min_top1: float = 0.85
    """Lowest share of positions whose top-1 prediction agrees with the float32 model's."""
    max_kl: float = 0.25
    """Highest mean KL divergence of the next-token distribution (nats)."""
    min_greedy: float = 4.0
    """Lowest mean number of leading greedy tokens that agree with model.generate's."""
    min_cosine: float = 0.99
    """Lowest cosine similarity of a sentence embedding (or output row) with float32's."""

    @classmethod
    def parse(cls, text: str | dict[str, float] | Quality | None) -> Quality:
        """`min_top1=0.95,max_kl=0.1` (or a dict of the same) over the defaults."""
        if text is None or isinstance(text, Quality):
            return text or cls()
        values = text if isinstance(text, dict) else _pairs(text)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise IrcError(
                f"--quality: unknown measure threshold {unknown[0]!r}; the thresholds are "
                f"{', '.join(sorted(names))} (e.g. --quality min_top1=0.95,max_kl=0.1)."
            )
        return cls(**{k: float(v) for k, v in values.items()})


def _pairs(text: str) -> dict[str, float]:
    values = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, eq, value = part.partition("=")
        try:
            values[key.strip()] = float(value)
        except ValueError:
            eq = ""
        if not eq:
            raise IrcError(
                f"--quality: {part!r} is not name=number (e.g. --quality min_top1=0.95,max_kl=0.1)."
            )
    return values


@dataclass(frozen=True)
class Measure:
    """One measure against its threshold; truthy when it passed."""

    name: str
    value: float
    threshold: float
    higher_is_better: bool
    detail: str = ""
    """What it was measured on (`logits, 232 positions`)."""

    def __bool__(self) -> bool:
        if self.higher_is_better:
            return self.value >= self.threshold
        return self.value <= self.threshold

    @property
    def shortfall(self) -> float:
        """How far past its threshold the value is (0 when it passed)."""
        return 0.0 if self else abs(self.value - self.threshold)

    def format(self) -> str:
        op = (">=" if self else "<") if self.higher_is_better else ("<=" if self else ">")
        by = "" if self else f", short by {self.shortfall:.3g}"
        detail = f" ({self.detail})" if self.detail else ""
        return f"-[{_OK if self else _BAD}] {self.name} {self.value:.4g} {op} {self.threshold:g}{detail}{by}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "threshold": self.threshold,
            "passed": bool(self),
            "bound": "min" if self.higher_is_better else "max",
            "detail": self.detail,
        }


@dataclass
class MeasuredReport:
    """The validation of a quantized artifact: task measures, per model of the artifact."""

    backend: str
    quantized: str
    quality: Quality
    measures: dict[str, list[Measure]] = field(default_factory=dict)
    """Model name (`model`, `decoder_model`...) -> its measures."""
    label: str = ""

    @property
    def passed(self) -> bool:
        return bool(self.measures) and all(all(ms) for ms in self.measures.values())

    def __bool__(self) -> bool:
        return self.passed

    def max_abs_diff(self) -> float:
        return 0.0  # not the measure of a quantized artifact; kept for callers of any report

    def failures(self) -> list[str]:
        """`top1 of model 0.61 < 0.85 (short by 0.24)`, one per failed measure."""
        return [
            f"{m.name} of {name} {m.value:.4g} {'<' if m.higher_is_better else '>'} {m.threshold:g} "
            f"(short by {m.shortfall:.3g})"
            for name, ms in self.measures.items()
            for m in ms
            if not m
        ]

    def format(self) -> str:
        label = self.label or self.backend
        lines = [f"Measuring the {self.quantized} {label} model against the float32 model (task measures)..."]
        for name, measures in self.measures.items():
            lines.append(f"\t{name}:")
            lines.extend(f"\t\t{m.format()}" for m in measures)
        verdict = "All good" if self.passed else "Validation FAILED: " + "; ".join(self.failures())
        lines.append(verdict)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "backend": self.backend,
            "passed": self.passed,
            "quantized": self.quantized,
            "thresholds": dataclasses.asdict(self.quality),
            "measures": {name: {m.name: m.to_dict() for m in ms} for name, ms in self.measures.items()},
        }


# -- the measures --------------------------------------------------------------------------------
def _positions(logits: Any, mask: Any) -> Any:
    """`logits` [.., V] as rows [P, V], keeping the positions `mask` marks (all when None)."""
    rows = logits.reshape(-1, logits.shape[-1])
    if mask is None:
        return rows
    return rows[mask.reshape(-1).bool()]


def top1_agreement(reference: Any, actual: Any, mask: Any = None) -> tuple[float, int]:
    """Share of positions whose argmax agrees, and the number of positions."""
    ref, out = _positions(reference, mask), _positions(actual, mask)
    if ref.shape[0] == 0:
        return 1.0, 0
    return float((ref.argmax(-1) == out.argmax(-1)).float().mean()), int(ref.shape[0])


def kl_divergence(reference: Any, actual: Any, mask: Any = None) -> float:
    """Mean over positions of KL(softmax(reference) || softmax(actual)), in nats."""
    import torch

    ref = _positions(reference, mask).to(torch.float64)
    out = _positions(actual, mask).to(torch.float64)
    if ref.shape[0] == 0:
        return 0.0
    log_p, log_q = torch.log_softmax(ref, -1), torch.log_softmax(out, -1)
    return float((log_p.exp() * (log_p - log_q)).sum(-1).mean())


def min_cosine(reference: Any, actual: Any, mask: Any = None) -> tuple[float, int]:
    """The lowest cosine similarity over rows: mean-pooled over `mask` for [B, S, H] hidden states
    (a sentence embedding), else each row of the last dim; and the number of rows."""
    import torch

    ref, out = reference.to(torch.float64), actual.to(torch.float64)
    if ref.dim() == 3 and mask is not None and tuple(mask.shape) == tuple(ref.shape[:2]):
        weights = mask.to(torch.float64).unsqueeze(-1)
        count = weights.sum(1).clamp_min(1.0)
        ref, out = (ref * weights).sum(1) / count, (out * weights).sum(1) / count
    ref, out = ref.reshape(-1, ref.shape[-1]), out.reshape(-1, out.shape[-1])
    if ref.shape[0] == 0:
        return 1.0, 0
    cos = torch.nn.functional.cosine_similarity(ref, out, dim=-1, eps=1e-12)
    return float(cos.min()), int(ref.shape[0])


def greedy_agreement(expected: Any, actual: Any, eos: tuple[int, ...] = ()) -> float:
    """Mean over rows of the leading tokens of `actual` equal to `expected` (batch, steps); a row
    that agrees up to the reference's end-of-sequence token counts as agreeing in full."""
    total = 0
    steps = expected.shape[1]
    for ref_row, row in zip(expected.tolist(), actual.tolist(), strict=True):
        agreed = 0
        for want, got in zip(ref_row, row, strict=False):
            if want != got:
                break
            agreed += 1
            if want in eos:
                agreed = steps
                break
        total += agreed
    return total / max(1, expected.shape[0])
