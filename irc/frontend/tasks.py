"""Task specs: the "features" table of the Transformers export guide, and what a model type is.

A task names the head to load (`AutoModelForMaskedLM`...) and the outputs the artifact returns.
irc keeps no list of model types: the tasks of a type are those for which transformers has a head
(its auto mappings) whose inputs irc can make; the inputs follow from the head's `forward`
signature and the config (BERT takes `token_type_ids`, RoBERTa with one token type does not;
a head that takes `pixel_values` of an image the config describes gets pixels; encoder-decoders
take `decoder_input_ids` for `default` and `seq2seq-lm`; `multiple-choice` adds a `num_choices`
axis). The with-past tasks apply where the head takes a cache: `causal-lm-with-past` and
`default-with-past` for a model that is not an encoder-decoder, `seq2seq-lm-with-past` for one that
is. `ModelSpec` holds the few real per-type overrides (`OVERRIDES`), each with its reason.
"""

from __future__ import annotations

import re
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
    required,
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
    `bbox` (boxes x0 <= x1, y0 <= y1 in 0..1000), `position` (from the mask, as generate() does)
    or `float` (pixels)."""
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
    if name == IMAGE_TEXT_TASK:
        return _why_no_image_text(model_type, head, config)
    if spec.with_past:
        why = _why_no_past(model_type, name, head, config)
        if why:
            return why
    try:
        _inputs_of(model_type, name, config, head)
    except TaskError as exc:
        return str(exc).rstrip(".")
    return None


def _why_no_past(model_type: str, name: str, head: Any, config: Any) -> str | None:
    encoder_decoder = bool(getattr(config, "is_encoder_decoder", False))
    if name == "seq2seq-lm-with-past" and not encoder_decoder:
        return (
            f"{model_type} is not an encoder-decoder (its config's is_encoder_decoder is false), and "
            "seq2seq-lm-with-past exports an encoder and a decoder with its cache"
        )
    if name != "seq2seq-lm-with-past" and encoder_decoder:
        return (
            f"{model_type} is an encoder-decoder: its cache belongs to its decoder, which irc exports "
            "with seq2seq-lm-with-past"
        )
    if not takes_cache(head):
        return (
            f"{head.__name__}.forward takes no cache (no {' or '.join(CACHE_KEYWORDS)} argument), so "
            "there is no cache for irc to export"
        )
    return None


def _why_no_image_text(model_type: str, head: Any, config: Any) -> str | None:
    if getattr(config, "is_encoder_decoder", False):
        return f"{model_type} is an encoder-decoder; {IMAGE_TEXT_TASK} exports decoder-only vision-language models"
    if not _image_tokens(config):
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
    return _inputs_of(model_type, task, config, head)


_MADE = (
    "input_ids",
    "inputs",
    "attention_mask",
    "token_type_ids",
    "bbox",
    "decoder_input_ids",
    "pixel_values",
)
"""The forward arguments irc makes inputs for (a cache is added by cache.py / seq2seq.py)."""
_CONTROLS = re.compile(r"^(output_|return_|use_|labels|.*_labels$|.*_embeds$|.*head_mask$|.*position_ids$)")
"""Arguments that are not data inputs (switches, training labels, alternatives to ids)."""


def _inputs_of(model_type: str, task: str, config: Any, head: Any) -> tuple[InputSpec, ...]:
    if task == IMAGE_TEXT_TASK:  # its components' inputs are vision_language.py's
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
    if text and pixels and _image_tokens(config):
        raise TaskError(
            f"{head.__name__} takes images as features placed at image tokens in input_ids "
            f"(image-text-to-text): irc exports such a model's generation head with {IMAGE_TEXT_TASK}, as "
            "three models"
        )
    specs: list[InputSpec] = []
    if text:
        specs.extend(_text_inputs(accepted, task, config))
    if pixels:
        specs.extend(_vision_inputs(get_model(model_type), accepted, config))
    return specs


def _describes_images(config: Any) -> bool:
    return any(
        getattr(config, key, None) is not None for key in ("vision_config", "image_size", "input_size")
    )


def _image_tokens(config: Any) -> bool:
    return any(getattr(config, key, None) is not None for key in ("image_token_id", "image_token_index"))


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
    vision = getattr(config, "vision_config", None) or config
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
