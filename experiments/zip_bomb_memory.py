"""Peak memory of `evaluate --groupings` on a zip bomb: one entry of zeros that deflates ~1000:1.

    python experiments/zip_bomb_memory.py [--megabytes 512] [--repo CHECKOUT]

Builds the bomb in a temporary folder, runs `run_ensemble.py evaluate` of CHECKOUT (default this
one; give an older checkout to compare) in a subprocess on a one-clip gold file, and prints one
JSON object: the entry's inflated size, the zip's size, the child's peak RSS, its exit status and
last stderr line.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLIP = "sample_00000007"


def write_bomb(path: Path, megabytes: int) -> None:
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, archive.open(f"{CLIP}.npy", "w", force_zip64=True) as handle:
        for _ in range(megabytes):
            handle.write(chunk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=512, help="inflated size of the entry")
    parser.add_argument("--repo", default=str(REPO), help="checkout whose run_ensemble.py to run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        bomb, gold = folder / "groupings.zip", folder / "gold.csv"
        write_bomb(bomb, args.megabytes)
        gold.write_text(f"name,openset\n{CLIP},\"['happy']\"\n")
        data = os.environ.get("OVMER_DATA") or str(REPO.parent / "shared" / "data")
        done = subprocess.run(
            [sys.executable, str(Path(args.repo) / "run_ensemble.py"), "evaluate", "--gold", str(gold), "--pred", str(gold),
             "--groupings", str(bomb), "--data-root", data],
            cwd=args.repo, env={**os.environ, "PYTHONPATH": args.repo}, capture_output=True, text=True, timeout=600,
        )
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Linux: kilobytes
        lines = done.stderr.strip().splitlines()
        print(json.dumps({
            "entry_mb": args.megabytes,
            "zip_bytes": bomb.stat().st_size,
            "peak_rss_mb": round(peak_kb / 1024, 1),
            "exit": done.returncode,
            "last_stderr_line": lines[-1][:200] if lines else "",
        }))


if __name__ == "__main__":
    main()
