"""The log-mel `input_features` of a speech encoder that is not an encoder-decoder (Parakeet,
LASR and the other conformer CTC / RNN-T encoders, the audio towers of speech LLMs), read off the
checkpoint's feature extractor rather than a table of types.

transformers' FEATURE_EXTRACTOR_MAPPING_NAMES names the extractor of a type (or of the composite
model whose sub-config the type is: `qwen2_audio_encoder` is Qwen2-Audio's `audio_config`). irc runs
it with its defaults on one and on two seconds of quiet noise; what it returns fixes the layout:
- the frames axis is the one whose size follows the clip's length, the other holds the mel bins
  (Parakeet: (batch, frames, bins); Whisper's: (batch, bins, frames));
- an extractor that pads every clip to one length (Whisper's 30 s) gives a fixed frames axis,
  scaled to the exported config by its `max_source_positions` (the encoder takes exactly that
  many positions times its subsampling);
- the mask it returns over frames becomes an input where the head takes one (see
  `frame_mask_argument`).
The mel bins themselves are the config's (`num_mel_bins`, also in an encoder sub-config), else the
extractor's `feature_size`. A type whose extractor cannot run here, or returns no `input_features`,
is a TaskError that says so: irc does not guess the layout. So are heads irc has no split for:
transducers (a prediction network stepped with its `decoder_cache`), streaming encoders with a
cache, and speech LLMs exported on their text alone (`refuse_text_only`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from irc.errors import TaskError

CLIP_SECONDS = (1, 2)
"""The clip lengths the extractor is run on: the frames axis is the one that differs."""


@dataclass(frozen=True)
class FeatureLayout:
    """What a feature extractor returns for one clip, in a model's terms."""

    extractor: str
    frames_first: bool
    fixed_frames: int | None
    """Frames of every clip when the extractor pads to one length (at its defaults), else None."""
    feature_size: int
    masks: tuple[str, ...]
    """Its outputs that mask frames (batch, frames), at its defaults."""
    mask_on_request: bool = False
    """It returns a frame mask when asked (`return_attention_mask=True`)."""


def feature_inputs(model_type: str, task: str, config: Any, accepted: set[str], head_name: str) -> list[Any]:
    """`input_features` with the layout of the type's feature extractor, and its frame mask where
    the head takes one. A streaming encoder's cache (`-with-past`) is a TaskError: irc makes
    key/value caches of text decoders, not an encoder's convolution and attention state."""
    from irc.frontend.tasks import InputSpec

    if task.endswith("-with-past"):
        raise TaskError(
            f"{head_name} takes input_features with a streaming cache, which irc cannot make an input "
            "for: irc reads a cache layout off a forward pass on input_ids, and an audio encoder's "
            f"cache holds convolution and attention state over frames. Export {model_type} for "
            f"{task.removesuffix('-with-past')} (the whole clip at once)"
        )
    if "decoder_cache" in accepted and "decoder_input_ids" in accepted:
        raise TaskError(
            f"{head_name} is a transducer: its prediction network takes one token per step "
            "(decoder_input_ids of shape (batch, 1)) with its recurrent state in decoder_cache, which "
            "irc cannot make an input for; irc has no encoder / prediction-network / joint split to "
            f"export it as. The encoder alone exports: its encoder model type, or {model_type}'s ctc "
            "head where it has one"
        )
    layout = layout_of(model_type, head_name)
    bins = _bins(config, layout)
    frames: str | int = "frames"
    if layout.fixed_frames:
        frames = _fixed_frames(model_type, config, layout)
    axes = ("batch", frames, bins) if layout.frames_first else ("batch", bins, frames)
    specs = [InputSpec("input_features", axes, "float", "float32")]
    mask = frame_mask_argument(layout, accepted)
    if mask:
        specs.append(InputSpec(mask, ("batch", frames), "mask"))
    return specs


FEATURE_MASKS = ("input_features_mask", "feature_attention_mask")
"""The names heads give a mask that is the frames' by its name, whatever the extractor calls it."""


