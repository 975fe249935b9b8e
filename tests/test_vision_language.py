"""`image-text-to-text-with-past`: vision encoder, text embedding and decoder with its cache,
each validated at shapes other than the traced one, and greedy generation through them with
the merge rule matching `model.generate(pixel_values=..., input_ids=...)` token for token."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import onnxruntime as ort
import pytest
import torch

import irc
from irc.frontend.tasks import detect_task, supported_tasks
from irc.frontend.vision_language import COMPONENTS, DECODER, EMBED, VISION
from tests.models import greedy_model
from tests.test_docs import run_blocks

ROOT = Path(__file__).resolve().parent.parent
TASK = "image-text-to-text-with-past"
FAMILIES = ["llava", "idefics3", "smolvlm", "gemma3", "paligemma", "qwen2_vl"]
"""tests/models.py's tiny vision-language configs: text hidden size 32, vocab 99, images 32x32."""
FAST = {"llava", "idefics3", "gemma3", "qwen2_vl"}
ATOL = 1e-3


def tiny_vlm(model_type: str) -> Any:
    return greedy_model(model_type, TASK)


def _params() -> list[Any]:
    return [t if t in FAST else pytest.param(t, marks=pytest.mark.slow) for t in FAMILIES]


@pytest.mark.parametrize("model_type", _params())
def test_components_validate_and_generate(model_type: str, tmp_path: Path) -> None:
    model = tiny_vlm(model_type)
    result = irc.export(model, task=TASK, output=tmp_path / "out", atol=ATOL)
    report = result.report
    assert report.passed, report.format()
    assert {c.component for c in report.cases} == set(COMPONENTS)
    # Every component at sizes other than the traced ones (batch 2, sequence 8, past 5).
    for case in report.cases:
        assert case.sizes.get("batch", 1) != 2 or not case.sizes
        if case.component == DECODER:
            assert case.sizes["sequence"] != 8
    pasts = {c.sizes["past_sequence"] for c in report.cases if "past_sequence" in c.sizes}
    assert pasts >= {0, 1}
    generation = report.generation
    assert generation, generation.format()
    assert generation.compared >= 20 and generation.distinct >= 5, generation.format()
    assert generation.via == f"{VISION}, {EMBED}, {DECODER}"
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == sorted(
        [f"{c}.onnx" for c in COMPONENTS] + ["irc.json", "config.json", "generation_config.json"]
    )


def test_names_and_dims(tmp_path: Path) -> None:
    model = tiny_vlm("llava")
    result = irc.export(model, task=TASK, output=tmp_path / "out", atol=ATOL)
    files = result.artifacts
    vision = ort.InferenceSession(str(files[VISION]), providers=["CPUExecutionProvider"])
    assert [(i.name, i.shape) for i in vision.get_inputs()] == [("pixel_values", ["batch", 3, 32, 32])]
    assert [(o.name, o.shape) for o in vision.get_outputs()] == [("image_features", ["16 * batch", 32])]
    embed = ort.InferenceSession(str(files[EMBED]), providers=["CPUExecutionProvider"])
    assert [i.name for i in embed.get_inputs()] == ["input_ids"]
    assert [o.name for o in embed.get_outputs()] == ["inputs_embeds"]
    decoder = ort.InferenceSession(str(files[DECODER]), providers=["CPUExecutionProvider"])
    inputs = {i.name: i.shape for i in decoder.get_inputs()}
    layers = model.config.text_config.num_hidden_layers
    past = [f"past_key_values.{i}.{k}" for i in range(layers) for k in ("key", "value")]
    assert list(inputs) == ["inputs_embeds", "attention_mask", "position_ids", *past]
    assert inputs["inputs_embeds"] == ["batch", "sequence", 32]
    assert inputs["attention_mask"] == ["batch", "past_sequence + sequence"]
    assert inputs["past_key_values.0.key"] == ["batch", 2, "past_sequence", 8]
    outputs = [o.name for o in decoder.get_outputs()]
    assert outputs == ["logits", *[n.replace("past_key_values", "present") for n in past]]
    manifest = json.loads((tmp_path / "out" / "irc.json").read_text())
    assert list(manifest["components"]) == list(COMPONENTS)
    assert manifest["validation"]["generation"]["passed"]


