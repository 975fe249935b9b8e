"""Loading a model for a task: from a local checkpoint folder or an in-memory nn.Module.

No network: folders load with `local_files_only=True`, and weights only from safetensors or with
`weights_only=True` (so a pickled .bin file cannot run code). No code from the checkpoint runs
either: a config whose `auto_map` points at Python files in the folder is refused unless the
caller passes `trust_remote_code=True` (`--trust-remote-code`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from irc.errors import ModelLoadError, TaskError
from irc.frontend.config_fields import read_field
from irc.frontend.heads import reads_pad_token
from irc.frontend.tasks import InputSpec, TaskSpec, detect_task, get_task, model_inputs


@dataclass
class LoadedModel:
    """A model in eval mode with what the rest of the frontend needs to know about it."""

    module: Any
    config: Any
    model_type: str
    task: TaskSpec
    source: str
    """The folder it came from, or `<module ClassName>`."""
    inputs: tuple[InputSpec, ...] = ()
    """The inputs the artifact takes, in order."""
    detected: bool = False
    """True when the task was read off the checkpoint's `architectures` rather than given."""


def quiet_transformers() -> None:
    # Tiny test configs trip transformers' config warnings (token ids above the vocab size...),
    # which say nothing about the export.
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


def read_config(path: Path) -> dict[str, Any]:
    config_file = path / "config.json"
    if not path.exists():
        raise ModelLoadError(
            f"model path {path} does not exist; pass a checkpoint folder with a config.json."
        )
    if not path.is_dir():
        raise ModelLoadError(
            f"model path {path} is not a folder; pass a checkpoint folder with a config.json."
        )
    if not config_file.is_file():
        raise ModelLoadError(
            f"{path} has no config.json; pass a transformers checkpoint folder (save_pretrained writes one)."
        )
    try:
        config = json.loads(config_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"{config_file} is not valid JSON ({exc}); re-save the checkpoint.") from exc
    if not isinstance(config, dict) or "model_type" not in config:
        raise ModelLoadError(
            f"{config_file} names no model_type; re-save the checkpoint with save_pretrained."
        )
    return config


def check_remote_code(raw: dict[str, Any], folder: Path, trust_remote_code: bool) -> None:
    """Refuse a checkpoint that ships its own model code unless the user trusts it.

    transformers would otherwise prompt on stdin (no flag), or quietly use its own classes for a
    model type it knows and so build a different model than the checkpoint's author wrote.
    """
    auto_map = raw.get("auto_map")
    if not auto_map or trust_remote_code:
        return
    targets = sorted({str(v) for v in auto_map.values()}) if isinstance(auto_map, dict) else [str(auto_map)]
    raise ModelLoadError(
        f"{folder / 'config.json'} maps its model classes to code in the checkpoint (auto_map: "
        f"{', '.join(targets)}); irc runs no code from a checkpoint by default. Read that code and, "
        "if you trust it, pass --trust-remote-code (trust_remote_code=True in Python)."
    )


def resolve_task(
    model_type: str, task: str | None, architectures: list[str] | None, config: Any = None
) -> tuple[TaskSpec, bool]:
    """The task spec to export: `task` when given, else the one the checkpoint's head implies
    (`config`: the model's, or the config class defaults of `model_type` when None)."""
    detected = task is None
    name = detect_task(model_type, architectures, config) if task is None else task
    return get_task(name, model_type, config), detected


def load_from_folder(path: str | Path, task: str | None, trust_remote_code: bool = False) -> LoadedModel:
    import transformers

    quiet_transformers()
    folder = Path(path)
    raw = read_config(folder)
    check_remote_code(raw, folder, trust_remote_code)
    model_type = raw["model_type"]
    spec, detected = resolve_task(model_type, task, raw.get("architectures"))
    auto = getattr(transformers, spec.auto_class)
    try:
        module = auto.from_pretrained(
            folder, local_files_only=True, trust_remote_code=trust_remote_code, weights_only=True
        )
    except Exception as exc:
        if "ignore_mismatched_sizes" in str(exc):  # transformers' report went to its silenced log
            from irc.frontend.limits import weights_error

            config = transformers.AutoConfig.from_pretrained(
                folder, local_files_only=True, trust_remote_code=trust_remote_code
            )
            raise weights_error(folder, auto, config) from exc
        error = _load_error(exc, folder, spec.auto_class)
        if error is exc:
            raise
        raise error from exc
    module.eval()
    inputs = _inputs(module, model_type, spec)
    return LoadedModel(module, module.config, model_type, spec, str(folder), inputs, detected)


