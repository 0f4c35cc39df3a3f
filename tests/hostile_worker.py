"""Test support (not a test module): a hostile worker, run in place of members/live/worker.py.

    python tests/hostile_worker.py MODE

Modes (each reads the load line first):
  nonjson     prints progress-bar junk (control bytes included) instead of a load reply
  silent      never answers the load
  endless     answers the load, then answers a batch with one line that never ends
  deaf        answers the load, then never reads its input again (a large request fills the pipe)
"""
from __future__ import annotations

import json
import sys
import time

LOADED = json.dumps({"ok": True, "info": {"protocol": 1, "family": "echo"}}) + "\n"


def main() -> None:
    mode = sys.argv[1]
    out = sys.stdout.buffer
    sys.stdin.buffer.readline()  # the load
    if mode == "nonjson":
        out.write(b"Loading checkpoint shards: 100%|\x1b[32m\xe2\x96\x88\x1b[0m| 2/2\r\n")
        out.flush()
        time.sleep(60)
        return
    if mode == "silent":
        time.sleep(60)
        return
    out.write(LOADED.encode())
    out.flush()
    if mode == "deaf":
        time.sleep(60)
        return
    sys.stdin.buffer.readline()  # a batch
    if mode == "endless":
        block = b"x" * (1 << 20)
        while True:
            out.write(block)


if __name__ == "__main__":
    main()
