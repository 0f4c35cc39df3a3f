"""Decode-only throughput of live members' frame pool (members.live.frames) per process count
(prints JSON, last line).

Workload: N generated clips (default 8) of realistic size: 1280×720 H.264 at 25 fps, 5–10 s,
with an AAC track (testkit.media.write_test_video, seeded), written once under the cache dir.
Each measure decodes every clip `--rounds` times (8 and 16 frames at 448×448 pixels at most),
through a FramePool that keeps no frames (every request is a real decoding), from as many
threads as twice its processes, after one warm-up clip (the workers start).

  processes_1 / processes_2 / ...: clips/s with that many decoding processes;
  efficiency_N: clips/s with N processes / (N × clips/s with one): the goal is ≥ 0.8;
  in_thread: clips/s decoding in one thread of the calling process (FFmpeg's own threads on),
             what a member did before the pool, for reference;
  shared: two members sampling alike over the clips: how many decodings the pool ran.

    python experiments/bench_decode.py [--clips 8] [--rounds 2] [--processes 1 2]

The machine's load (os.getloadavg) is reported: on a shared machine the rates are lower bounds.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.settings import default_cache_dir  # noqa: E402
from members.live.frames import FramePool, Sampling, machine_cores  # noqa: E402
from testkit.media import write_test_video  # noqa: E402


def workload(n_clips: int, seed: int) -> list[Path]:
    folder = default_cache_dir() / "bench" / f"decode-{n_clips}-{seed}"
    rng = random.Random(seed)
    videos = []
    for k in range(n_clips):
        seconds = rng.uniform(5.0, 10.0)
        path = folder / f"clip{k:03d}.mp4"
        if not path.is_file():
            part = folder / f"clip{k:03d}.part.mp4"
            write_test_video(part, seconds=seconds, fps=25, size=(1280, 720), codec="libx264", seed=k)
            part.replace(path)
        videos.append(path)
    return videos


def rate(pool: FramePool, videos: list[Path], sampling: Sampling, rounds: int, threads: int) -> float:
    """Clips/s decoding every video `rounds` times through `pool` from `threads` threads."""
    pool.frames(videos[0], sampling)  # warm-up: the workers start and import
    todo = [video for _ in range(rounds) for video in videos]
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as executor:
        for frames in executor.map(lambda video: pool.frames(video, sampling), todo):
            assert len(frames) == sampling.num_frames
    return len(todo) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--frames", type=int, nargs="+", default=[8, 16])
    args = parser.parse_args()
    videos = workload(args.clips, args.seed)
    report = {"clips": args.clips, "rounds": args.rounds, "cores": machine_cores(), "load_before": os.getloadavg(),
              "clip_mb": round(sum(v.stat().st_size for v in videos) / len(videos) / 2**20, 2)}
    for num_frames in args.frames:
        sampling = Sampling(num_frames=num_frames, max_pixels=448 * 448)
        row = {}
        in_thread = FramePool(workers=0, max_bytes=0)
        row["in_thread"] = round(rate(in_thread, videos, sampling, args.rounds, 1), 2)
        for processes in args.processes:
            pool = FramePool(workers=processes, max_bytes=0)
            try:
                row[f"processes_{processes}"] = round(rate(pool, videos, sampling, args.rounds, 2 * processes), 2)
            finally:
                pool.close()
        one = row.get("processes_1")
        for processes in args.processes:
            if one and processes > 1:
                row[f"efficiency_{processes}"] = round(row[f"processes_{processes}"] / (processes * one), 3)
        report[f"frames_{num_frames}"] = row
    shared = FramePool(workers=max(args.processes))
    try:
        sampling = Sampling(num_frames=8, max_pixels=448 * 448)
        for _member in ("a", "b"):
            for video in videos:
                shared.frames(video, sampling)
        report["shared"] = {"requests": 2 * len(videos), "decoded": shared.decoded, "shared": shared.shared}
    finally:
        shared.close()
    report["load_after"] = os.getloadavg()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
