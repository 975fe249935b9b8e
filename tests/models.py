"""Tiny random transformers models for tests: built from configs, never from a hub."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

_ENC = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    vocab_size=99,
    max_position_embeddings=64,
)
_ROBERTA = dict(_ENC, pad_token_id=1, max_position_embeddings=72)
_SEQ2SEQ = dict(
    d_model=32,
    encoder_layers=2,
    decoder_layers=2,
    encoder_attention_heads=4,
    decoder_attention_heads=4,
    encoder_ffn_dim=37,
    decoder_ffn_dim=37,
    vocab_size=99,
    max_position_embeddings=64,
    pad_token_id=1,
    bos_token_id=0,
    eos_token_id=2,
    decoder_start_token_id=2,
)
_T5 = dict(
    d_model=32,
    d_kv=8,
    d_ff=37,
    num_layers=2,
    num_decoder_layers=2,
    num_heads=4,
    vocab_size=99,
    decoder_start_token_id=0,
    pad_token_id=0,
    eos_token_id=1,
)
_DECODER = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    intermediate_size=37,
    vocab_size=99,
    max_position_embeddings=64,
    pad_token_id=0,
    bos_token_id=0,
    eos_token_id=0,
)
_VIT = dict(
    image_size=32,
    patch_size=8,
    num_channels=3,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
)
_SPEECH = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    vocab_size=32,
    # A 3-layer conv feature extractor of stride 20 (real checkpoints: 7 layers, stride 320), so a
    # 16000-sample trace is 799 frames and validation's lengths give frame counts of both parities.
    conv_dim=(16, 16, 16),
    conv_stride=(5, 2, 2),
    conv_kernel=(10, 3, 3),
    num_conv_pos_embeddings=16,
    num_conv_pos_embedding_groups=4,
    classifier_proj_size=16,
    tdnn_dim=(16, 16, 32),
    tdnn_kernel=(5, 3, 1),
    tdnn_dilation=(1, 2, 1),
    xvector_output_dim=16,
)
_CONVNEXT = dict(num_channels=3, image_size=32, hidden_sizes=[8, 16], depths=[1, 1], num_stages=2)

TINY_CONFIGS: dict[str, dict[str, Any]] = {
    "albert": dict(_ENC, embedding_size=16),
    "bart": _SEQ2SEQ,
    # The segmentation head's feature pyramid takes 4 hidden states, `out_indices` i -> state i - 1;
    # BEiT's config also wants each index to name a layer (0..num_hidden_layers), hence 4 layers.
    "beit": dict(_VIT, use_mask_token=True, num_hidden_layers=4, out_indices=[1, 2, 3, 4]),
    "bert": dict(_ENC, type_vocab_size=2),
    # At 8 tokens BigBird switches itself to full attention inside forward, rebuilding its layers
    # while it is traced; asking for full attention up front keeps the trace a pure function.
    "big_bird": dict(_ENC, attention_type="original_full"),
    "bigbird_pegasus": dict(_SEQ2SEQ, attention_type="original_full"),
    "blenderbot": _SEQ2SEQ,
    "blenderbot-small": _SEQ2SEQ,
    # The sequence-classification head finds each row's last token by its pad id; without one it
    # refuses batches above 1 (real BLOOM checkpoints set pad_token_id=3).
    "bloom": dict(hidden_size=32, n_layer=2, n_head=4, vocab_size=99, pad_token_id=3),
    "camembert": _ROBERTA,
    "clip": dict(
        text_config=dict(
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=37,
            vocab_size=99,
            max_position_embeddings=64,
        ),
        vision_config=dict(_VIT),
        projection_dim=16,
    ),
    "codegen": dict(
        n_embd=32,
        n_layer=2,
        n_head=4,
        rotary_dim=4,
        vocab_size=99,
        n_positions=64,
        n_ctx=64,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
    ),
    "convbert": dict(_ENC, embedding_size=32),
    "convnext": _CONVNEXT,
    "convnextv2": _CONVNEXT,
    "data2vec-text": _ROBERTA,
    # As BEiT, but its config does not check the indices against the layers: 3 layers suffice.
    "data2vec-vision": dict(_VIT, use_mask_token=True, num_hidden_layers=3, out_indices=[1, 2, 3, 4]),
    "deberta": dict(_ENC, type_vocab_size=2),
    "deberta-v2": dict(_ENC, type_vocab_size=2),
    "deit": _VIT,
    "detr": dict(
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=37,
        decoder_ffn_dim=37,
        num_queries=10,
        use_timm_backbone=False,
        use_pretrained_backbone=False,
        backbone=None,
        backbone_config=dict(
            model_type="resnet",
            embedding_size=8,
            hidden_sizes=[8, 16, 16, 16],
            depths=[1, 1, 1, 1],
            out_features=["stage4"],
        ),
    ),
    "distilbert": dict(
        dim=32, n_layers=2, n_heads=4, hidden_dim=37, vocab_size=99, max_position_embeddings=64
    ),
    "electra": dict(_ENC, embedding_size=16, type_vocab_size=2),
    "flaubert": dict(emb_dim=32, n_layers=2, n_heads=4, vocab_size=99, max_position_embeddings=64),
    "gpt_neo": dict(
        hidden_size=32,
        num_layers=2,
        num_heads=4,
        attention_types=[[["global", "local"], 1]],
        window_size=4,
        vocab_size=99,
        max_position_embeddings=64,
        intermediate_size=37,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
    ),
    "gptj": dict(
        n_embd=32,
        n_layer=2,
        n_head=4,
        rotary_dim=4,
        vocab_size=99,
        n_positions=64,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
    ),
    "gpt2": dict(
        n_embd=32,
        n_layer=2,
        n_head=4,
        vocab_size=99,
        n_positions=64,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
    ),
    "ibert": _ROBERTA,
    "layoutlm": dict(_ENC, max_2d_position_embeddings=1024, type_vocab_size=2),
    "layoutlmv3": dict(
        _ENC,
        max_2d_position_embeddings=1024,
        coordinate_size=6,
        shape_size=4,
        pad_token_id=1,
        max_position_embeddings=72,
        input_size=32,
        patch_size=8,
    ),
    "levit": dict(
        image_size=32,
        num_channels=3,
        patch_size=16,
        hidden_sizes=[16, 32],
        num_attention_heads=[2, 4],
        depths=[1, 1],
        key_dim=[8, 8],
        mlp_ratio=[2, 2],
        attention_ratio=[2, 2],
        down_ops=[["Subsample", 8, 2, 4, 2, 2]],
    ),
    "longt5": dict(_T5, local_radius=2, global_block_size=4),
    "m2m_100": _SEQ2SEQ,
    "marian": dict(_SEQ2SEQ, decoder_vocab_size=99),
    "mbart": _SEQ2SEQ,
    "mobilebert": dict(
        _ENC,
        embedding_size=16,
        true_hidden_size=16,
        intra_bottleneck_size=16,
        num_feedforward_networks=2,
        type_vocab_size=2,
    ),
    "mobilevit": dict(
        image_size=32,
        num_channels=3,
        patch_size=2,
        hidden_sizes=[16, 24, 32],
        neck_hidden_sizes=[8, 8, 16, 16, 24, 24, 32],
        num_attention_heads=4,
        conv_kernel_size=3,
        expand_ratio=2.0,
    ),
    "mt5": _T5,
    "perceiver": dict(
        d_model=32,
        d_latents=32,
        num_latents=8,
        num_blocks=1,
        num_self_attends_per_block=2,
        num_self_attention_heads=4,
        num_cross_attention_heads=4,
        vocab_size=99,
        max_position_embeddings=11,
        qk_channels=None,
        v_channels=None,
        image_size=16,
    ),
    "plbart": _SEQ2SEQ,
    "resnet": dict(num_channels=3, embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1]),
    "roberta": _ROBERTA,
    "roformer": dict(_ENC, embedding_size=32, type_vocab_size=2),
    "squeezebert": dict(_ENC, embedding_size=32, intermediate_size=64, type_vocab_size=2),
    "t5": _T5,
    "vit": dict(_VIT, encoder_stride=8),
    "xlm": dict(emb_dim=32, n_layers=2, n_heads=4, vocab_size=99, max_position_embeddings=64),
    "xlm-roberta": _ROBERTA,
    "xlm-roberta-xl": _ROBERTA,
    "yolos": dict(_VIT, image_size=[32, 32], num_detection_tokens=4),
    "llama": _DECODER,
    "mistral": dict(_DECODER, sliding_window=None),
    "qwen2": _DECODER,
    "phi3": _DECODER,
    "gemma": dict(_DECODER, head_dim=8),
    "gpt_neox": dict(_DECODER, rotary_pct=0.25),
    "opt": dict(
        hidden_size=32,
        ffn_dim=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        vocab_size=99,
        max_position_embeddings=64,
        word_embed_proj_dim=32,
        pad_token_id=1,
        bos_token_id=2,
        eos_token_id=2,
    ),
    "falcon": dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        vocab_size=99,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
    ),
    # Families the op-coverage work brought in: mixture-of-experts decoders, group norm, pooling.
    # Expert widths are multiples of 4 floats: transformers' eager experts call torch's grouped_mm,
    # which on CPU refuses rows that are not 16-byte aligned ("strides should be multiple of 16 bytes").
    "qwen2_moe": dict(
        _DECODER,
        moe_intermediate_size=16,
        shared_expert_intermediate_size=24,
        num_experts=4,
        num_experts_per_tok=2,
    ),
    "mixtral": dict(_DECODER, intermediate_size=32, num_local_experts=4, num_experts_per_tok=2),
    "olmoe": dict(_DECODER, intermediate_size=32, num_experts=4, num_experts_per_tok=2),
    "qwen3_moe": dict(_DECODER, head_dim=8, moe_intermediate_size=16, num_experts=4, num_experts_per_tok=2),
    "poolformer": dict(
        num_channels=3,
        depths=[1, 1],
        hidden_sizes=[8, 16],
        patch_sizes=[7, 3],
        strides=[4, 2],
        padding=[2, 1],
        num_encoder_blocks=2,
    ),
    "bit": dict(
        embedding_size=8,
        hidden_sizes=[8, 16],
        depths=[1, 1],
        num_groups=4,
        out_features=["stage2"],
        out_indices=[2],
        stage_names=["stem", "stage1", "stage2"],
    ),
    # Speech encoders read raw audio (input_values); the group-norm ones take no attention mask.
    "wav2vec2": _SPEECH,
    "hubert": _SPEECH,
    "wavlm": dict(_SPEECH, num_buckets=16, max_bucket_distance=64),
    "sew": _SPEECH,
    "data2vec-audio": dict(_SPEECH, num_conv_pos_embeddings=5, conv_pos_kernel_size=5),
    "wav2vec2-conformer": _SPEECH,
}
"""Tiny configs by model type: 2 layers, hidden size 32, vocab 99, images 32x32. The keys are the
tests' parametrization (the model types the default suite covers), not a list irc admits types
by: irc exports any type (benchmarks/tiny_configs.py shrinks any other type's config)."""


# Speech2Text and Whisper name their decoder's length max_target_positions.
_SPEECH_SEQ2SEQ = {k: v for k, v in _SEQ2SEQ.items() if k != "max_position_embeddings"} | dict(
    max_target_positions=64
)
_IMAGE_TEXT_IDS = dict(pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2)
# A vision-encoder-decoder's decoder is built as one (from_encoder_decoder_configs sets these).
_CROSS_DECODER = dict(
    vocab_size=99, max_position_embeddings=64, is_decoder=True, add_cross_attention=True, **_IMAGE_TEXT_IDS
)
_VLM_TEXT = dict(_DECODER, max_position_embeddings=256, bos_token_id=1, eos_token_id=2)
IMAGE_TOKEN = 98
"""The image token id of the vision-language configs (the last of their 99 ids)."""

MULTIMODAL_CONFIGS: dict[str, dict[str, Any]] = {
    # 16 encoder positions: Whisper's encoder takes exactly 32 frames (openai/whisper-*: 3000).
    "whisper": dict(
        _SPEECH_SEQ2SEQ,
        num_mel_bins=16,
        max_source_positions=16,
        decoder_start_token_id=3,
        suppress_tokens=None,
        begin_suppress_tokens=None,
    ),
    "speech_to_text": dict(
        _SPEECH_SEQ2SEQ,
        input_feat_per_channel=16,
        num_conv_layers=2,
        conv_channels=32,
        max_source_positions=200,
        decoder_start_token_id=2,
    ),
    # microsoft/trocr-*: ViT encoder, TrOCR decoder of the same width (`+swin-mbart`: Donut's).
    "vision-encoder-decoder": dict(
        encoder=dict(_VIT, model_type="vit"),
        decoder=dict(
            _CROSS_DECODER,
            model_type="trocr",
            d_model=32,
            decoder_layers=2,
            decoder_attention_heads=4,
            decoder_ffn_dim=37,
        ),
        # VisionEncoderDecoderModel reads these off its own config, not its decoder's.
        pad_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
    ),
    # Flattened patches with their mask in, a T5-like text decoder.
    "pix2struct": dict(
        # T5's, less the fields Pix2Struct names otherwise (hidden_size; its decoder is the model).
        text_config={k: v for k, v in _T5.items() if k not in ("d_model", "num_decoder_layers")}
        | dict(hidden_size=32),
        vision_config=dict(
            d_kv=8,
            d_ff=37,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            patch_embed_hidden_size=48,
            seq_len=64,
        ),
    ),
    # CLIP vision tower, 16 patches (its CLS token dropped), a two-layer projector.
    "llava": dict(
        text_config=dict(_VLM_TEXT, model_type="llama"),
        vision_config=dict(_VIT, model_type="clip_vision_model", projection_dim=32),
        image_token_id=IMAGE_TOKEN,
        vision_feature_layer=-1,
    ),
    # Pixel-shuffle connector: 16 patches become 4 image tokens; images come as (batch, images, ...).
    "idefics3": dict(
        text_config=dict(_VLM_TEXT, model_type="llama"), vision_config=_VIT, image_token_id=IMAGE_TOKEN
    ),
    "smolvlm": dict(
        text_config=dict(_VLM_TEXT, model_type="llama"), vision_config=_VIT, image_token_id=IMAGE_TOKEN
    ),
    # SigLIP tower pooled to 4 tokens; image tokens attend to their whole image (token_type_ids).
    # The sliding window is wider than every length here: a sliding layer's cache keeps only its
    # window, which the decoder's `past_sequence + sequence` presents do not express. Untied: with
    # tied embeddings a token's own embedding outweighs the rest and greedy decoding repeats it.
    "gemma3": dict(
        text_config=dict(
            _VLM_TEXT, model_type="gemma3_text", head_dim=8, sliding_window=128, tie_word_embeddings=False
        ),
        tie_word_embeddings=False,
        vision_config=dict(_VIT, model_type="siglip_vision_model"),
        image_token_id=IMAGE_TOKEN,
        mm_tokens_per_image=4,
        boi_token_index=96,
        eoi_token_index=97,
    ),
    # SigLIP tower and a Gemma decoder whose image-and-prompt prefix attends both ways.
    "paligemma": dict(
        text_config=dict(_VLM_TEXT, model_type="gemma", head_dim=8, tie_word_embeddings=False),
        vision_config=dict(_VIT, model_type="siglip_vision_model", projection_dim=32),
        image_token_id=IMAGE_TOKEN,
        projection_dim=32,
        tie_word_embeddings=False,
    ),
    # Patches of a 4x4 grid (merged 2x2 into 4 image tokens) and 3-D rotary positions.
    "qwen2_vl": dict(
        text_config=dict(
            _VLM_TEXT,
            model_type="qwen2_vl_text",
            tie_word_embeddings=False,
            rope_parameters=dict(rope_type="default", mrope_section=[1, 1, 2], rope_theta=10000.0),
        ),
        vision_config=dict(
            depth=2,
            embed_dim=32,
            hidden_size=32,
            num_heads=4,
            patch_size=4,
            spatial_merge_size=2,
            temporal_patch_size=2,
            in_channels=3,
            image_size=16,  # a 4x4 patch grid (irc's default image side is 448 pixels)
        ),
        image_token_id=IMAGE_TOKEN,
        video_token_id=97,
        vision_start_token_id=96,
        vision_end_token_id=95,
        tie_word_embeddings=False,
    ),
}
"""Tiny configs of the models that read audio or images and generate text (text width 32, vocab
99, images 32x32), at transformers' default init: the coverage matrix's cells. Their tests widen
the init (GREEDY_INIT, by greedy_model) so that greedy decoding yields several distinct tokens. Apart
from TINY_CONFIGS because most have no head but the generating one, which the per-type tests of
TINY_CONFIGS (a checkpoint of the first head task) do not expect."""


GREEDY_INIT: dict[str, dict[str, Any]] = {
    "whisper": dict(init_std=0.5),
    "speech_to_text": dict(init_std=2.0),
    "vision-encoder-decoder": dict(decoder=dict(init_std=0.5)),
    "vision-encoder-decoder+swin-mbart": dict(decoder=dict(init_std=0.5)),
    "pix2struct": dict(text_config=dict(initializer_factor=1.0), vision_config=dict(initializer_factor=1.0)),
    "llava": dict(initializer_range=0.5),
    "idefics3": dict(initializer_range=0.5),
    "smolvlm": dict(initializer_range=0.5),
    "gemma3": dict(text_config=dict(initializer_range=0.2)),
    "paligemma": dict(text_config=dict(initializer_range=0.5)),
    "qwen2_vl": dict(text_config=dict(initializer_range=0.5)),
}
"""Wider weights than a checkpoint's, by test type: at transformers' default init greedy decoding
repeats one token, which a broken cache or merge could reproduce; with these it yields several
distinct tokens. They amplify float32 rounding, so the tests that use them compare at 1e-3..2e-3."""
GREEDY_SEEDS = {"gemma3": 1}
"""Seeds whose widened tiny model decodes many distinct tokens (seed 0 elsewhere)."""


def greedy_model(model_type: str, task: str) -> Any:
    """The tiny model of `model_type` with its GREEDY_INIT: several distinct greedy tokens."""
    seed = GREEDY_SEEDS.get(model_type, 0)
    return tiny_model(model_type, task, seed, **GREEDY_INIT.get(model_type, {}))


def types_with(task: str) -> list[str]:
    """The test model types for which the frontend decides `task` applies (a with-past task: the
    head takes a cache), in sorted order."""
    from irc.frontend.tasks import supported_tasks

    return sorted(t for t in TINY_CONFIGS if task in supported_tasks(t, tiny_config(t)))


def encoder_as_decoder(model_type: str) -> bool:
    """True for a type whose causal-lm head is a decoder only with `is_decoder: true` (BERT and
    its kin; their config defaults to an encoder)."""
    return getattr(tiny_config(model_type), "is_decoder", None) is False


VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    # microsoft/deberta-base: relative (disentangled) attention, content-to-position both ways.
    "deberta+relative-attention": (
        "deberta",
        dict(relative_attention=True, pos_att_type=["c2p", "p2c"], max_relative_positions=-1),
    ),
    # microsoft/deberta-v3-base: the same with log-bucketed positions and a shared key projection.
    "deberta-v2+relative-attention": (
        "deberta-v2",
        dict(
            relative_attention=True,
            pos_att_type=["p2c", "c2p"],
            max_relative_positions=-1,
            position_buckets=16,
            norm_rel_ebd="layer_norm",
            share_att_key=True,
            position_biased_input=False,
        ),
    ),
    # google/long-t5-tglobal-base: transient-global attention in the encoder.
    "longt5+transient-global": ("longt5", dict(encoder_attention_type="transient-global")),
    # Mistral-7B-v0.1 slides a window (4096 there; 4 here, so validation runs past it).
    "mistral+sliding-window": ("mistral", dict(sliding_window=4)),
    # Qwen2 checkpoints with use_sliding_window: full attention below max_window_layers.
    "qwen2+sliding-window": ("qwen2", dict(use_sliding_window=True, sliding_window=4, max_window_layers=1)),
    # Llama 3.1: llama3 rotary scaling.
    "llama+rope-scaling": (
        "llama",
        dict(
            rope_parameters=dict(
                rope_type="llama3",
                rope_theta=10000.0,
                factor=8.0,
                low_freq_factor=1.0,
                high_freq_factor=4.0,
                original_max_position_embeddings=16,
            )
        ),
    ),
    # Multi-query attention (Falcon-7B, StarCoder): one key/value head for all query heads.
    "llama+multi-query": ("llama", dict(num_key_value_heads=1)),
    # facebook/wav2vec2-large-960h-lv60-self: layer-norm feature extractor, which takes a mask.
    "wav2vec2+layer-norm": ("wav2vec2", dict(feat_extract_norm="layer", do_stable_layer_norm=True)),
    # naver-clova-ix/donut-*: Swin encoder, MBart decoder of another width (32 -> 48), so the
    # encoder's output goes through the model's enc_to_dec_proj.
    "vision-encoder-decoder+swin-mbart": (
        "vision-encoder-decoder",
        dict(
            encoder=dict(
                model_type="swin",
                image_size=32,
                patch_size=4,
                embed_dim=16,
                depths=[1, 1],
                num_heads=[2, 2],
                window_size=4,
            ),
            decoder=dict(
                _CROSS_DECODER,
                model_type="mbart",
                d_model=48,
                decoder_layers=2,
                encoder_layers=2,
                decoder_attention_heads=4,
                encoder_attention_heads=4,
                decoder_ffn_dim=37,
                encoder_ffn_dim=37,
            ),
        ),
    ),
    # Untied input and output embeddings (GPT-2 ties them by default; many fine-tunes do not).
    "gpt2+untied": ("gpt2", dict(tie_word_embeddings=False)),
}
"""Test cells configured as real checkpoints of a type are, where the type has several attention
variants or options the config class leaves off: `type+variant` -> (model type, config)."""


