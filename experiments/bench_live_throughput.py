"""Throughput of served members (issue 19): clips/s of 1, 2 and 4 `openai` members, each on its
own fake server, against the ideal server-bound rate and the client's own decoding limit.

The servers are testkit.serve on 127.0.0.1, one process each; their "model" answers
after `delay ± jitter` seconds (uniform, seeded) and takes at most `capacity` requests at once
(more wait), as a GPU serving engine with that many sequences in flight would. The client runs in
a child process pinned to 1, then 2 cores (os.sched_setaffinity); on a machine with 2 cores the
servers share them (they are not pinned), so the figures are a lower bound of the client's:
  decode_only: clips/s of the member's own preparation alone (sampling 8 frames at 448 px and
  encoding the request: prepare() + messages() in its prepare_workers threads), no server;
  runs: for each mode and member count, the members run through ensemble.pipeline.collect_outputs
  on the same clips (every member answers every clip, no cache); clips/s over all members, its
  ratio to the ideal (members x capacity / delay) and to min(ideal, decode_only).
Modes: `frames` (the member decodes frames, JPEG-encodes them) and `send_video` (the server gets
the file and decodes it, so the client's decoding is not the limit). Each member's concurrency is
the server's capacity; send_video also runs with twice that (`--windows`), so that requests wait
in the server's queue, as a serving engine keeps them, instead of in the client while one is
being uploaded and parsed.
The clips are generated: `--videos` H.264 720p clips of 6 s with AAC audio, reused under
different names. The machine this ran on is shared: see the report for its load.

    python experiments/bench_live_throughput.py [--code DIR] [--out PATH] [--clips 16] [--frame-clips 8]

--code: the checkout whose members and pipeline are measured (default this one), so the same
benchmark measures an older commit (`git archive COMMIT | tar -x -C DIR`).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "results" / "bench_live_throughput.json"


def fake_model(delay: float, jitter: float, capacity: int, seed: int):
    """The answer function of one server: at most `capacity` at once, each after delay ± jitter s."""
    slots = threading.Semaphore(capacity)
    rng = random.Random(seed)
    lock = threading.Lock()

    def answer(messages):
        with lock:
            seconds = rng.uniform(delay - jitter, delay + jitter)
        with slots:
            time.sleep(seconds)
        return "She smiles.\nEmotions: happy, calm"

    return answer


def serve(delay: float, jitter: float, capacity: int, seed: int, urls, stop) -> None:
    """One fake server, in a process of its own (the servers parse megabytes of JSON per request:
    in the client's process, or all in one, they would take the client's cores and one GIL)."""
    sys.path.insert(0, str(ROOT))
    from testkit.serve import start_server

    with start_server(fake_model(delay, jitter, capacity, seed)) as server:
        urls.put((seed, server.url))
        stop.wait()


# ---- the client, in a child process pinned to some cores ---------------------------------------
def child(spec: dict) -> dict:
    os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: spec["cores"]]))
    sys.path.insert(0, spec["code"])
    from ensemble.pipeline import collect_outputs
    from members.base import Clip
    from members.live.openai import OpenAIMember

    videos = spec["videos"]

    def clips(count: int) -> list[Clip]:
        return [Clip(name=f"c{i:03d}", video=videos[i % len(videos)], subtitle="I am fine.") for i in range(count)]

    def member(index: int, mode: str, window: int = 1) -> OpenAIMember:
        return OpenAIMember(name=f"m{index}", model="local", url=spec["servers"][index], concurrency=spec["capacity"] * window,
                            num_frames=8, max_pixels=448 * 448, send_video=(mode == "send_video"),
                            progress=False, timeout=60.0, retries=0)

    report: dict = {"cores": spec["cores"], "decode_only_clips_per_s": None, "runs": []}
    probe = member(0, "frames")
    sample = clips(spec["frame_clips"])

    def prepared(clip):  # what the member does before sending: decode and encode (this checkout does both in prepare)
        request = probe.prepare(clip)
        return request if getattr(request, "encoded", None) is not None else probe.messages(request)

    prepared(sample[0])  # warm-up: the codec libraries load once per process
    began = time.perf_counter()
    with ThreadPoolExecutor(probe.prepare_workers) as pool:
        list(pool.map(prepared, sample))
    decode_rate = len(sample) / (time.perf_counter() - began)
    report["decode_only_clips_per_s"] = round(decode_rate, 2)
    plan = [(mode, window, members) for mode in spec["modes"] for window in (spec["windows"] if mode == "send_video" else [1])
            for members in spec["members"]]
    for mode, window, members in plan:
        count = spec["frame_clips"] if mode == "frames" else spec["clips"]
        team = [member(i, mode, window) for i in range(members)]
        began = time.perf_counter()
        labels, failures = collect_outputs(team, clips(count))
        seconds = time.perf_counter() - began
        answered = sum(len(answers) for answers in labels.values())
        ideal = members * spec["capacity"] / spec["delay"]
        rate = answered / seconds
        limit = ideal if mode == "send_video" else min(ideal, decode_rate)
        report["runs"].append({
            "mode": mode, "members": members, "concurrency": spec["capacity"] * window, "clips_per_member": count, "answered": answered,
            "failed": sum(len(f) for f in failures.values()), "seconds": round(seconds, 2),
            "clips_per_s": round(rate, 2), "ideal_clips_per_s": round(ideal, 2),
            "of_ideal": round(rate / ideal, 3),
            "client_limit_clips_per_s": round(limit, 2), "of_limit": round(rate / limit, 3),
        })
        print(json.dumps(report["runs"][-1]), file=sys.stderr, flush=True)
    return report


# ---- the parent: clips, servers, one child per core count --------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", default=str(ROOT), help="the checkout to measure")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--clips", type=int, default=16, help="clips per member, send_video mode")
    parser.add_argument("--frame-clips", type=int, default=8, help="clips per member, frames mode")
    parser.add_argument("--videos", type=int, default=3, help="distinct generated videos")
    parser.add_argument("--delay", type=float, default=0.5)
    parser.add_argument("--jitter", type=float, default=0.2)
    parser.add_argument("--capacity", type=int, default=4, help="requests a server takes at once")
    parser.add_argument("--members", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--cores", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--modes", nargs="+", default=["send_video", "frames"])
    parser.add_argument("--windows", type=int, nargs="+", default=[1, 2],
                        help="send_video: member concurrency as multiples of the server's capacity")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return

    sys.path.insert(0, str(ROOT))
    from testkit.media import write_test_video

    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        videos = [str(write_test_video(Path(folder) / f"v{i}.mp4", seconds=6.0, fps=25, size=(1280, 720),
                                       codec="libx264", seed=i)) for i in range(args.videos)]
        generated = time.perf_counter() - began
        spawn = multiprocessing.get_context("spawn")
        urls, stop = spawn.Queue(), spawn.Event()
        servers = [spawn.Process(target=serve, args=(args.delay, args.jitter, args.capacity, i, urls, stop), daemon=True)
                   for i in range(max(args.members))]
        for server in servers:
            server.start()
        try:
            found = dict(urls.get(timeout=120) for _ in servers)
            spec = {"code": str(Path(args.code).resolve()), "videos": videos, "servers": [found[i] for i in range(len(servers))],
                    "capacity": args.capacity, "delay": args.delay, "members": args.members, "modes": args.modes,
                    "clips": args.clips, "frame_clips": args.frame_clips, "windows": args.windows}
            per_cores = []
            for cores in args.cores:
                done = subprocess.run([sys.executable, __file__, "--child", json.dumps({**spec, "cores": cores})],
                                      stdout=subprocess.PIPE, text=True, check=True)
                per_cores.append(json.loads(done.stdout.strip().splitlines()[-1]))
        finally:
            stop.set()
            for server in servers:
                server.join(timeout=10)
        report = {
            "code": spec["code"], "machine_cpus": os.cpu_count(), "load_average": os.getloadavg(),
            "video": {"count": args.videos, "size": "1280x720", "seconds": 6.0, "fps": 25, "codec": "h264+aac",
                      "mb_each": round(sum(os.path.getsize(v) for v in videos) / len(videos) / 1e6, 2),
                      "generation_s": round(generated, 1)},
            "frames": {"num_frames": 8, "max_pixels": 448 * 448},
            "server": {"delay_s": args.delay, "jitter_s": args.jitter, "capacity": args.capacity},
            "per_cores": per_cores,
        }
    text = json.dumps(report, indent=1)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
