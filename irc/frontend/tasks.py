"""Task specs: the "features" table of the Transformers export guide, and the model types irc knows.

A task names the head to load (`AutoModelForMaskedLM`...) and the outputs the artifact returns.
A model type (`ModelSpec`) says which modality it takes and where it differs from the defaults
(tolerance, image size). The inputs of a (model type, task) pair follow from the head's
`forward` signature and the modality: BERT takes `token_type_ids`, RoBERTa (one token type) does
not; encoder-decoders take `decoder_input_ids` for `default` and `seq2seq-lm`; `multiple-choice`
adds a `num_choices` axis. The tasks a model type supports are those for which Transformers has
a head (its auto mappings).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, replace
from typing import Any

from irc.errors import TaskError


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
    """What irc knows of a model type beyond what its config and signature say."""

    model_type: str
    modality: str = "text"
    """`text`, `vision` (pixel_values only), or `text+vision` (both, as CLIP and LayoutLMv3)."""
    atol: float = 1e-4
    atol_reason: str = ""
    """Why the tolerance differs from 1e-4, shown in docs/coverage.md."""
    image_size: int | None = None
    """Image side to export with when the config names none (DETR's backbone takes any size)."""
    outputs: tuple[str, ...] = ()
    """Outputs of the `default` task when they differ from the task's (CLIP's embeddings)."""
    tasks: tuple[str, ...] = ()
    """When set, the only tasks irc exports for this type (Perceiver's bare model needs a
    preprocessor that its checkpoint does not name)."""


def _task(name: str, auto: str, mapping: str, *outputs: str) -> TaskSpec:
    return TaskSpec(name, auto, f"MODEL_{mapping}MAPPING_NAMES", outputs)


TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        _task("default", "AutoModel", "", "last_hidden_state", "pooler_output"),
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
    )
}

_VISION = "vision"
VISION_TASKS = frozenset({"image-classification", "object-detection", "semantic-segmentation", "masked-im"})
_CLIP_OUTPUTS = ("logits_per_image", "logits_per_text", "text_embeds", "image_embeds")

MODELS: dict[str, ModelSpec] = {
    spec.model_type: spec
    for spec in (
        # The export guide's architectures.
        ModelSpec("albert"),
        ModelSpec("bart"),
        ModelSpec("beit", _VISION),
        ModelSpec("bert"),
        ModelSpec("big_bird"),
        ModelSpec("bigbird_pegasus"),
        ModelSpec("blenderbot"),
        ModelSpec("blenderbot-small"),
        ModelSpec("bloom"),
        ModelSpec("camembert"),
        ModelSpec("clip", "text+vision", outputs=_CLIP_OUTPUTS),
        ModelSpec("codegen"),
        ModelSpec("convbert"),
        ModelSpec("convnext", _VISION),
        ModelSpec("convnextv2", _VISION),
        ModelSpec("data2vec-text"),
        ModelSpec("data2vec-vision", _VISION),
        ModelSpec("deberta"),
        ModelSpec("deberta-v2"),
        ModelSpec("deit", _VISION),
        ModelSpec("detr", _VISION, image_size=64),
        ModelSpec("distilbert"),
        ModelSpec("electra"),
        ModelSpec("flaubert"),
        ModelSpec("gpt_neo"),
        ModelSpec("gptj"),
        ModelSpec("gpt2"),
        ModelSpec("ibert"),
        ModelSpec("layoutlm"),
        ModelSpec("layoutlmv3", "text+vision"),
        ModelSpec("levit", _VISION),
        ModelSpec("longt5"),
        ModelSpec("m2m_100"),
        ModelSpec("marian"),
        ModelSpec("mbart"),
        ModelSpec("mobilebert"),
        ModelSpec("mobilevit", _VISION),
        ModelSpec("mt5"),
        ModelSpec("perceiver", tasks=("masked-lm", "image-classification")),
        ModelSpec("plbart"),
        ModelSpec("resnet", _VISION),
        ModelSpec("roberta"),
        ModelSpec("roformer"),
        ModelSpec("squeezebert"),
        ModelSpec("t5"),
        ModelSpec("vit", _VISION),
        ModelSpec("xlm"),
        ModelSpec("xlm-roberta"),
        ModelSpec("xlm-roberta-xl"),
        ModelSpec("yolos", _VISION),
        # Today's decoder-only families.
        ModelSpec("llama"),
        ModelSpec("mistral"),
        ModelSpec("qwen2"),
        ModelSpec("phi3"),
        ModelSpec("gemma"),
        ModelSpec("gpt_neox"),
        ModelSpec("opt"),
        ModelSpec("falcon"),
    )
}
"""Model types by transformers `model_type`; a model type absent here has no spec yet."""


