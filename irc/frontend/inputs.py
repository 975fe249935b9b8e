"""The inputs irc makes for a (model type, task): read off the head's `forward` signature and the
config. The modality follows from what the head takes: ids where it takes `input_ids`, pixels where
it takes `pixel_values` of an image the config describes, raw audio where a convolutional feature
extractor reads `input_values` (audio.py), log-mel features where the type has a speech-seq2seq head
(speech.py). A forward argument irc cannot make is a TaskError naming it and what irc makes.
"""

from __future__ import annotations

import re
from typing import Any

from irc.errors import TaskError
from irc.frontend.heads import head_names, parameters, required
from irc.frontend.tasks import (
    IMAGE_TEXT_TASK,
    TASKS,
    VISION_TASKS,
    InputSpec,
    ModelSpec,
    get_model,
    image_tokens,
    splits_vision_language,
)

_MADE = (
    "input_ids",
    "inputs",
    "attention_mask",
    "token_type_ids",
    "bbox",
    "decoder_input_ids",
    "pixel_values",
    "input_features (laid out as the type's feature extractor returns them)",
    "flattened_patches",
    "input_values (raw audio)",
)
"""The forward arguments irc makes inputs for (a cache is added by cache.py / seq2seq.py); raw
audio only for a convolutional feature extractor (audio.py), not a spectrogram's `input_values`."""
_CONTROLS = re.compile(r"^(output_|return_|use_|labels|.*_labels$|.*_embeds$|.*head_mask$|.*position_ids$)")
"""Arguments that are not data inputs (switches, training labels, alternatives to ids)."""


def inputs_of(model_type: str, task: str, config: Any, head: Any) -> tuple[InputSpec, ...]:
    if splits_vision_language(task, config, head):  # its components' inputs are vision_language.py's
        return (InputSpec("input_ids", ("batch", "sequence"), "ids"),)
    accepted = set(parameters(head))
    model = get_model(model_type)
    if model.embedded_inputs and task == "default" and "inputs" in accepted:
        width = int(getattr(config, "d_model", 0) or getattr(config, "hidden_size", 0))
        specs = [InputSpec("inputs", ("batch", "sequence", width), "float", "float32")]
    else:
        specs = _modal_inputs(model_type, task, config, head, accepted)
    made = {s.model_arg for s in specs}
    missing = [n for n in required(head) if n not in made]
    if missing:
        raise TaskError(
            f"{head.__name__}.forward requires {', '.join(missing)}, which irc cannot make an input "
            f"for (it makes {', '.join(_MADE)})"
        )
    if not specs:
        takes = [n for n in parameters(head) if n not in _MADE and not _CONTROLS.match(n)][:3]
        raise TaskError(
            f"{head.__name__}.forward takes {', '.join(takes) or 'no input irc knows'}, which irc "
            f"cannot make an input for (it makes {', '.join(_MADE)})"
        )
    return tuple(specs)


def _modal_inputs(model_type: str, task: str, config: Any, head: Any, accepted: set[str]) -> list[InputSpec]:
    """Text inputs where the head takes ids, pixels where it takes pixel values of an image the
    config describes: the modality follows from what the model takes."""
    vision_task = task in VISION_TASKS
    text = not vision_task and ("input_ids" in accepted or "inputs" in accepted)
    # A head that takes both (LayoutLMv3, CLIP) gets pixels where its config describes images.
    pixels = ("pixel_values" in accepted and (vision_task or not text or _describes_images(config))) or (
        vision_task and "inputs" in accepted
    )
    if text and pixels and image_tokens(config):
        embeds = (
            "" if "inputs_embeds" in accepted else f" (and {head.__name__}.forward takes no inputs_embeds)"
        )
        raise TaskError(
            f"{head.__name__} takes images as features placed at image tokens in input_ids: irc exports "
            "such a model only as three models (vision encoder, text embedding, decoder on "
            f"inputs_embeds), for {IMAGE_TEXT_TASK} and for the bare model's default / "
            f"default-with-past; it has no such split for {task}{embeds}"
        )
    if text and not pixels:  # a speech LLM's text alone would export a model that cannot hear
        from irc.frontend.audio_features import refuse_text_only

        refuse_text_only(head, accepted, task, config)
    from irc.frontend.audio import takes_waveform, waveform_inputs

    specs: list[InputSpec] = []
    if not text and not pixels and takes_waveform(config, accepted):
        specs.extend(waveform_inputs(config, accepted, task))
    if text:
        specs.extend(_text_inputs(accepted, task, config))
    if pixels:
        specs.extend(_vision_inputs(get_model(model_type), accepted, config))
    # Log-mel features of a type with a speech-seq2seq head, whose layout irc knows (Whisper's,
    # or Speech2Text's per ModelSpec); other types' features (CTC encoders) are not made.
    speech = head_names(model_type, TASKS["speech-seq2seq"].mapping)
    if not text and not pixels and "input_features" in accepted and speech:
        specs.append(_speech_features(get_model(model_type), config))
    elif not text and not pixels and "input_features" in accepted:  # a speech encoder's log-mels
        from irc.frontend.audio_features import feature_inputs

        specs.extend(feature_inputs(model_type, task, config, accepted, head.__name__))
    if not text and not pixels and "flattened_patches" in accepted:
        specs.extend(_patch_inputs(config, accepted))
    # A decoder behind an audio or image encoder: the text it has generated so far.
    if specs and not text and "decoder_input_ids" in accepted and task in _DECODER_IDS_TASKS:
        specs.append(InputSpec("decoder_input_ids", ("batch", "decoder_sequence"), "ids"))
    return specs


