"""Clips per second of the transformers engine, batched against one clip at a time (prints JSON).

The model is a random-weight Qwen2.5-VL built in memory (no weights can be downloaded): `--size 3b`
has the dimensions of Qwen2.5-VL-3B-Instruct (36 layers, hidden 2048, vocab 151936, a 32-block
1280-wide vision tower) and its frames are 448×448 (256 visual tokens each after the 2×2 merge);
`--size tiny` is the tests' tiny model on 64×48 frames, a CPU smoke run of the script. Each clip is
`--frames` random frames plus a prompt as long as the open-vocabulary prompt; every answer runs to
`--max-new-tokens` (no end-of-text token), so both modes do the same work. The clips go through
members.live.worker.TransformersEngine.generate (the frame processor, left padding, greedy
decoding), one at a time and `--batch-size` at a time, after a warm-up of each; the two modes
alternate `--repeats` times and the fastest run of each counts (the machines are shared).

    python experiments/bench_vlm_batching.py --size tiny --device cpu --batch-size 4 --threads 1
    python experiments/bench_vlm_batching.py --size 3b --device cuda --batch-size 8 --clips 32

Output: one JSON object (the last line): sizes, parameters, seconds and clips/s of each mode, the
speed-up, and the share of clips whose batched answer equals the one-at-a-time answer (1.0 is
expected in float32; bfloat16 padding may flip a few tokens). On a CPU shared with other jobs,
`--threads 1` keeps torch's threads from waiting on each other (runs with the default threads
varied twentyfold there). experiments/results/bench_vlm_batching_tiny_cpu.json holds the
tiny CPU smoke run of the first command.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testkit import models as tiny_models  # noqa: E402
from members.live import prompts  # noqa: E402
from members.live.worker import FrameProcessor, TransformersEngine  # noqa: E402

log = logging.getLogger("bench_vlm_batching")

SIZES = {
    "tiny": dict(text=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                           num_key_value_heads=2, mrope=[2, 3, 3]),
                 vision=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, fullatt_block_indexes=[1]),
                 vocab=None, frame=(64, 48), pixels=56 * 56),
    "3b": dict(text=dict(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36, num_attention_heads=16,
                         num_key_value_heads=2, mrope=[16, 24, 24], tie_word_embeddings=True),
               vision=dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16,
                           fullatt_block_indexes=[7, 15, 23, 31]),
               vocab=151936, frame=(448, 448), pixels=448 * 448),
}


def build(size: str, device: str, dtype_name: str, folder: Path):
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    preset = SIZES[size]
    tokenizer = tiny_models._tokenizer(tiny_models.QWEN_SPECIALS, tiny_models._QWEN_TEMPLATE)
    ids = tokenizer.convert_tokens_to_ids
    text = dict(preset["text"])
    mrope = text.pop("mrope")
    config = Qwen2_5_VLConfig(
        text_config=dict(vocab_size=preset["vocab"] or len(tokenizer), max_position_embeddings=32768,
                         bos_token_id=ids("<|endoftext|>"), eos_token_id=ids("<|im_end|>"),
                         pad_token_id=ids("<|endoftext|>"),
                         rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": mrope}, **text),
        vision_config=dict(out_hidden_size=text["hidden_size"], **preset["vision"]),
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"))
    torch.manual_seed(0)
    dtype = getattr(torch, dtype_name)
    with torch.device(device):
        model = Qwen2_5_VLForConditionalGeneration._from_config(config, dtype=dtype).eval()
    model.generation_config.eos_token_id = None
    tokenizer.save_pretrained(folder)
    Qwen2VLImageProcessorPil(min_pixels=preset["pixels"], max_pixels=preset["pixels"]).save_pretrained(folder)
    processor = FrameProcessor(str(folder), config, "qwen", trust_remote_code=False)
    params = sum(p.numel() for p in model.parameters())
    return TransformersEngine.from_model(model, processor, "qwen2_5_vl", eos=None, pad=tokenizer.pad_token_id), params


def clips(count: int, frames: int, size: tuple[int, int], max_new_tokens: int) -> list[dict]:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    prompt = prompts.fill(prompts.OPEN_VOCABULARY, subtitle="I did not expect to see you here today.")
    width, height = size
    return [{"prompt": prompt, "audio": None, "max_new_tokens": max_new_tokens,
             "images": [Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)) for _ in range(frames)]}
            for _ in range(count)]


def timed(engine: TransformersEngine, requests: list[dict], batch_size: int) -> tuple[float, list[str]]:
    import torch

    began = time.perf_counter()
    answers: list[str] = []
    for start in range(0, len(requests), batch_size):
        answers += engine.generate(requests[start:start + batch_size])
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - began, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    parser.add_argument("--dtype", default="auto", help="auto (bfloat16 on cuda, float32 on cpu) | float32 | bfloat16")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each mode; the fastest counts")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    import torch
    import transformers

    if args.threads:
        torch.set_num_threads(args.threads)  # on a shared CPU, fewer threads wait less on each other
    dtype = args.dtype if args.dtype != "auto" else ("bfloat16" if args.device.startswith("cuda") else "float32")
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        engine, params = build(args.size, args.device, dtype, Path(folder))
        built = time.perf_counter() - began
        log.info("built %s (%.2fB parameters) in %.1f s", args.size, params / 1e9, built)
        requests = clips(args.clips, args.frames, SIZES[args.size]["frame"], args.max_new_tokens)
        prompt_tokens = int(engine.processor([[{"role": "user", "content": [{"type": "image"}] * args.frames
                                                + [{"type": "text", "text": requests[0]["prompt"]}]}]],
                                             [requests[0]["images"]])["input_ids"].shape[1])
        engine.generate(requests[:1])  # warm-up of both shapes: kernels, allocator, caches
        engine.generate(requests[:args.batch_size])
        runs: dict[str, list[float]] = {"single": [], "batched": []}
        for _ in range(args.repeats):  # interleaved, so load from other processes hits both modes alike
            seconds, single = timed(engine, requests, 1)
            runs["single"].append(seconds)
            seconds, batched = timed(engine, requests, args.batch_size)
            runs["batched"].append(seconds)
            log.info("one at a time %.2f s, batches of %d %.2f s", runs["single"][-1], args.batch_size, seconds)
        single_s, batched_s = min(runs["single"]), min(runs["batched"])
        peak = torch.cuda.max_memory_allocated() / 2 ** 30 if args.device.startswith("cuda") else None
    result = {
        "size": args.size, "device": args.device,
        "gpu": torch.cuda.get_device_name() if args.device.startswith("cuda") else None,
        "dtype": dtype, "parameters": params, "clips": args.clips, "frames": args.frames,
        "prompt_tokens": prompt_tokens, "max_new_tokens": args.max_new_tokens, "batch_size": args.batch_size,
        "build_s": round(built, 2),
        "single_s": round(single_s, 3), "single_clips_per_s": round(args.clips / single_s, 3),
        "batched_s": round(batched_s, 3), "batched_clips_per_s": round(args.clips / batched_s, 3),
        "speedup": round(single_s / batched_s, 2), "repeats": args.repeats,
        "all_single_s": [round(x, 3) for x in runs["single"]], "all_batched_s": [round(x, 3) for x in runs["batched"]],
        "same_answers": round(sum(a == b for a, b in zip(single, batched)) / len(single), 3),
        "peak_gpu_gib": round(peak, 2) if peak is not None else None,
        "threads": torch.get_num_threads(), "torch": torch.__version__, "transformers": transformers.__version__,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