def base_type(name: str) -> str:
    """The model type of a test type name (a variant's base type, else the name itself)."""
    return VARIANTS[name][0] if name in VARIANTS else name


def tiny_config(model_type: str, **overrides: Any) -> Any:
    """The tiny config of a model type or of a variant (`deberta+relative-attention`). An override
    that is a dict updates a sub-config (`text_config=dict(initializer_range=0.5)`)."""
    from transformers import AutoConfig

    configs = {**TINY_CONFIGS, **MULTIMODAL_CONFIGS}
    base, variant = VARIANTS.get(model_type, (model_type, {}))
    fields = {**configs[base], **variant}
    for key, value in overrides.items():
        nested = isinstance(value, dict) and isinstance(fields.get(key), dict)
        fields[key] = {**fields[key], **value} if nested else value
    return AutoConfig.for_model(base, **fields)


def tiny_model(model_type: str, task: str = "default", seed: int = 0, **overrides: Any) -> Any:
    """A random-weight model of `model_type` with the head of `task`, in eval mode."""
    import transformers
    from transformers.utils import logging

    from irc.frontend.tasks import TASKS

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    torch.manual_seed(seed)
    auto = getattr(transformers, TASKS[task].auto_class)
    config = tiny_config(model_type, **overrides)
    # Where a task maps to several heads (DeiT's with and without teacher), from_config picks by
    # `config.architectures` and fails on None; empty picks the first head, as irc's specs do.
    config.architectures = config.architectures or []
    return auto.from_config(config).eval()


def tiny_checkpoint(folder: Path, model_type: str, task: str = "default", **overrides: Any) -> Path:
    """Save a tiny model as a checkpoint folder (config.json + model.safetensors)."""
    tiny_model(model_type, task, **overrides).save_pretrained(folder)
    return folder


def traced_tiny(model_type: str, task: str = "default", **overrides: Any) -> Any:
    """`irc.api.Traced` for a tiny model traced at batch 2, sequence 8: `.graph`, `.make_inputs`,
    `.reference`, `.specs`, `.loaded`."""
    from irc.api import trace_model

    return trace_model(tiny_model(model_type, task, **overrides), task)