def _load_error(exc: Exception, folder: Path, auto_class: str) -> Exception:
    """The IrcError for a checkpoint that transformers cannot load; an exception of another type
    is returned as it is, to be re-raised with its traceback (a bug)."""
    import pickle

    from safetensors import SafetensorError

    detail = " ".join(str(exc).split())
    if isinstance(exc, SafetensorError):
        return ModelLoadError(
            f"a safetensors file in {folder} cannot be read ({detail}); it is truncated or corrupt: "
            "copy or save the checkpoint again."
        )
    if isinstance(exc, pickle.UnpicklingError):
        # torch's message is a page of advice (including weights_only=False); keep its one fact.
        found = re.search(r"unsupported GLOBAL \S+", detail)
        what = found.group().strip() if found else "it is not a plain state dict"
        return ModelLoadError(
            f"a .bin weight file in {folder} holds Python objects besides tensors ({what}); irc "
            "loads .bin files with weights_only=True and never unpickles code. Convert the "
            "checkpoint to safetensors (save_pretrained) where you trust its origin."
        )
    if isinstance(exc, (OSError, ValueError, RuntimeError, KeyError, EOFError)):
        return ModelLoadError(f"cannot load {auto_class} from {folder}: {detail}")
    return exc


def load_from_module(module: Any, task: str | None) -> LoadedModel:
    config = getattr(module, "config", None)
    model_type = getattr(config, "model_type", None)
    if model_type is None:
        raise TaskError(
            f"{type(module).__name__} has no transformers config with a model_type; irc's task specs "
            "need one (pass a transformers PreTrainedModel)."
        )
    architectures = [type(module).__name__]
    spec, detected = resolve_task(model_type, task, architectures, config)
    module.eval()
    inputs = _inputs(module, model_type, spec)
    return LoadedModel(
        module, config, model_type, spec, f"<module {type(module).__name__}>", inputs, detected
    )


def _check_head(module: Any, config: Any, model_type: str, spec: TaskSpec) -> None:
    # A decoder's classification head reads each row's last non-pad token; without a pad id it
    # refuses batches above 1 deep inside its forward, which would read as a tracing failure.
    if (
        spec.name == "sequence-classification"
        and read_field(config, "pad_token_id") is None
        and reads_pad_token(type(module))
    ):
        raise TaskError(
            f"{model_type}'s config has no pad_token_id, which its sequence-classification head "
            "needs to find each row's last token in a batch. Set pad_token_id in config.json (to "
            "the tokenizer's pad id, or its eos_token_id if it has none) and export again."
        )


def _inputs(module: Any, model_type: str, spec: TaskSpec) -> tuple[InputSpec, ...]:
    _check_head(module, module.config, model_type, spec)
    inputs = model_inputs(model_type, spec.name, module.config, type(module))
    # An encoder-decoder's cache belongs to its decoder components (frontend/seq2seq.py), so
    # its `inputs` stay the encoder's.
    if spec.with_past and not getattr(module.config, "is_encoder_decoder", False):
        from irc.frontend.cache import past_inputs

        inputs += past_inputs(module)
    return inputs


def load(model: Any, task: str | None, trust_remote_code: bool = False) -> LoadedModel:
    """Load `model` (a folder path or an nn.Module) for `task` (None: read off the checkpoint);
    `trust_remote_code` lets a checkpoint's own Python code (its config's `auto_map`) run."""
    if isinstance(model, (str, Path)):
        return load_from_folder(model, task, trust_remote_code)
    return load_from_module(model, task)
