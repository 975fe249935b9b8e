"""Task specs: the "features" table of the Transformers export guide, and what a model type is.

A task names the head to load (`AutoModelForMaskedLM`...) and the outputs the artifact returns.
irc keeps no list of model types: the tasks of a type are those for which transformers has a head
(its auto mappings) whose inputs irc can make; the inputs follow from the head's `forward`
signature and the config (BERT takes `token_type_ids`, RoBERTa with one token type does not;
a head that takes `pixel_values` of an image the config describes gets pixels; encoder-decoders
take `decoder_input_ids` for `default` and `seq2seq-lm`; `multiple-choice` adds a `num_choices`
axis). The with-past tasks apply where the head takes a cache: `causal-lm-with-past` and
`default-with-past` for a model that is not an encoder-decoder, `seq2seq-lm-with-past` for one that
is (`speech-seq2seq-with-past`, `image-to-text-with-past` where its encoder reads log-mel
`input_features` or pixels). `ModelSpec` holds the few real per-type overrides (`OVERRIDES`),
each with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from irc.errors import TaskError
from irc.frontend.heads import (
    CACHE_KEYWORDS,
    OTHER_TASKS,
    default_config,
    head_class,
    head_names,
    other_tasks,
    parameters,
    takes_cache,
)


@dataclass(frozen=True)
class InputSpec:
    """One model input: its artifact name, its axes (names are dynamic dims, ints are fixed sizes)
    and the kind of data that dummy and validation inputs hold."""

    name: str
    axes: tuple[str | int, ...]
    kind: str
    """`ids` (token ids below the vocab size), `mask` (1 = attend, 0 = padding), `type_ids`,
    `bbox` (boxes x0 <= x1, y0 <= y1 in 0..1000), `position` (from the mask, as generate() does),
    `float` (pixels, features), `patches` (Pix2Struct's: row and column numbers, then pixels) or
    `audio` (a waveform, see audio.py)."""
    dtype: str = "int64"
    arg: str | None = None
    """The model's keyword for this input when it differs from `name` (Perceiver's `inputs`)."""

    @property
    def model_arg(self) -> str:
        return self.arg or self.name


@dataclass(frozen=True)
class TaskSpec:
    """A task ("feature"): its head and outputs."""

    name: str
    auto_class: str
    """The transformers Auto class that loads this head."""
    mapping: str
    """The transformers auto mapping that says which model types have this head."""
    outputs: tuple[str, ...]
    """Output names in artifact order; a name the model does not return is left out."""
    atol: float = 1e-4
    with_past: bool = False
    """The key/value cache is an input (`past_key_values.{i}.key`) and an output (`present.{i}.key`)."""


@dataclass(frozen=True)
class ModelSpec:
    """A model type's real overrides of what its config and signature say; most types have none,
    and a type without an entry in `OVERRIDES` is exported all the same."""

    model_type: str
    atol: float = 1e-4
    atol_reason: str = ""
    """Why the tolerance differs from 1e-4, shown in docs/coverage.md."""
    image_size: int | None = None
    """Image side to export with when the config names none."""
    embedded_inputs: bool = False
    """The bare model (`default`) takes `inputs` already embedded, (batch, sequence, d_model)."""
    frames_per_position: int | None = None
    """Audio frames per encoder position when the encoder takes exactly `max_source_positions`
    of them (a fixed `frames` axis); None: any number of frames."""
    frames_first: bool = False
    """`input_features` are (batch, frames, mel bins), not (batch, mel bins, frames)."""
    eager_reference: str = ""
    """Why validation's reference runs use eager attention (transformers' SDPA path computes
    something else for this type); empty: the model's own attention."""


def _task(name: str, auto: str, mapping: str, *outputs: str) -> TaskSpec:
    return TaskSpec(name, auto, f"MODEL_{mapping}MAPPING_NAMES", outputs)


_DEFAULT_OUTPUTS = (
    "last_hidden_state",
    "pooler_output",
    # Contrastive text+image models (CLIP and its kin) return these instead of a hidden state.
    "logits_per_image",
    "logits_per_text",
    "text_embeds",
    "image_embeds",
)

TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        _task("default", "AutoModel", "", *_DEFAULT_OUTPUTS),
        _task("masked-lm", "AutoModelForMaskedLM", "FOR_MASKED_LM_", "logits"),
        _task("causal-lm", "AutoModelForCausalLM", "FOR_CAUSAL_LM_", "logits"),
        _task("seq2seq-lm", "AutoModelForSeq2SeqLM", "FOR_SEQ_TO_SEQ_CAUSAL_LM_", "logits"),
        _task(
            "sequence-classification",
            "AutoModelForSequenceClassification",
            "FOR_SEQUENCE_CLASSIFICATION_",
            "logits",
        ),
        _task("multiple-choice", "AutoModelForMultipleChoice", "FOR_MULTIPLE_CHOICE_", "logits"),
        _task(
            "token-classification", "AutoModelForTokenClassification", "FOR_TOKEN_CLASSIFICATION_", "logits"
        ),
        _task(
            "question-answering",
            "AutoModelForQuestionAnswering",
            "FOR_QUESTION_ANSWERING_",
            "start_logits",
            "end_logits",
        ),
        _task(
            "image-classification", "AutoModelForImageClassification", "FOR_IMAGE_CLASSIFICATION_", "logits"
        ),
        _task(
            "object-detection", "AutoModelForObjectDetection", "FOR_OBJECT_DETECTION_", "logits", "pred_boxes"
        ),
        _task(
            "semantic-segmentation",
            "AutoModelForSemanticSegmentation",
            "FOR_SEMANTIC_SEGMENTATION_",
            "logits",
        ),
        _task("masked-im", "AutoModelForMaskedImageModeling", "FOR_MASKED_IMAGE_MODELING_", "reconstruction"),
        _task("ctc", "AutoModelForCTC", "FOR_CTC_", "logits"),
        _task(
            "audio-classification", "AutoModelForAudioClassification", "FOR_AUDIO_CLASSIFICATION_", "logits"
        ),
        _task(
            "audio-frame-classification",
            "AutoModelForAudioFrameClassification",
            "FOR_AUDIO_FRAME_CLASSIFICATION_",
            "logits",
        ),
        _task("audio-xvector", "AutoModelForAudioXVector", "FOR_AUDIO_XVECTOR_", "logits", "embeddings"),
        TaskSpec(
            "default-with-past", "AutoModel", "MODEL_MAPPING_NAMES", ("last_hidden_state",), with_past=True
        ),
        TaskSpec(
            "causal-lm-with-past",
            "AutoModelForCausalLM",
            "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES",
            ("logits",),
            with_past=True,
        ),
        TaskSpec(
            "seq2seq-lm-with-past",
            "AutoModelForSeq2SeqLM",
            "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES",
            ("logits",),
            with_past=True,
        ),
        # Encoder-decoders whose encoder is not text (frontend/seq2seq.py): audio features or pixels in.
        _task("speech-seq2seq", "AutoModelForSpeechSeq2Seq", "FOR_SPEECH_SEQ_2_SEQ_", "logits"),
        TaskSpec(
            "speech-seq2seq-with-past",
            "AutoModelForSpeechSeq2Seq",
            "MODEL_FOR_SPEECH_SEQ_2_SEQ_MAPPING_NAMES",
            ("logits",),
            with_past=True,
        ),
        _task("image-to-text", "AutoModelForImageTextToText", "FOR_IMAGE_TEXT_TO_TEXT_", "logits"),
        TaskSpec(
            "image-to-text-with-past",
            "AutoModelForImageTextToText",
            "MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES",
            ("logits",),
            with_past=True,
        ),
        # Three models: vision encoder, text embedding, decoder (frontend/vision_language.py).
        TaskSpec(
            "image-text-to-text-with-past",
            "AutoModelForImageTextToText",
            "MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES",
            ("logits",),
            with_past=True,
        ),
    )
}

ENCODER_DECODER_TASKS = frozenset({"speech-seq2seq", "image-to-text"})
"""Tasks that apply to encoder-decoders only (the image-text-to-text mapping also lists
decoder-only vision-language models)."""
ENCODER_DECODER_PAST = frozenset(
    {"seq2seq-lm-with-past", "speech-seq2seq-with-past", "image-to-text-with-past"}
)
"""The with-past tasks exported as an encoder and decoders with the cache (frontend/seq2seq.py)."""
IMAGE_TEXT_TASK = "image-text-to-text-with-past"