DECODERS = frozenset(
    {
        "gpt2",
        "gpt_neo",
        "gptj",
        "codegen",
        "bloom",
        "llama",
        "mistral",
        "qwen2",
        "phi3",
        "gemma",
        "gpt_neox",
        "opt",
        "falcon",
    }
)
"""Decoder-only model types whose cache irc exports (`-with-past` tasks)."""

ENCODER_DECODERS = frozenset(
    {
        "t5",
        "mt5",
        "longt5",
        "bart",
        "mbart",
        "marian",
        "m2m_100",
        "blenderbot",
        "blenderbot-small",
        "plbart",
        "bigbird_pegasus",
    }
)
"""Encoder-decoder model types whose cache irc exports (`seq2seq-lm-with-past`, as an encoder
and decoder models: irc/frontend/seq2seq.py)."""


def _has_past(model_type: str, task: str) -> bool:
    if task == "seq2seq-lm-with-past":
        return model_type in ENCODER_DECODERS
    return model_type in DECODERS


def _head_class(model_type: str, task: TaskSpec) -> str | None:
    """The transformers class name of `model_type`'s head for `task`, or None when it has none."""
    from transformers.models.auto import modeling_auto

    names = getattr(modeling_auto, task.mapping).get(model_type)
    if isinstance(names, (list, tuple)):
        return names[0] if names else None
    return names


def supported_tasks(model_type: str) -> list[str]:
    """The tasks irc can export for `model_type`, in the order of `TASKS`."""
    model = MODELS.get(model_type)
    if model is None:
        return []
    return [
        name
        for name, spec in TASKS.items()
        if _head_class(model_type, spec) is not None
        and (not model.tasks or name in model.tasks)
        and (not spec.with_past or _has_past(model_type, name))
    ]


def get_model(model_type: str) -> ModelSpec:
    spec = MODELS.get(model_type)
    if spec is None:
        raise TaskError(
            f"irc has no task spec for model type {model_type!r}. Supported model types: "
            f"{', '.join(sorted(MODELS))}."
        )
    return spec


def get_task(task: str, model_type: str) -> TaskSpec:
    """The spec of `task` for `model_type`, at the wider of the task's and the architecture's
    atol; a TaskError lists what is supported instead."""
    model = get_model(model_type)
    if task not in TASKS:
        raise TaskError(
            f"unknown task {task!r}. Tasks for {model_type}: {', '.join(supported_tasks(model_type))}."
        )
    if task not in supported_tasks(model_type):
        raise TaskError(
            f"{model_type} has no {task} head in transformers. Tasks for {model_type}: "
            f"{', '.join(supported_tasks(model_type))}."
        )
    spec = TASKS[task]
    # ModelSpec.atol is where an architecture documents a wider tolerance; validation reads the
    # task spec's, so the wider of the two has to be carried over here.
    return replace(spec, atol=model.atol) if model.atol > spec.atol else spec


def task_outputs(model_type: str, task: str) -> tuple[str, ...]:
    model = get_model(model_type)
    if task == "default" and model.outputs:
        return model.outputs
    return get_task(task, model_type).outputs


def detect_task(model_type: str, architectures: list[str] | None) -> str:
    """The task whose head is the checkpoint's `architectures[0]`; `default` when none matches."""
    get_model(model_type)
    if not architectures:
        return "default"
    from transformers.models.auto import modeling_auto

    for name in supported_tasks(model_type):
        heads = getattr(modeling_auto, TASKS[name].mapping).get(model_type)
        heads = heads if isinstance(heads, (list, tuple)) else (heads,)
        if architectures[0] in heads:
            return name
    return "default"


def model_inputs(model_type: str, task: str, config: Any = None) -> tuple[InputSpec, ...]:
    """The inputs of `model_type` for `task`, read off the head's `forward` signature."""
    import transformers

    model = get_model(model_type)
    head = getattr(transformers, _head_class(model_type, get_task(task, model_type)) or "")
    if config is None:
        config = transformers.AutoConfig.for_model(model_type)
    accepted = set(inspect.signature(head.forward).parameters)
    modality = _VISION if task in VISION_TASKS else model.modality
    specs: list[InputSpec] = []
    if "text" in modality:
        specs.extend(_text_inputs(accepted, task, config))
    if _VISION in modality:
        specs.extend(_vision_inputs(model, accepted, config))
    return tuple(specs)


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
    if "token_type_ids" in accepted and int(getattr(config, "type_vocab_size", 0) or 0) > 1:
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
