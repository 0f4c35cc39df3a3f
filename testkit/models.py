"""Tiny random-weight vision-language models saved as model folders, for tests and smoke runs.

No model hub is reachable on the project's machines, so the real loading code (from_pretrained,
the chat template, the image processor, generate) is exercised on models built here: a tiny
Qwen2.5-VL, a tiny InternVL3-hf and a tiny remote-code checkpoint (a Qwen2.5-VL subclass whose
config.json `auto_map` points at modelling code written into the folder, like Emotion-Qwen's).
Each has an offline word-level tokenizer with the family's special tokens, an image processor
and a chat template. Weights are seeded, so a folder built twice answers the same.

Builders are idempotent (a finished folder is returned at once) and atomic (built in a temporary
sibling folder, then renamed), so a killed build never leaves half a model behind. No video
processor is saved: the pinned CPU torch has no torchvision, so frames travel as images.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                 "<|image_pad|>", "<|video_pad|>"]
INTERNVL_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>", "</img>", "<IMG_CONTEXT>", "<video>"]
_WORDS = ("user assistant system you are a helpful the person is looks seems feels in this video clip "
          "emotions: emotion happy sad angry calm surprised worried anxious relaxed tired neutral "
          "excited nervous confused frustrated content , . and face voice smile frown").split()
_FILLER = 160  # filler words, so the vocabulary is big enough to look like text

# One chat template per family: Qwen-style turns; images as the family's placeholder token.
_QWEN_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_INTERNVL_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}<IMG_CONTEXT>\n"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

REMOTE_CONFIGURATION = '''"""A tiny stand-in for a remote-code checkpoint (written by testkit.models)."""
from transformers import Qwen2_5_VLConfig


class TinyRemoteConfig(Qwen2_5_VLConfig):
    model_type = "tiny_remote_vl"
'''
REMOTE_MODELING = '''"""A tiny stand-in for a remote-code model (written by testkit.models)."""
from transformers import Qwen2_5_VLForConditionalGeneration

from .configuration_tiny_remote import TinyRemoteConfig


class TinyRemoteModel(Qwen2_5_VLForConditionalGeneration):
    config_class = TinyRemoteConfig
'''


def _vocab(specials: list[str]) -> dict[str, int]:
    words = ["[UNK]", *specials, *_WORDS, *(f"w{i}" for i in range(_FILLER))]
    return {word: index for index, word in enumerate(dict.fromkeys(words))}


def _tokenizer(specials: list[str], template: str, **extra):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel(_vocab(specials), unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]", eos_token="<|im_end|>",
                                        pad_token="<|endoftext|>", additional_special_tokens=specials[1:], **extra)
    # Named extra_special_tokens (InternVL's) replace the list above: register every special again.
    tokenizer.add_special_tokens({"additional_special_tokens": specials[1:]})
    tokenizer.chat_template = template
    return tokenizer


def _text_config(tokenizer, **extra) -> dict:
    ids = tokenizer.convert_tokens_to_ids
    return dict(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                bos_token_id=ids("<|endoftext|>"), eos_token_id=ids("<|im_end|>"), pad_token_id=ids("<|endoftext|>"),
                **extra)


def _finish(model, tokenizer, image_processor, folder: Path) -> None:
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.do_sample = False
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    image_processor.save_pretrained(folder)


def _qwen_parts(seed: int):
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    tokenizer = _tokenizer(QWEN_SPECIALS, _QWEN_TEMPLATE)
    ids = tokenizer.convert_tokens_to_ids
    config = Qwen2_5_VLConfig(
        text_config=_text_config(tokenizer, rope_parameters={"rope_type": "default", "rope_theta": 1e6,
                                                             "mrope_section": [2, 3, 3]}),
        vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64,
                           fullatt_block_indexes=[1]),
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"))
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    # 56×56 per frame: 4×4 patches, 4 tokens after the 2×2 merge.
    image_processor = Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=56 * 56)
    return model, tokenizer, image_processor


def _build_qwen(folder: Path, seed: int) -> None:
    _finish(*_qwen_parts(seed), folder)


def _build_internvl(folder: Path, seed: int) -> None:
    import torch
    from transformers import InternVLConfig, InternVLForConditionalGeneration
    from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import GotOcr2ImageProcessorPil

    tokenizer = _tokenizer(INTERNVL_SPECIALS, _INTERNVL_TEMPLATE, extra_special_tokens={
        "start_image_token": "<img>", "end_image_token": "</img>", "context_image_token": "<IMG_CONTEXT>",
        "video_token": "<video>"})
    config = InternVLConfig(
        vision_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                           image_size=[56, 56], patch_size=[14, 14]),
        text_config=dict(model_type="qwen2", tie_word_embeddings=False, **_text_config(tokenizer)),
        image_token_id=tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>"), image_seq_length=4, downsample_ratio=0.5,
        tie_word_embeddings=False)  # tied, a random model only repeats its last input token
    torch.manual_seed(seed)
    model = InternVLForConditionalGeneration(config).eval()
    image_processor = GotOcr2ImageProcessorPil(size={"height": 56, "width": 56}, crop_to_patches=False)
    _finish(model, tokenizer, image_processor, folder)


def _build_remote(folder: Path, seed: int) -> None:
    from safetensors.torch import save_file

    model, tokenizer, image_processor = _qwen_parts(seed)
    _finish(model, tokenizer, image_processor, folder)
    # save_pretrained writes Qwen2.5-VL's legacy key names, which transformers maps back only for
    # its own model_type; a remote-code class gets the names it uses in memory.
    state = {key: value.detach().contiguous().clone() for key, value in model.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "configuration_tiny_remote.py").write_text(REMOTE_CONFIGURATION, encoding="utf-8")
    (folder / "modeling_tiny_remote.py").write_text(REMOTE_MODELING, encoding="utf-8")
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config.update(model_type="tiny_remote_vl", architectures=["TinyRemoteModel"], auto_map={
        "AutoConfig": "configuration_tiny_remote.TinyRemoteConfig",
        "AutoModel": "modeling_tiny_remote.TinyRemoteModel",
        "AutoModelForImageTextToText": "modeling_tiny_remote.TinyRemoteModel",
    })
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")


def _build(folder: str | Path, builder: Callable[[Path, int], None], seed: int) -> Path:
    """Build into a temporary sibling folder and rename it into place (idempotent, atomic)."""
    folder = Path(folder)
    if (folder / "config.json").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        builder(work, seed)
        try:
            os.rename(work, folder)
        except OSError:
            if not (folder / "config.json").is_file():  # not a concurrent build that won the race
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    log.info("built a tiny model in %s", folder)
    return folder


def tiny_qwen2_5_vl(folder: str | Path, seed: int = 0) -> Path:
    """A tiny random-weight Qwen2.5-VL model folder (loads with AutoModelForImageTextToText)."""
    return _build(folder, _build_qwen, seed)


def tiny_internvl(folder: str | Path, seed: int = 0) -> Path:
    """A tiny random-weight InternVL3-hf model folder (loads with AutoModelForImageTextToText)."""
    return _build(folder, _build_internvl, seed)


def tiny_remote_code(folder: str | Path, seed: int = 0) -> Path:
    """A tiny model folder whose config.json `auto_map` points at modelling code in the folder, so it
    only loads with trust_remote_code=True (a stand-in for Emotion-Qwen's released checkpoint)."""
    return _build(folder, _build_remote, seed)