VISION_TASKS = frozenset({"image-classification", "object-detection", "semantic-segmentation", "masked-im"})

OVERRIDES: dict[str, ModelSpec] = {
    spec.model_type: spec
    for spec in (
        # DETR's config names no image size (its convolutional backbone takes any); the default
        # of 224 would make every trace and validation run 12 times the pixels of 64, which still
        # leaves the stride-32 backbone a 2x2 feature map.
        ModelSpec("detr", image_size=64),
        # PerceiverModel has no preprocessor in its config: only its heads bring one (text
        # embeddings, image patches). The bare model's `inputs` are therefore embeddings.
        ModelSpec("perceiver", embedded_inputs=True),
        # Whisper's encoder refuses features of any length but max_source_positions times its
        # convolutions' strides (1 x 2): the feature extractor pads every clip to 30 s.
        ModelSpec("whisper", frames_per_position=2),
        # Speech2Text's feature extractor puts the frames before the bins (its encoder transposes).
        ModelSpec("speech_to_text", frames_first=True),
        # Canary and Cohere ASR encode with a Parakeet encoder, whose feature extractor does the same.
        ModelSpec("canary", frames_first=True),
        ModelSpec("cohere_asr", frames_first=True),
        ModelSpec(
            "aimv2",
            eager_reference="Aimv2's text tower is causal, but transformers' SDPA path drops the causal "
            "mask when the attention mask is all ones; eager attention (and the artifact) keep it",
        ),
    )
}
"""Per-type overrides, each with the reason it exists. Nothing here admits a type."""


def get_model(model_type: str) -> ModelSpec:
    """`model_type`'s overrides; a plain ModelSpec (no override) for most types."""
    return OVERRIDES.get(model_type) or ModelSpec(model_type)


def _why_not(model_type: str, name: str, config: Any) -> str | None:
    """Why irc cannot export `model_type` for task `name`, or None when it can try."""
    spec = TASKS[name]
    head = head_class(model_type, spec.mapping)
    if head is None:
        return f"transformers has no {name} head for {model_type} ({spec.mapping} lists none)"
    if name in ENCODER_DECODER_TASKS and not getattr(config, "is_encoder_decoder", False):
        from irc.frontend.audio_features import why_not_speech_llm

        return why_not_speech_llm(head, name) or (
            f"{model_type} is not an encoder-decoder, and {name} exports an encoder-decoder"
        )
    if name == IMAGE_TEXT_TASK or splits_vision_language(name, config, head):
        return _why_no_image_text(model_type, head, config)
    if spec.with_past:
        why = _why_no_past(model_type, name, head, config)
        if why:
            return why
    try:
        model_inputs(model_type, name, config, head)
    except TaskError as exc:
        return str(exc).rstrip(".")
    return None


def _why_no_past(model_type: str, name: str, head: Any, config: Any) -> str | None:
    encoder_decoder = bool(getattr(config, "is_encoder_decoder", False))
    if name in ENCODER_DECODER_PAST and not encoder_decoder:
        return (
            f"{model_type} is not an encoder-decoder (its config's is_encoder_decoder is false), and "
            f"{name} exports an encoder and a decoder with its cache"
        )
    if name not in ENCODER_DECODER_PAST and encoder_decoder:
        return (
            f"{model_type} is an encoder-decoder: its cache belongs to its decoder, which irc exports "
            "with seq2seq-lm-with-past"
        )
    if not takes_cache(head):
        return (
            f"{head.__name__}.forward takes no transformers Cache (no {' or '.join(CACHE_KEYWORDS)} argument "
            "of one), so "
            "there is no cache for irc to export"
        )
    return None


VLM_BASE_TASKS = frozenset({"default", "default-with-past"})
"""The bare model of a vision-language type is exported as its generation head is, in three models
(frontend/vision_language.py), its decoder returning `last_hidden_state` instead of `logits`."""


def splits_vision_language(task: str, config: Any, head: Any) -> bool:
    """Whether `task` of `head` is the three-model vision-language export: the generation task,
    or a bare model that takes pixels placed as features at image tokens of `input_ids`."""
    if task == IMAGE_TEXT_TASK:
        return True
    if task not in VLM_BASE_TASKS or getattr(config, "is_encoder_decoder", False) or not image_tokens(config):
        return False
    return {"input_ids", "pixel_values", "inputs_embeds"} <= set(parameters(head))


