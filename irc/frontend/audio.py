"""Raw audio inputs: the waveform that a speech encoder's convolutional feature extractor reads
(wav2vec2, HuBERT, WavLM, SEW, data2vec-audio and the other types of the CTC and audio
classification mappings).

`input_values` is (batch, samples), float, one channel at the feature extractor's sampling rate;
its `samples` axis is dynamic, so the artifact's frame count follows the input length. A model
whose feature extractor normalizes each conv frame (`feat_extract_norm == "layer"`, and the types
that have no group-norm variant) also takes an `attention_mask` over samples, as its
Wav2Vec2FeatureExtractor returns one; a group-norm model (wav2vec2-base) is given none, since
its checkpoints are trained on unpadded audio and transformers' processor leaves the mask out.
"""

from __future__ import annotations

from typing import Any

import torch

from irc.errors import TaskError

AMPLITUDE = 0.1
"""Scale of the made-up signal: about the RMS level of speech in a waveform scaled to [-1, 1].
The norm after the first conv layer takes out most of the scale; a signal of this size keeps
the conv outputs, and so the comparison's absolute tolerance, at the size real audio gives."""


NEURON_REFUSAL = (
    "the {backend} backend pads every input to a static bucket, and a waveform cannot be padded "
    "there without changing the result: a group-norm feature extractor (no attention mask) "
    "normalizes over the whole clip, silence included, and the padding runner cannot cut ctc's "
    "frames back to the input's length (an expression of samples, not a named dim). Export "
    "{task} of {model_type} with --backend onnx or torchscript, whose samples axis stays dynamic."
)
"""Why a bucketed (static-shape) backend refuses raw-audio tasks."""


def takes_waveform(config: Any, accepted: set[str]) -> bool:
    """True when the head takes `input_values` read by a convolutional feature extractor
    (its config lists `conv_kernel`); a spectrogram model's `input_values` are something else."""
    return "input_values" in accepted and getattr(config, "conv_kernel", None) is not None


def uses_mask(config: Any) -> bool:
    """Whether the checkpoint's feature extractor returns an attention mask (see module doc)."""
    return getattr(config, "feat_extract_norm", "layer") == "layer"


def waveform_inputs(config: Any, accepted: set[str], task: str) -> list[Any]:
    """`input_values` (batch, samples), and `attention_mask` over samples where the config uses one;
    a TaskError for an x-vector head with a mask (see XVECTOR_WITH_MASK)."""
    from irc.frontend.tasks import InputSpec

    specs = [InputSpec("input_values", ("batch", "samples"), "audio", "float32")]
    if "attention_mask" in accepted and uses_mask(config):
        if task == "audio-xvector":
            raise TaskError(XVECTOR_WITH_MASK)
        specs.append(InputSpec("attention_mask", ("batch", "samples"), "mask"))
    return specs


XVECTOR_WITH_MASK = (
    "its x-vector head pools each row of a masked batch in a Python loop over the batch "
    "(statistic pooling up to each row's length), which torch.export fixes to the traced batch "
    "size; only checkpoints without a mask (feat_extract_norm: group) export audio-xvector"
)


def make_waveform(shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    """Seeded noise at speech-like scale (see AMPLITUDE)."""
    return torch.randn(shape, generator=gen) * AMPLITUDE


def silence_padding(out: dict[str, torch.Tensor]) -> None:
    """Pad the waveforms as a feature extractor pads shorter clips in a batch: zeros past each
    row's length, which the mask marks. Each row keeps at least half the samples, so that
    no row is shorter than the conv stack's receptive field or masks all its frames
    (a masked mean over no frames is 0 / 0)."""
    values, mask = out.get("input_values"), out.get("attention_mask")
    if values is None or mask is None or values.shape != mask.shape:
        return
    samples = mask.shape[-1]
    kept = mask.sum(-1, keepdim=True).clamp(min=(samples + 1) // 2)
    mask = (torch.arange(samples) < kept).to(mask.dtype)
    out["attention_mask"] = mask
    out["input_values"] = values.masked_fill(mask == 0, 0.0)
