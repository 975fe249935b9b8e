from __future__ import annotations

import math

import torch

from irc.validate import compare_outputs, validate, validation_sizes


def test_sizes_differ_from_traced_on_every_dim() -> None:
    for traced in ({"batch": 2, "sequence": 8}, {"batch": 1, "sequence": 1}, {"batch": 4, "sequence": 128}):
        cases = validation_sizes(traced)
        assert len(cases) >= 2
        for case in cases:
            assert all(case[k] != traced[k] and case[k] >= 1 for k in traced)


def test_within_atol_passes_and_beyond_fails() -> None:
    ref = {"logits": torch.zeros(2, 3)}
    close = compare_outputs(ref, {"logits": torch.full((2, 3), 5e-5)}, 1e-4)
    far = compare_outputs(ref, {"logits": torch.full((2, 3), 2e-4)}, 1e-4)
    assert close[0] and close[0].max_abs_diff == torch.tensor(5e-5).item()
    assert not far[0] and far[0].shape_ok


def test_shape_mismatch_missing_output_and_one_sided_nan_fail() -> None:
    ref = {"a": torch.zeros(2, 3), "b": torch.zeros(2), "c": torch.zeros(2)}
    out = {"a": torch.zeros(3, 2), "c": torch.tensor([0.0, math.nan])}
    a, b, c = compare_outputs(ref, out, 1e-4)
    assert not a and not a.shape_ok
    assert not b and b.actual_shape is None
    assert not c and math.isinf(c.max_abs_diff)


def test_nan_on_both_sides_agrees() -> None:
    ref = {"x": torch.tensor([math.nan, 1.0])}
    assert compare_outputs(ref, {"x": torch.tensor([math.nan, 1.0])}, 1e-4)[0]


def test_report_reads_like_the_guide_log() -> None:
    def reference(inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"last_hidden_state": inputs["x"] * 2}

    def broken(inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"last_hidden_state": inputs["x"] * 2 + (inputs["x"].shape[0] == 5)}

    def make(sizes: dict[str, int], seed: int) -> dict[str, torch.Tensor]:
        return {"x": torch.ones(sizes["batch"], sizes["sequence"])}

    report = validate(reference, broken, make, validation_sizes({"batch": 2, "sequence": 8}), 1e-4, "onnx")
    text = report.format()
    assert not report
    assert "-[✓] ONNX model output names match reference model (last_hidden_state)" in text
    assert '- Validating ONNX Model output "last_hidden_state":' in text
    assert "-[✓] (1, 3) matches (1, 3)" in text
    assert "-[✓] all values close (atol: 0.0001" in text
    assert "-[x] values not close enough" in text
    assert text.splitlines()[-1].startswith("Validation FAILED")


def test_generation_compares_tokens_up_to_eos_and_step_logits() -> None:
    import torch

    from irc.validate.generate import GenerationResult

    expected = torch.tensor([[5, 6, 2, 1], [7, 7, 7, 7]])
    logits = torch.randn(2, 4, 10) * 10
    same = GenerationResult(expected, expected.clone(), (2,), "", logits, logits + 1e-5, 1e-4)
    assert same and same.compared == 7 and "step logits" in same.format()
    # After a row's end-of-sequence token generate() pads; the artifact's tokens there are free.
    after_eos = expected.clone()
    after_eos[0, 3] = 9
    assert GenerationResult(expected, after_eos, (2,), "", logits, logits, 1e-4)
    wrong_token = expected.clone()
    wrong_token[1, 2] = 8
    result = GenerationResult(expected, wrong_token, (2,), "", logits, logits, 1e-4)
    assert not result and result.first_difference() == 2
    # Same argmax, logits off by far more than float32 drift: a broken cache that repeats the
    # same token still fails.
    drifted = logits.clone()
    drifted[1, 1] += 0.5
    result = GenerationResult(expected, expected.clone(), (2,), "", logits, drifted, 1e-4)
    assert not result and "largest logit" in result.format()
