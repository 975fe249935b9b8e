"""Task specs: the "features" table of the Transformers export guide.

A task names the head to load (`AutoModelForMaskedLM`...), the inputs the artifact takes with
their named axes, the outputs it returns, and the tolerance the validator holds it to. Model
types declare which inputs they take (BERT has `token_type_ids`, DistilBERT and GPT-2 do not);
the tasks a model type supports are those for which it has both an input spec here and a head in
Transformers.
"""

from __future__ import annotations

from dataclasses import dataclass

from irc.errors import TaskError


@dataclass(frozen=True)
class InputSpec:
    """One model input: its name, its axes (names are dynamic dims, ints are fixed sizes) and the
    kind of data the dummy and validation inputs hold."""

    name: str
    axes: tuple[str | int, ...]
    kind: str
    """`ids` (token ids below the vocab size), `mask` (1 = attend, 0 = padding) or `type_ids`."""
    dtype: str = "int64"


@dataclass(frozen=True)
class TaskSpec:
    """A task ("feature"): its head, inputs and outputs."""

    name: str
    auto_class: str
    """The transformers Auto class that loads this head."""
    outputs: tuple[str, ...]
    """Output names in artifact order; a name the model does not return is left out."""
    atol: float = 1e-4


TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec("default", "AutoModel", ("last_hidden_state", "pooler_output")),
        TaskSpec("masked-lm", "AutoModelForMaskedLM", ("logits",)),
        TaskSpec("causal-lm", "AutoModelForCausalLM", ("logits",)),
        TaskSpec("sequence-classification", "AutoModelForSequenceClassification", ("logits",)),
        TaskSpec("token-classification", "AutoModelForTokenClassification", ("logits",)),
        TaskSpec("question-answering", "AutoModelForQuestionAnswering", ("start_logits", "end_logits")),
    )
}

_IDS = InputSpec("input_ids", ("batch", "sequence"), "ids")
_MASK = InputSpec("attention_mask", ("batch", "sequence"), "mask")
_TYPES = InputSpec("token_type_ids", ("batch", "sequence"), "type_ids")

MODEL_INPUTS: dict[str, tuple[InputSpec, ...]] = {
    "bert": (_IDS, _MASK, _TYPES),
    "roberta": (_IDS, _MASK),
    "distilbert": (_IDS, _MASK),
    "gpt2": (_IDS, _MASK),
}
"""Inputs by transformers `model_type`; a model type absent here has no spec yet."""

# transformers' auto mappings, by Auto class, say which model types have which head.
_MAPPING_NAMES = {
    "AutoModel": "MODEL_MAPPING_NAMES",
    "AutoModelForMaskedLM": "MODEL_FOR_MASKED_LM_MAPPING_NAMES",
    "AutoModelForCausalLM": "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES",
    "AutoModelForSequenceClassification": "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES",
    "AutoModelForTokenClassification": "MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES",
    "AutoModelForQuestionAnswering": "MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES",
}


def _has_head(model_type: str, auto_class: str) -> bool:
    from transformers.models.auto import modeling_auto

    return model_type in getattr(modeling_auto, _MAPPING_NAMES[auto_class])


def supported_tasks(model_type: str) -> list[str]:
    """The tasks irc can export for `model_type`, in the order of `TASKS`."""
    if model_type not in MODEL_INPUTS:
        return []
    return [name for name, spec in TASKS.items() if _has_head(model_type, spec.auto_class)]


def get_task(task: str, model_type: str) -> TaskSpec:
    """The spec of `task` for `model_type`; a TaskError lists what is supported instead."""
    if model_type not in MODEL_INPUTS:
        raise TaskError(
            f"irc has no task spec for model type {model_type!r}. Supported model types: "
            f"{', '.join(sorted(MODEL_INPUTS))}."
        )
    if task not in TASKS:
        raise TaskError(
            f"unknown task {task!r}. Tasks for {model_type}: {', '.join(supported_tasks(model_type))}."
        )
    if not _has_head(model_type, TASKS[task].auto_class):
        raise TaskError(
            f"{model_type} has no {task} head in transformers. Tasks for {model_type}: "
            f"{', '.join(supported_tasks(model_type))}."
        )
    return TASKS[task]


def model_inputs(model_type: str, task: str) -> tuple[InputSpec, ...]:
    """The inputs of `model_type` for `task`, checking both first."""
    get_task(task, model_type)
    return MODEL_INPUTS[model_type]
