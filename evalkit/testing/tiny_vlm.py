"""A tiny, randomly initialised Qwen2-VL saved as a real checkpoint folder (nothing downloaded).

For the local backend's tests and benchmark: a byte-level BPE tokenizer trained on a few
sentences with Qwen's special tokens and a ChatML template, a two-layer model of width 32, and
an image processor with small pixel bounds, saved with ``save_pretrained`` in the Hub layout
(``preprocessor_config.json`` names the processor class), so the backend loads it through the
same ``from_pretrained`` code as a real checkpoint. Needs the ``hf`` extra.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = [
    "CHAT_TEMPLATE",
    "QWEN2_VL_2B",
    "SPECIAL_TOKENS",
    "build_tiny_qwen2_5_vl",
    "build_tiny_qwen2_vl",
]

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>",
                  "<|vision_end|>", "<|image_pad|>", "<|video_pad|>", "<|object_ref_start|>",
                  "<|object_ref_end|>", "<|box_start|>", "<|box_end|>")  # fmt: skip

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_CORPUS = [
    "What is written in the document? Answer the question using a single word or phrase.",
    "The quick brown fox jumps over the lazy dog 0123456789 yes no",
    "system user assistant You are a helpful assistant. Describe the image.",
]


QWEN2_VL_2B = {"hidden": 1536, "layers": 28, "heads": 12, "kv_heads": 2, "intermediate": 8960,
               "vision_depth": 32, "vision_embed": 1280, "vision_heads": 16}  # fmt: skip
"""Qwen2-VL-2B's sizes (its published config), for a same-sized random model on a GPU."""


def build_tiny_qwen2_vl(folder: Path, *, seed: int = 0, hidden: int = 32, layers: int = 2,
                        heads: int = 4, kv_heads: int = 2, intermediate: int | None = None,
                        vision_depth: int = 2, vision_embed: int = 32, vision_heads: int = 4,
                        stop_bias: float = 0.0) -> Path:  # fmt: skip
    """Write the random checkpoint into ``folder`` and return it (tiny unless sized up).

    ``stop_bias`` > 0 makes the end token likelier (a random model rarely ends by itself) by
    moving its output row towards the row of the model's favourite tokens.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (
        PreTrainedTokenizerFast,
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessorPil,
    )

    folder.mkdir(parents=True, exist_ok=True)
    bpe = Tokenizer(models.BPE(unk_token=None))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=list(SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())  # fmt: skip
    bpe.train_from_iterator(_CORPUS * 10, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        chat_template=CHAT_TEMPLATE,
    )  # fmt: skip
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    head_dim = hidden // heads
    sections = [head_dim // 4, head_dim // 8, head_dim // 2 - head_dim // 4 - head_dim // 8]
    config = Qwen2VLConfig(
        text_config={"vocab_size": len(tokenizer), "hidden_size": hidden,
                     "intermediate_size": intermediate or 2 * hidden, "num_hidden_layers": layers,
                     "num_attention_heads": heads, "num_key_value_heads": kv_heads,
                     "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0,
                                         "mrope_section": sections},
                     "max_position_embeddings": 8192, "bos_token_id": None,
                     "eos_token_id": ids["<|im_end|>"], "pad_token_id": ids["<|endoftext|>"]},
        vision_config={"depth": vision_depth, "embed_dim": vision_embed, "hidden_size": hidden,
                       "num_heads": vision_heads,
                       "mlp_ratio": 2, "patch_size": 14, "spatial_merge_size": 2,
                       "temporal_patch_size": 2, "in_chans": 3},
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )  # fmt: skip
    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(config).eval()
    if stop_bias:
        with torch.no_grad():
            head = model.get_output_embeddings().weight
            favourite = head.norm(dim=1).argmax()
            head[ids["<|im_end|>"]] = head[favourite] * stop_bias
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    images = Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=112 * 112, patch_size=14,
                                      merge_size=2, temporal_patch_size=2)  # fmt: skip
    images.save_pretrained(folder)
    preprocessor = folder / "preprocessor_config.json"
    data = json.loads(preprocessor.read_text())
    data["processor_class"] = "Qwen2VLProcessor"
    preprocessor.write_text(json.dumps(data, indent=2))
    (folder / "chat_template.jinja").write_text(CHAT_TEMPLATE)
    return folder


def build_tiny_qwen2_5_vl(folder: Path, *, seed: int = 0) -> Path:
    """The same tiny checkpoint as a Qwen2.5-VL (its windowed vision tower, its processor)."""
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    build_tiny_qwen2_vl(folder, seed=seed)  # tokenizer, template, image processor
    saved = json.loads((folder / "config.json").read_text())
    text = {k: saved["text_config"][k] for k in (
        "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
        "num_attention_heads", "num_key_value_heads", "rope_parameters",
        "max_position_embeddings", "eos_token_id", "pad_token_id")}  # fmt: skip
    tokens = {k: saved[k] for k in ("image_token_id", "video_token_id",
                                    "vision_start_token_id", "vision_end_token_id")}  # fmt: skip
    config = Qwen2_5_VLConfig(
        text_config={**text, "bos_token_id": None},
        vision_config={"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 4,
                       "out_hidden_size": text["hidden_size"], "patch_size": 14,
                       "spatial_merge_size": 2, "temporal_patch_size": 2, "in_chans": 3,
                       "window_size": 56, "fullatt_block_indexes": [1]},
        **tokens,
    )  # fmt: skip
    torch.manual_seed(seed)
    for stale in folder.glob("model*.safetensors*"):
        stale.unlink()
    Qwen2_5_VLForConditionalGeneration(config).eval().save_pretrained(folder)
    preprocessor = folder / "preprocessor_config.json"
    data = json.loads(preprocessor.read_text())
    data["processor_class"] = "Qwen2_5_VLProcessor"
    preprocessor.write_text(json.dumps(data, indent=2))
    return folder
