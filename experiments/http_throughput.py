"""Throughput of the HTTP path: ChatClient and OpenAIMember against local servers (prints JSON).

The servers are testkit.serve on 127.0.0.1 whose "model" sleeps `latency` seconds per
request (a stand-in for a GPU serving engine, which runs requests in parallel), so the figures
show what the client adds and how concurrency and several endpoints hide the model's latency:
  chat: requests/s of ChatClient.chat_many over N short text requests, per concurrency;
  endpoints: the same with the requests spread over two servers;
  member: clips/s of OpenAIMember.predict on generated 1-second videos (8 frames sampled,
  JPEG-encoded and sent per clip), per concurrency, no cache.

    python experiments/http_throughput.py [--requests 64] [--clips 16] [--latency 0.05]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from members.base import Clip  # noqa: E402
from members.http import ChatClient  # noqa: E402
from members.live.openai import OpenAIMember  # noqa: E402
from testkit.serve import start_server  # noqa: E402
from testkit.media import write_test_video  # noqa: E402


def sleeper(latency: float):
    def answer_fn(messages):
        time.sleep(latency)
        return "Emotions: calm"

    return answer_fn


def rate(count: int, run) -> float:
    began = time.perf_counter()
    run()
    return round(count / (time.perf_counter() - began), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    conversations = [[{"role": "user", "content": f"question {i}"}] for i in range(args.requests)]
    report = {"latency_s": args.latency, "requests": args.requests, "clips": args.clips,
              "chat_requests_per_s": {}, "two_endpoints_requests_per_s": {}, "member_clips_per_s": {}}
    with start_server(sleeper(args.latency)) as one, start_server(sleeper(args.latency)) as two:
        for concurrency in (1, 4, 16):
            client = ChatClient(url=one.url, concurrency=concurrency)
            report["chat_requests_per_s"][concurrency] = rate(args.requests, lambda: client.chat_many(conversations, 8))
            both = ChatClient(endpoints=[one.url, two.url], concurrency=concurrency)
            report["two_endpoints_requests_per_s"][concurrency] = rate(args.requests, lambda: both.chat_many(conversations, 8))
        with tempfile.TemporaryDirectory() as folder:
            videos = [write_test_video(Path(folder) / f"c{i}.mp4", seconds=1.0, size=(320, 240), seed=i)
                      for i in range(args.clips)]
            clips = [Clip(name=f"c{i}", video=path, subtitle="Hello.") for i, path in enumerate(videos)]
            for concurrency in (1, 8):
                member = OpenAIMember(name="m", model="local", url=one.url, concurrency=concurrency, progress=False)
                report["member_clips_per_s"][concurrency] = rate(args.clips, lambda: member.predict(clips))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
