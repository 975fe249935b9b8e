"""Registry failure groups fixed generically (issue 15): speech configs whose mel bins live in the
encoder's sub-config, multi-codebook audio decoders refused by what they need, and tiny-config
widths that other fields must follow."""

from __future__ import annotations

import pytest
import transformers

from benchmarks.tiny_configs import shrink, tiny_config, tiny_model
from irc.errors import TaskError
from irc.frontend.speech import mel_bins
from irc.frontend.unsupported import UnsupportedFeature, refuse_unsupported


def test_mel_bins_from_the_encoder_sub_config() -> None:
    config = transformers.CanaryConfig()
    assert getattr(config, "num_mel_bins", None) is None
    assert mel_bins(config) == config.encoder_config.num_mel_bins == 128
    assert mel_bins(transformers.WhisperConfig(num_mel_bins=80)) == 80


def test_mel_bins_missing_everywhere_is_refused() -> None:
    config = transformers.BertConfig()
    with pytest.raises(TaskError, match="names no num_mel_bins.*nor does its encoder_config"):
        mel_bins(config)


def test_codebook_decoder_is_refused_with_what_it_needs() -> None:
    with pytest.raises(UnsupportedFeature, match=r"num_channels: 9.*\(batch x 9, sequence\)"):
        refuse_unsupported(transformers.DiaConfig(), "dia")
    refuse_unsupported(transformers.BartConfig(), "bart")  # a text decoder passes


def test_widths_under_other_names_follow_the_width() -> None:
    config = tiny_config("deberta-v2")
    assert config.pooler_hidden_size == config.hidden_size == 32
    detr = tiny_config("rt_detr")
    assert detr.encoder_hidden_dim == detr.d_model
    assert detr.decoder_in_channels == [detr.d_model] * 3


def test_a_field_that_was_not_the_width_stays() -> None:
    out = shrink({"hidden_size": 768, "pooler_hidden_size": 1024, "head_dim": 768, "codebook_dim": 768})
    assert out["pooler_hidden_size"] == 1024
    assert out["codebook_dim"] == 32
    assert out["head_dim"] == 8  # a head size, shrunk by its own rule


def test_stage_channel_backbone_keeps_feature_widths() -> None:
    config = tiny_config("hgnet_v2")
    assert config.hidden_sizes[1:] == config.stage_out_channels[1:]


def test_decoder_reading_the_encoders_mask_is_refused_with_past() -> None:
    """Canary's decoder reads the subsampled attention mask its encoder returns, which irc's
    with-past decoders do not take: refused by name, not an AttributeError from the model."""
    from irc.errors import TraceError
    from irc.frontend.traced import trace_components

    model = tiny_model("canary", "speech-seq2seq-with-past")
    with pytest.raises(TraceError, match=r"Canary.*reads more of the encoder's output.*without -with-past"):
        trace_components(model, "speech-seq2seq-with-past")


def test_per_class_lists_left_unset_get_one_entry_per_label() -> None:
    config = tiny_config("pp_doclayout_v2")
    labels = len(config.id2label)
    assert config.class_thresholds == [0.5] * labels
    assert config.class_order == list(range(labels))