def test_family_inputs(tmp_path: Path) -> None:
    """idefics3 takes its pixel mask; gemma3's decoder takes the token types that mark images."""
    from irc.frontend.loading import load
    from irc.frontend.vision_language import components

    idefics = {c.name: [s.name for s in c.inputs] for c in components(load(tiny_vlm("idefics3"), TASK))}
    assert idefics[VISION] == ["pixel_values", "pixel_attention_mask"]
    qwen = {c.name: c.inputs for c in components(load(tiny_vlm("qwen2_vl"), TASK))}
    assert [(s.name, s.axes) for s in qwen[VISION]] == [("pixel_values", (16, 96))]  # a 4x4 grid
    assert [s.axes for s in qwen[DECODER] if s.name == "position_ids"] == [(4, "batch", "sequence")]
    for model_type in ("gemma3", "paligemma"):
        gemma = {c.name: [s.name for s in c.inputs] for c in components(load(tiny_vlm(model_type), TASK))}
        assert gemma[DECODER][:4] == ["inputs_embeds", "attention_mask", "position_ids", "token_type_ids"]


def test_a_broken_merge_fails_the_generation_check() -> None:
    """The check must see the image: decoding with the image features left out of the prompt
    gives other tokens than generate()."""
    from irc.frontend.traced import trace_components
    from irc.validate import vlm_generation

    parts = trace_components(tiny_vlm("llava"), TASK)
    runners = {p.component: p.reference for p in parts}
    want = vlm_generation.expected_generation(parts)
    assert vlm_generation.check_generation(parts, runners, ATOL, want)

    def no_image(image: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"image_features": torch.zeros_like(runners[VISION](image)["image_features"])}

    broken = vlm_generation.check_generation(parts, {**runners, VISION: no_image}, ATOL, want)
    assert not broken, broken.format()


def test_torchscript_components(tmp_path: Path) -> None:
    model = tiny_vlm("llava")
    result = irc.export(model, task=TASK, output=tmp_path / "out", backend="torchscript", atol=ATOL)
    assert result.report.passed, result.report.format()
    assert result.report.generation and result.report.generation.distinct >= 5
    assert sorted(p.name for p in result.artifacts.values()) == sorted(f"{c}.pt" for c in COMPONENTS)


def test_neuron_refuses_with_past(tmp_path: Path) -> None:
    with pytest.raises(
        irc.IrcError, match="with-past tasks are not supported on the neuron backend"
    ) as caught:
        irc.export(tiny_vlm("llava"), task=TASK, output=tmp_path / "out", backend="neuron")
    assert "--component" not in str(caught.value) and "--backend onnx" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_tasks_and_detection() -> None:
    for model_type in FAMILIES:
        config = tiny_vlm(model_type).config
        assert TASK in supported_tasks(model_type, config)
        architectures = [type(tiny_vlm(model_type)).__name__]
        assert detect_task(model_type, architectures, config) == TASK
    # A text-only decoder has no image tokens: not this task.
    assert TASK not in supported_tasks("llama")


def test_cli_detects_the_task_and_copies_processor_files(tmp_path: Path) -> None:
    checkpoint = tmp_path / "tiny-llava"
    tiny_vlm("llava").save_pretrained(checkpoint)
    processor = {"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 32}, "crop_size": 32}
    (checkpoint / "preprocessor_config.json").write_text(json.dumps(processor))
    (checkpoint / "chat_template.jinja").write_text("{% for m in messages %}{{ m['content'] }}{% endfor %}")
    run = subprocess.run(
        [sys.executable, "-m", "irc.cli", "tasks", "--model", str(checkpoint)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0 and TASK in run.stdout, run.stdout + run.stderr
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "irc.cli", "export", "--model", str(checkpoint), "--atol", "1e-3", str(out)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    manifest = json.loads((out / "irc.json").read_text())
    assert manifest["task"] == TASK
    assert {"preprocessor_config.json", "chat_template.jinja"} <= set(manifest["client_files"]["copied"])
    assert (out / "preprocessor_config.json").is_file()


def _readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Vision-language models", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```python\n(.*?)^```$", section, re.S | re.M)


def test_readme_vision_language_section_runs(tmp_path: Path) -> None:
    blocks = _readme_blocks()
    assert len(blocks) >= 2, "README's vision-language section lost its code blocks"
    run = run_blocks(blocks, tmp_path)
    assert "generate() agrees" in run.stdout, run.stdout