def frame_mask_argument(layout: FeatureLayout, accepted: set[str]) -> str | None:
    """The forward argument that takes the extractor's frame mask: one named as the extractor
    returns it by default (Parakeet's `attention_mask`), else one named for the features
    (AudioFlamingo3's encoder reads `input_features_mask`, which Whisper's extractor returns on
    request as `attention_mask`). Never a differently named mask onto a bare `attention_mask`:
    Whisper-style encoders take one for compatibility and would add it to attention scores."""
    named = [m for m in layout.masks if m in accepted]
    if named:
        return named[0]
    if layout.masks or layout.mask_on_request:
        return next((m for m in FEATURE_MASKS if m in accepted), None)
    return None


def layout_of(model_type: str, head_name: str) -> FeatureLayout:
    """The layout of `model_type`'s feature extractor's `input_features`; a TaskError when it
    has none irc can run."""
    name = extractor_name(model_type)
    if name is None:
        raise TaskError(
            f"{head_name} takes input_features, and irc reads their layout (frames or mel bins first, "
            f"the frame mask) off the type's feature extractor: transformers names none for {model_type} "
            "(FEATURE_EXTRACTOR_MAPPING_NAMES), nor for a model whose sub-config it is"
        )
    layout = _run_extractor(name)
    if isinstance(layout, str):
        raise TaskError(
            f"{head_name} takes input_features, and irc reads their layout off {model_type}'s feature "
            f"extractor {name} run on {CLIP_SECONDS[0]} s of audio, which it cannot do: {layout}"
        )
    return layout


def extractor_name(model_type: str) -> str | None:
    """The feature extractor class name of `model_type`, or of the first model type with one
    whose default config holds a `model_type` sub-config."""
    from transformers.models.auto.feature_extraction_auto import FEATURE_EXTRACTOR_MAPPING_NAMES

    if model_type in FEATURE_EXTRACTOR_MAPPING_NAMES:
        return FEATURE_EXTRACTOR_MAPPING_NAMES[model_type]
    return _owners().get(model_type)


@functools.lru_cache(maxsize=1)
def _owners() -> dict[str, str]:
    """Sub-config model type -> the feature extractor of the composite type that holds it."""
    from transformers import AutoConfig
    from transformers.models.auto.feature_extraction_auto import FEATURE_EXTRACTOR_MAPPING_NAMES

    owners: dict[str, str] = {}
    for owner, name in sorted(FEATURE_EXTRACTOR_MAPPING_NAMES.items()):
        try:
            config = AutoConfig.for_model(owner)
        except Exception:  # noqa: BLE001 - a config that cannot be built owns nothing here
            continue
        for sub_type in _sub_config_types(config, depth=3):
            owners.setdefault(sub_type, name)
    return owners


def _sub_config_types(config: Any, depth: int) -> list[str]:
    """The model types of `config`'s sub-configs, theirs in turn down to `depth` levels (an ASR
    encoder inside a speech LLM's audio tower). A sub-config may be unset in the default config
    (Gemma 4's audio_config): its class, in `sub_configs`, says."""
    found: list[str] = []
    values = vars(config).values() if not isinstance(config, type) else ()
    for value in [*values, *getattr(config, "sub_configs", {}).values()]:
        sub_type = getattr(value, "model_type", None)
        if isinstance(sub_type, str) and sub_type and hasattr(value, "to_dict"):
            found.append(sub_type)
            if depth > 1:
                found += _sub_config_types(value, depth - 1)
    return found


@functools.cache
def _run_extractor(name: str) -> FeatureLayout | str:
    """The layout `name` gives (see module doc), or why it cannot run here."""
    import numpy as np
    from transformers.models.auto.feature_extraction_auto import feature_extractor_class_from_name

    try:
        extractor = feature_extractor_class_from_name(name)()
        rate = int(getattr(extractor, "sampling_rate", 16000) or 16000)
        noise = np.random.default_rng(0).standard_normal(rate * max(CLIP_SECONDS)).astype(np.float32)
        outs = [
            extractor([0.01 * noise[: rate * s]], sampling_rate=rate, return_tensors="pt")
            for s in CLIP_SECONDS
        ]
        # The third run asks for the frame mask a speech LLM's processor requests (Whisper's
        # extractor leaves it out by default).
        outs.append(
            extractor(
                [0.01 * noise[: rate * CLIP_SECONDS[0]]],
                sampling_rate=rate,
                return_tensors="pt",
                return_attention_mask=True,
            )
        )
    except Exception as exc:  # noqa: BLE001 - the reason goes into the refusal
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}"
    return _layout(name, extractor, outs)