def _why_no_image_text(model_type: str, head: Any, config: Any) -> str | None:
    if getattr(config, "is_encoder_decoder", False):
        return f"{model_type} is an encoder-decoder; {IMAGE_TEXT_TASK} exports decoder-only vision-language models"
    if not image_tokens(config):
        return (
            f"{model_type}'s config names no image_token_id, so its images are not features placed at "
            "image tokens of the prompt"
        )
    accepted = parameters(head)
    if not takes_cache(head) or "inputs_embeds" not in accepted or "pixel_values" not in accepted:
        return f"{head.__name__}.forward does not take pixel_values, inputs_embeds and a cache"
    return None


def _config(model_type: str, config: Any) -> Any:
    return default_config(model_type) if config is None else config


def supported_tasks(model_type: str, config: Any = None) -> list[str]:
    """The tasks irc can export for `model_type` (its config: the class defaults when None), in
    the order of `TASKS`: those with a head in transformers whose inputs irc can make, and the
    with-past ones where that head takes a cache."""
    config = _config(model_type, config)
    return [name for name in TASKS if _why_not(model_type, name, config) is None]


def get_task(task: str, model_type: str, config: Any = None) -> TaskSpec:
    """The spec of `task` for `model_type`, at the wider of the task's and the architecture's
    atol; a TaskError says why irc cannot export it and lists what it can instead."""
    config = _config(model_type, config)
    if task not in TASKS:
        raise TaskError(f"unknown task {task!r}. {_listing(model_type, config)}")
    why = _why_not(model_type, task, config)
    if why:
        raise TaskError(f"irc cannot export {model_type} for {task}: {why}. {_listing(model_type, config)}")
    spec = TASKS[task]
    model = get_model(model_type)
    # ModelSpec.atol is where an architecture documents a wider tolerance; validation reads the
    # task spec's, so the wider of the two has to be carried over here.
    return replace(spec, atol=model.atol) if model.atol > spec.atol else spec


def _listing(model_type: str, config: Any) -> str:
    names = supported_tasks(model_type, config)
    other = other_tasks(model_type)
    later = f" transformers also has {', '.join(other)} heads for it, not irc tasks yet." if other else ""
    if not names:
        return f"irc exports no task for {model_type}.{later}"
    return f"Tasks for {model_type}: {', '.join(names)}.{later}"


def task_outputs(model_type: str, task: str) -> tuple[str, ...]:
    return TASKS[task].outputs


def detect_task(model_type: str, architectures: list[str] | None, config: Any = None) -> str:
    """The task whose head is the checkpoint's `architectures[0]`; `default` when none matches.
    A head of a task irc does not export yet is refused rather than exported as the bare model."""
    config = _config(model_type, config)
    if not architectures:
        return "default"
    for name in supported_tasks(model_type, config):
        if architectures[0] in head_names(model_type, TASKS[name].mapping):
            return name
    for mapping_name, other in OTHER_TASKS.items():
        if architectures[0] in head_names(model_type, mapping_name):
            raise TaskError(
                f"{architectures[0]} is a {other} head, and {other} is not an irc task yet. Pass --task "
                f"to export another head of the checkpoint. {_listing(model_type, config)}"
            )
    return "default"


def model_inputs(model_type: str, task: str, config: Any = None, head: Any = None) -> tuple[InputSpec, ...]:
    """The inputs of `model_type` for `task`, read off the head's `forward` signature (`head`: the
    class of a loaded model; the auto mapping's otherwise) and the config."""
    config = _config(model_type, config)
    if head is None:
        if task not in TASKS or head_class(model_type, TASKS[task].mapping) is None:
            get_task(task, model_type, config)  # raises, saying why
        head = head_class(model_type, TASKS[task].mapping)
    # Whether the task applies (a cache...) is get_task's question, asked where the task is
    # resolved; here only the inputs are.
    from irc.frontend.inputs import inputs_of

    return inputs_of(model_type, task, config, head)


def image_tokens(config: Any) -> bool:
    return any(getattr(config, key, None) is not None for key in ("image_token_id", "image_token_index"))
