"""`irc tasks` and task detection from a checkpoint's `architectures`."""

from __future__ import annotations

from pathlib import Path

import pytest

from irc.cli.main import main
from tests.models import TINY_CONFIGS, tiny_checkpoint


@pytest.mark.parametrize(
    ("model_type", "task"),
    [
        ("bert", "masked-lm"),
        ("gpt2", "causal-lm"),
        ("t5", "seq2seq-lm"),
        ("vit", "image-classification"),
        ("distilbert", "question-answering"),
    ],
)
def test_tasks_lists_and_marks_the_checkpoints_own_head(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], model_type: str, task: str
) -> None:
    ckpt = tiny_checkpoint(tmp_path / "ckpt", model_type, task)
    assert main(["tasks", "--model", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert f"model type: {model_type}" in out
    assert f"task irc exports without --task: {task}" in out
    assert any(line.startswith(f"* {task} ") for line in out.splitlines())


def test_multiple_choice_has_a_num_choices_axis(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = tiny_checkpoint(tmp_path / "ckpt", "bert")
    main(["tasks", "--model", str(ckpt)])
    out = capsys.readouterr().out
    assert "input_ids[batch, num_choices, sequence]" in out


def test_export_without_task_uses_the_checkpoints_head(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    ckpt = tiny_checkpoint(tmp_path / "ckpt", "bert", "token-classification")
    assert main(["export", "--model", str(ckpt), str(tmp_path / "out")]) == 0
    assert json.loads((tmp_path / "out" / "irc.json").read_text())["task"] == "token-classification"


def _head_task(model_type: str) -> str:
    from irc.frontend.tasks import supported_tasks

    tasks = [t for t in supported_tasks(model_type) if not t.endswith("-with-past")]
    return next((t for t in tasks if t != "default"), tasks[0])


@pytest.mark.parametrize("model_type", sorted(TINY_CONFIGS))
def test_every_model_type_lists_tasks_and_detects_its_head(model_type: str, tmp_path: Path) -> None:
    from irc.api import list_tasks

    task = _head_task(model_type)
    ckpt = tiny_checkpoint(tmp_path / "ckpt", model_type, task)
    listing = list_tasks(ckpt)
    assert listing.model_type == model_type
    assert listing.detected == task, (listing.architecture, task)
    assert task in [t.name for t in listing.tasks]
    assert all(t.inputs and t.outputs for t in listing.tasks)


def test_a_type_outside_the_test_configs_lists_and_exports_without_task(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No list admits a type: a Qwen3 checkpoint (not among tests/models.py's configs) is read
    off its heads and signature, listed, and exported as its own head."""
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.tiny_configs import tiny_model as any_tiny_model

    any_tiny_model("qwen3", "causal-lm").save_pretrained(tmp_path / "ckpt")
    assert main(["tasks", "--model", str(tmp_path / "ckpt")]) == 0
    out = capsys.readouterr().out
    assert "task irc exports without --task: causal-lm" in out
    assert any(line.startswith("  causal-lm-with-past ") for line in out.splitlines())
    assert main(["export", "--model", str(tmp_path / "ckpt"), str(tmp_path / "out")]) == 0
    assert json.loads((tmp_path / "out" / "irc.json").read_text())["task"] == "causal-lm"


@pytest.mark.parametrize(
    ("model_type", "task", "needles"),
    [
        # BART has a causal-lm head that takes a cache; its config is an encoder-decoder's.
        ("bart", "causal-lm-with-past", ("bart is an encoder-decoder", "seq2seq-lm-with-past")),
        ("t5", "causal-lm-with-past", ("transformers has no causal-lm-with-past head for t5",)),
        # A head that takes pixels at image tokens, other than the three-model split's tasks.
        ("gemma3", "causal-lm", ("no such split for causal-lm", "image-text-to-text-with-past")),
        # input_features whose layout irc cannot read: the mapped extractor returns raw audio.
        ("wav2vec2-bert", "default", ("takes input_features", "it returns input_values")),
        ("parakeet_tdt", "default", ("transducer", "decoder_cache", "cannot make an input")),
        # A speech LLM's text alone: the audio split irc lacks.
        ("voxtral", "default", ("audio tokens", "lacks the audio encoder component")),
        ("granite_speech", "speech-seq2seq", ("audio tokens", "lacks the audio encoder component")),
        ("clip", "default-with-past", ("CLIPModel.forward takes no transformers Cache",)),
        ("xlm", "default-with-past", ("XLMModel.forward takes no transformers Cache",)),
    ],
)
def test_refusals_say_what_irc_lacks(model_type: str, task: str, needles: tuple[str, ...]) -> None:
    from irc.errors import TaskError
    from irc.frontend.tasks import get_task

    with pytest.raises(TaskError) as caught:
        get_task(task, model_type)
    assert all(n in str(caught.value) for n in needles), str(caught.value)


def test_perceiver_exports_every_head_it_has() -> None:
    # Its bare model takes embedded inputs (no preprocessor); its classifier brings a text one.
    from irc.frontend.tasks import model_inputs, supported_tasks

    assert {"default", "masked-lm", "sequence-classification", "image-classification"} <= set(
        supported_tasks("perceiver")
    )
    (embedded,) = model_inputs("perceiver", "default")
    assert embedded.name == "inputs" and embedded.kind == "float"


def test_multimodal_lm_heads_irc_exports_are_not_listed_as_missing() -> None:
    from irc.frontend.heads import other_tasks

    assert "multimodal-lm" not in other_tasks("llava")  # the same class as its image-text-to-text head
    assert "multimodal-lm" in other_tasks("qwen2_audio")  # audio features at audio tokens