def _layout(name: str, extractor: Any, outs: list[Any]) -> FeatureLayout | str:
    if "input_features" not in outs[0]:
        return f"it returns {', '.join(outs[0])}, no input_features"
    short, long = (tuple(getattr(out["input_features"], "shape", ())) for out in outs[:2])
    if len(short) != 3:
        return f"its input_features have shape {short}, not (batch, frames, bins) or (batch, bins, frames)"
    size = int(getattr(extractor, "feature_size", 0) or 0)
    if short[1] != long[1] or short[2] != long[2]:
        frames_first = short[1] != long[1]
        fixed = None
    elif size in short[1:] and short[1] != short[2]:
        frames_first = short[2] == size
        fixed = short[1] if frames_first else short[2]
    else:
        return f"its input_features are {short} for any clip length, and neither axis is its feature_size"
    size = short[2] if frames_first else short[1]
    frames = fixed or (short[1] if frames_first else short[2])
    masks, requested = (
        tuple(
            key
            for key, value in out.items()
            if key != "input_features" and tuple(getattr(value, "shape", ())) == (short[0], frames)
        )
        for out in (outs[0], outs[-1])
    )
    return FeatureLayout(name, frames_first, fixed, size, masks, bool(requested))


def _bins(config: Any, layout: FeatureLayout) -> int:
    from irc.frontend.speech import mel_bins

    try:
        return mel_bins(config)
    except TaskError:
        return layout.feature_size


def _fixed_frames(model_type: str, config: Any, layout: FeatureLayout) -> int:
    """An extractor that pads to one length serves an encoder of exactly that many frames: its
    default config's `max_source_positions` times the subsampling; the exported config's positions
    times the same subsampling."""
    from transformers import AutoConfig

    positions = getattr(config, "max_source_positions", None)
    default = getattr(AutoConfig.for_model(model_type), "max_source_positions", None)
    if not positions or not default or layout.fixed_frames % default:
        return int(layout.fixed_frames)
    return int(positions) * (layout.fixed_frames // default)


AUDIO_ARGUMENTS = ("input_features", "input_values", "audio_input_features", "audio_values")
"""The forward arguments that carry a clip into a model that also reads text."""


def refuse_text_only(head: Any, accepted: set[str], task: str, config: Any) -> None:
    """A decoder-only head that reads text and audio (a speech LLM: Voxtral, Qwen2-Audio, Granite
    Speech, ...) places its audio encoder's features at audio tokens of `input_ids`; exported on
    `input_ids` alone, the artifact would have no way to hear. A TaskError saying what irc lacks.
    An encoder-decoder that reads either (SeamlessM4T, Pop2Piano) is not one."""
    if getattr(config, "is_encoder_decoder", False):
        return
    why = _speech_llm_reason(head, accepted, task)
    if why:
        raise TaskError(why)


def why_not_speech_llm(head: Any, task: str) -> str | None:
    """What irc lacks to export a speech LLM (a decoder-only model that hears) for `task`
    (speech-seq2seq names them too), or None when `head` is no speech LLM."""
    from irc.frontend.heads import parameters

    return _speech_llm_reason(head, set(parameters(head)), task)


def _speech_llm_reason(head: Any, accepted: set[str], task: str) -> str | None:
    audio = [name for name in AUDIO_ARGUMENTS if name in accepted]
    if not audio or "input_ids" not in accepted or "inputs_embeds" not in accepted:
        return None
    return (
        f"{head.__name__} takes audio ({audio[0]}) as features placed at audio tokens of input_ids; "
        "irc exports such a model only as separate models (audio encoder, text embedding, decoder on "
        "inputs_embeds), and has that split for images (frontend/vision_language.py) but not for "
        f"audio: it lacks the audio encoder component (a clip's {audio[0]} -> one feature per audio "
        f"token, a count that follows the clip's length), so it exports no {task} for it. Its audio "
        "encoder exports alone, by the encoder's own model type (task default)"
    )
