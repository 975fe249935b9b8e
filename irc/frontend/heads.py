"""What transformers says about a model type: its heads (the auto mappings), and what a head's
`forward` takes. No list of model types: a type is what its mappings and signatures say it is."""

from __future__ import annotations

import inspect
from typing import Any

from irc.errors import TaskError

OTHER_TASKS: dict[str, str] = {
    "MODEL_FOR_TEXT_TO_SPECTROGRAM_MAPPING_NAMES": "text-to-spectrogram",
    "MODEL_FOR_TEXT_TO_WAVEFORM_MAPPING_NAMES": "text-to-waveform",
    "MODEL_FOR_MULTIMODAL_LM_MAPPING_NAMES": "multimodal-lm",
    "MODEL_FOR_VISUAL_QUESTION_ANSWERING_MAPPING_NAMES": "visual-question-answering",
}
"""Auto mappings of tasks irc does not export yet, by the name `irc tasks` and refusals give them.
The multimodal LM mapping also lists the vision-language heads of the image-text-to-text mapping:
those are irc's image-text-to-text-with-past, so only its other heads (speech and omni LMs that
take audio features at audio tokens) count here."""

_IMAGE_TEXT_MAPPING = "MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES"

CACHE_KEYWORDS = ("cache", "past_key_values")
"""The keywords a forward takes its key/value cache under (5.24 accepts both; see cache.py)."""


def mapping(name: str) -> dict[str, Any]:
    from transformers.models.auto import modeling_auto

    return getattr(modeling_auto, name)


def head_names(model_type: str, mapping_name: str) -> tuple[str, ...]:
    """The transformers class names the mapping lists for `model_type` (several for DeiT)."""
    names = mapping(mapping_name).get(model_type)
    if names is None:
        return ()
    return tuple(names) if isinstance(names, (list, tuple)) else (names,)


def head_class(model_type: str, mapping_name: str) -> Any:
    """The first head class of the mapping for `model_type`, or None when it has none (or the
    installed transformers cannot import it)."""
    import transformers

    for name in head_names(model_type, mapping_name):
        cls = getattr(transformers, name, None)
        if cls is not None:
            return cls
    return None


def parameters(cls: Any) -> dict[str, inspect.Parameter]:
    """The named parameters of `cls.forward` (without self, *args and **kwargs)."""
    try:
        signature = inspect.signature(cls.forward)
    except ImportError as exc:  # transformers' stand-in for a class whose library is missing
        detail = " ".join(str(exc).split()).split(". Please")[0]
        raise TaskError(f"{detail}; install it to export {cls.__name__}.") from exc
    plain = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {n: p for n, p in signature.parameters.items() if n != "self" and p.kind in plain}


def required(cls: Any) -> list[str]:
    """Parameters of `cls.forward` without a default: inputs the model cannot run without."""
    return [n for n, p in parameters(cls).items() if p.default is inspect.Parameter.empty]


def takes_cache(cls: Any) -> bool:
    """Whether `cls.forward` takes a transformers `Cache`. XLM and Flaubert take a `cache` too, but a
    dict of tensors of their own, which they never return: no cache for irc to export."""
    params = parameters(cls)
    return any(k in params and not _tensor_dict(params[k]) for k in CACHE_KEYWORDS)


def _tensor_dict(param: inspect.Parameter) -> bool:
    text = str(param.annotation)
    return text.startswith("dict") and "Cache" not in text


def other_tasks(model_type: str) -> list[str]:
    """The tasks outside irc's for which transformers has a head of `model_type`."""
    image_text = head_names(model_type, _IMAGE_TEXT_MAPPING)
    found = [
        task
        for name, task in OTHER_TASKS.items()
        if head_names(model_type, name) and head_names(model_type, name) != image_text
    ]
    return list(dict.fromkeys(found))


def known_type(model_type: str) -> bool:
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    return model_type in CONFIG_MAPPING_NAMES


def default_config(model_type: str) -> Any:
    """The config class defaults of `model_type`; a TaskError for a type transformers lacks."""
    import transformers

    if not known_type(model_type):
        raise TaskError(
            f"transformers {transformers.__version__} has no model type {model_type!r}; irc reads a "
            "model type's inputs and heads from transformers. Check config.json's model_type, "
            "upgrade transformers, or pass the model as an nn.Module (Python API)."
        )
    return transformers.AutoConfig.for_model(model_type)


def reads_pad_token(cls: Any) -> bool:
    """True when the head's forward reads `pad_token_id` (a decoder's classifier finds each row's
    last token with it)."""
    try:
        source = inspect.getsource(cls.forward)
    except (OSError, TypeError):
        return False
    return "pad_token_id" in source
