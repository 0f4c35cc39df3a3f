"""What hostile media and content-keyed caching cost (prints JSON).

Each phase runs in its own process and reports its wall time and its peak resident memory
(getrusage ru_maxrss) next to the process's peak after imports:
  huge_avi_fps:     members.media.sample_frames on a 1 s AVI whose headers claim 2·10⁹ seconds,
                    with Emotion-Qwen's defaults (fps 1, num_frames 16): one MediaError;
  huge_avi_frames:  the same file, num_frames 16 at segment midpoints (the last frame, repeated);
  long_fps:         a real 60 s clip at 25 fps sampled with fps 25 and num_frames 0 (1,500
                    candidate frames, kept to max_frames = 64);
  digest:           members.live.cache.file_digest over N files of S MB of random bytes, first
                    pass (hashing; files just written, so in the page cache) and second (the memo).

    python experiments/hostile_media_cost.py [--files 20] [--megabytes 8]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from members.live.cache import file_digest
from members.media import MediaError, sample_frames
from testkit.media import write_test_video
from tests.live_support import huge_avi


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def phase(name: str, folder: Path, files: int, megabytes: int) -> dict:
    baseline = _rss_mb()
    began = time.perf_counter()
    result: dict = {}
    if name == "huge_avi_fps":
        try:
            sample_frames(huge_avi(folder / "huge.avi"), num_frames=16, fps=1)
            result["outcome"] = "frames"
        except MediaError as error:
            result["outcome"] = f"MediaError: {str(error).split(': ', 1)[1]}"
    elif name == "huge_avi_frames":
        result["frames"] = len(sample_frames(huge_avi(folder / "huge.avi"), num_frames=16))
    elif name == "long_fps":
        video = write_test_video(folder / "long.mp4", seconds=60, fps=25, size=(64, 48), audio=False)
        began = time.perf_counter()
        result["frames"] = len(sample_frames(video, num_frames=0, fps=25))
    elif name == "digest":
        paths = []
        for index in range(files):
            path = folder / f"f{index}.bin"
            path.write_bytes(os.urandom(megabytes << 20))
            paths.append(path)
        began = time.perf_counter()
        for path in paths:
            file_digest(path)
        first = time.perf_counter() - began
        began = time.perf_counter()
        for path in paths:
            file_digest(path)
        result.update(first_pass_s=round(first, 3), mb_per_s=round(files * megabytes / first, 1),
                      memo_pass_s=round(time.perf_counter() - began, 5))
    if name != "digest":
        result["seconds"] = round(time.perf_counter() - began, 3)
    result.update(peak_mb=round(_rss_mb(), 1), after_imports_mb=round(baseline, 1))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--megabytes", type=int, default=8)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, Path(args.folder), args.files, args.megabytes)))
        return
    report = {"files": args.files, "megabytes": args.megabytes}
    for name in ("huge_avi_fps", "huge_avi_frames", "long_fps", "digest"):
        with tempfile.TemporaryDirectory() as folder:
            command = [sys.executable, __file__, "--phase", name, "--folder", folder,
                       "--files", str(args.files), "--megabytes", str(args.megabytes)]
            report[name] = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
