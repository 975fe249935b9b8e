"""Tracing help from irc/frontend/export_modes.py: a config's export switch on only while tracing,
and the model's source line named when torch.export stops in it."""

from __future__ import annotations

import transformers

from irc.frontend.export_modes import export_friendly, raised_at


def test_onnx_export_switch_is_on_only_while_tracing() -> None:
    config = transformers.LongformerConfig()
    with export_friendly(config):
        assert config.onnx_export is True
    assert config.onnx_export is False
    bert = transformers.BertConfig()
    with export_friendly(bert):  # no such switch: nothing is added
        assert not hasattr(bert, "onnx_export")


def test_the_models_line_is_named_and_torchs_own_is_not() -> None:
    caused = "Could not guard on data-dependent expression Eq(u0, 1)\nCaused by: (transformers/models/x/modeling_x.py:549 in forward)"
    assert raised_at(Exception(caused)) == " (at modeling_x.py:549 in forward)"
    call = 'The following call raised this error:\n  File "/site-packages/transformers/models/x/modeling_x.py", line 7, in f\n'
    assert raised_at(Exception(call)) == " (at modeling_x.py:7 in f)"
    assert raised_at(Exception("Caused by: (_refs/__init__.py:452 in _broadcast_shapes)")) == ""