_DECODER_IDS_TASKS = ("default", "speech-seq2seq", "image-to-text")


def _speech_features(model: ModelSpec, config: Any) -> InputSpec:
    from irc.frontend.speech import feature_axes

    axes = feature_axes(config, model.frames_per_position, model.frames_first)
    return InputSpec("input_features", axes, "float", "float32")


def _patch_inputs(config: Any, accepted: set[str]) -> list[InputSpec]:
    """Pix2Struct's image: `sequence` patches of (row, column, pixels...), and their mask."""
    vision = getattr(config, "vision_config", None) or config
    width = 2 + int(vision.patch_embed_hidden_size)
    specs = [InputSpec("flattened_patches", ("batch", "sequence", width), "patches", "float32")]
    if "attention_mask" in accepted:
        specs.append(InputSpec("attention_mask", ("batch", "sequence"), "mask"))
    return specs


def _describes_images(config: Any) -> bool:
    return any(
        getattr(config, key, None) is not None for key in ("vision_config", "image_size", "input_size")
    )


def _text_inputs(accepted: set[str], task: str, config: Any) -> list[InputSpec]:
    axes: tuple[str, ...] = (
        ("batch", "num_choices", "sequence") if task == "multiple-choice" else ("batch", "sequence")
    )
    ids_arg = "input_ids" if "input_ids" in accepted else "inputs"
    specs = [InputSpec("input_ids", axes, "ids", arg=None if ids_arg == "input_ids" else ids_arg)]
    if "bbox" in accepted:
        specs.append(InputSpec("bbox", (*axes, 4), "bbox"))
    if "attention_mask" in accepted:
        mask_axes = ("batch", "past_sequence + sequence") if task.endswith("-with-past") else axes
        specs.append(InputSpec("attention_mask", mask_axes, "mask"))
    # Optimum's rule: a causal head that takes position_ids gets them, filled as generate() does.
    if "position_ids" in accepted and task in ("causal-lm", "causal-lm-with-past", "default-with-past"):
        specs.append(InputSpec("position_ids", axes, "position"))
    # One token type (RoBERTa and its kin) means the input carries nothing: Optimum leaves it out.
    # A generation loop feeds ids, mask and cache only, so with past the model's default (type 0)
    # is what every step uses.
    with_types = int(getattr(config, "type_vocab_size", 0) or 0) > 1 and not task.endswith("-with-past")
    if "token_type_ids" in accepted and with_types:
        specs.append(InputSpec("token_type_ids", axes, "type_ids"))
    if "decoder_input_ids" in accepted and task in ("default", "seq2seq-lm"):
        specs.append(InputSpec("decoder_input_ids", ("batch", "decoder_sequence"), "ids"))
    return specs


def _vision_inputs(model: ModelSpec, accepted: set[str], config: Any) -> list[InputSpec]:
    # A vision-encoder-decoder's image is its encoder's.
    vision = getattr(config, "vision_config", None) or _encoder_config(config) or config
    channels = int(getattr(vision, "num_channels", 3) or 3)
    size = (
        model.image_size or getattr(vision, "image_size", None) or getattr(vision, "input_size", None) or 224
    )
    if isinstance(size, (list, tuple)):
        height, width = int(size[0]), int(size[-1])
    else:
        height = width = int(size)
    arg = None if "pixel_values" in accepted else "inputs"
    return [InputSpec("pixel_values", ("batch", channels, height, width), "float", "float32", arg=arg)]


def _encoder_config(config: Any) -> Any:
    """The `encoder` sub-config of a composite encoder-decoder (VisionEncoderDecoderConfig)."""
    encoder = getattr(config, "encoder", None)
    return encoder if hasattr(encoder, "model_type") else None
