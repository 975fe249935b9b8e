"""The generic shrink of benchmarks/tiny_configs.py: each rule on the real transformers config
(and, where the rule is about a forward pass, the real tiny model's forward) of a type that needs it."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from benchmarks.tiny_configs import TinyConfigError, shrink, tiny_config, tiny_model


def _forward(model_type: str, task: str = "default") -> object:
    model = tiny_model(model_type, task)
    with torch.no_grad():
        return model(input_ids=torch.tensor([[3, 5, 7]]), use_cache=True)


def test_a_derived_head_size_follows_the_shrunk_width() -> None:
    # XLNet validates d_head == d_model // n_head; d_head must shrink with them.
    config = tiny_config("xlnet")
    assert config.d_head == config.d_model // config.n_head


def test_defaults_that_fail_their_own_validators_are_read_and_the_pinned_fields_set() -> None:
    # Gemma 4 assistant's default text config keeps per-layer inputs its validator pins to 0.
    config = tiny_config("gemma4_assistant")
    assert config.text_config.hidden_size_per_layer_input == 0
    assert config.text_config.vocab_size_per_layer_input == 0


def test_a_validator_pin_is_set_wherever_the_field_is() -> None:
    from benchmarks.tiny_configs import _repair

    values = {"text_config": {"model_type": "x", "enable_moe_block": True}, "width": 3}
    assert _repair(values, ValueError("enable_moe_block must be False, got True"))
    assert values["text_config"]["enable_moe_block"] is False
    # Nothing to change, or a message naming no pinned value: not repairable.
    assert not _repair(values, ValueError("enable_moe_block must be False, got True"))
    assert not _repair(values, ValueError("hidden_size must be divisible by num_heads"))


def test_a_layer_count_that_was_the_whole_stack_stays_the_whole_stack() -> None:
    # Every layer of the assistant reuses the cache; a part of the stack sharing drops to none.
    whole = shrink({"num_hidden_layers": 30, "num_kv_shared_layers": 30})
    part = shrink({"num_hidden_layers": 35, "num_kv_shared_layers": 15})
    assert whole["num_kv_shared_layers"] == whole["num_hidden_layers"] == 2
    assert part["num_kv_shared_layers"] == 0
    tiny_model("gemma4_unified_assistant", "causal-lm")


def test_experts_with_no_top_k_get_one() -> None:
    # DeepSeek-V2's default leaves num_experts_per_tok None: topk(k=None) fails in its router.
    assert tiny_config("deepseek_v2").num_experts_per_tok == 2
    _forward("deepseek_v2")


def test_expert_groups_by_any_name_shrink_with_the_experts() -> None:
    # Bailing hybrid's num_expert_group (8) over 4 experts gave a zero group width.
    config = tiny_config("bailing_hybrid")
    assert config.num_experts % config.num_expert_group == 0
    _forward("bailing_hybrid")


@pytest.mark.parametrize("model_type", ["qwen2_vl_text", "glm4v_text"])
def test_rope_sections_the_modeling_file_defaults_to_are_made_explicit(model_type: str) -> None:
    config = tiny_config(model_type)
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    assert sum(config.rope_parameters["mrope_section"]) == head_dim // 2
    _forward(model_type)


def test_a_type_whose_defaults_do_not_build_says_so() -> None:
    # FastVLM's vision tower is timm's (TimmWrapperModel): PyPI's torchvision for torch 2.13 is
    # the CUDA build, which does not load beside the CPU torch, so timm is not installable here.
    if importlib.util.find_spec("timm") is not None:
        pytest.skip("with timm installed FastVLM may build")
    with pytest.raises(TinyConfigError, match="so does transformers' unshrunk default config"):
        tiny_model("fast_vlm", "default")


@pytest.mark.parametrize(
    ("model_type", "field"),
    [
        ("esm", "vocab_size"),  # each ESM checkpoint has its own alphabet; the default none
        ("dots1", "n_routed_experts"),  # an MoE config with no expert count
        ("chameleon", "vocabulary_map"),  # token names to ids, from the tokenizer
    ],
)
def test_fields_the_defaults_leave_unset_are_filled(model_type: str, field: str) -> None:
    from transformers import AutoConfig

    assert getattr(AutoConfig.for_model(model_type), field) is None
    assert getattr(tiny_config(model_type), field) is not None
    task = "masked-lm" if model_type == "esm" else "default"
    model = tiny_model(model_type, task)
    with torch.no_grad():
        model(input_ids=torch.tensor([[3, 5, 7]]))


def test_one_mlp_kind_per_layer_and_an_indexer_are_filled() -> None:
    # DeepSeek-OCR2's text stack: first layer dense, the rest sparse (as its checkpoints);
    # Qwen4-Exp's attention always builds its QSA indexer, whose sizes default to None.
    assert tiny_config("deepseek_ocr2").text_config.mlp_layer_types == ["dense", "sparse"]
    text = tiny_config("qwen4_exp").text_config
    assert text.indexer_kv_heads == 1 and text.indexer_budget % text.indexer_compress_ratio == 0
    _forward("qwen4_exp", "causal-lm")


def test_a_sub_config_attribute_the_model_reads_is_copied_from_the_parent() -> None:
    # DBRX's attention reads attn_config.rope_theta, which transformers moved to rope_parameters.
    model = tiny_model("dbrx", "causal-lm")
    assert model.config.attn_config.rope_theta == model.config.rope_parameters["rope_theta"]
    _forward("dbrx", "causal-lm")


def test_per_layer_overrides_follow_the_kept_layers_and_shrink() -> None:
    # Dots3's sliding layers override heads and MLA sizes (head_dim = nope + rope there); the
    # vision adapter's output width is the text width.
    config = tiny_config("dots3_note")
    text = config.text_config
    assert text.layer_types == ["indexed_attention", "sliding_attention"]
    sliding = text.per_layer_config["sliding_attention"]
    assert sliding.head_dim == sliding.qk_nope_head_dim + sliding.qk_rope_head_dim
    assert config.vision_config.adapter_out_dim == text.hidden_size
    _forward("dots3_note", "causal-lm")


def test_a_sum_of_shrunk_head_parts_is_re_derived() -> None:
    # LongCat-Flash's qk_head_dim is qk_nope_head_dim + qk_rope_head_dim (MLA).
    config = tiny_config("longcat_flash")
    assert config.qk_head_dim == config.qk_nope_head_dim + config.qk_rope_head_dim
    _forward("longcat_flash")


def test_widths_times_a_dim_factor_stay_multiples_of_64() -> None:
    # xLSTM's config rounds hidden_size * qk_dim_factor up to 64, its modeling code does not.
    config = tiny_config("xlstm")
    assert config.embedding_dim == config.hidden_size
    assert (config.hidden_size * config.qk_dim_factor) % 64 == 0
    _forward("xlstm", "causal-lm")


def test_a_negative_position_limit_is_no_limit() -> None:
    # XLNet's max_position_embeddings is -1: relative positions, any length.
    from irc.frontend.limits import check_sequence_length

    config = tiny_config("xlnet")
    assert config.max_position_embeddings < 0
    check_sequence_length(config, "xlnet", 8, lambda n: [{"sequence": n + 3}])


def test_a_model_with_per_language_adapters_gets_a_default_language() -> None:
    config = tiny_config("xmod")
    assert config.default_language == config.languages[0]
    model = tiny_model("xmod", "token-classification")
    with torch.no_grad():
        model(input_ids=torch.tensor([[3, 5, 7]]))
