"""Peak memory and time of frame sampling on a large clip: streaming vs decoding everything (prints JSON).

Encodes one synthetic clip (default 1920x1080, 30 fps, 6 s, mpeg4 + aac) in a temporary folder,
then runs each phase in its own process and reports its peak resident memory (getrusage
ru_maxrss), the process's peak after imports for comparison, and its wall time:
  stream:     members.media.sample_frames(num_frames=8, max_pixels=448*448), the project's way;
  decode_all: every frame decoded and kept as a PIL image, then 8 picked (the way media.py worked
              before it streamed; written out here as the reference);
  audio:      members.media.extract_audio to a 16 kHz wav.

    python experiments/media_memory.py [--seconds 6] [--fps 30] [--width 1920] [--height 1080]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from members.media import extract_audio, sample_frames  # noqa: E402
from testkit.media import write_test_video  # noqa: E402


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def _decode_all(video: Path) -> int:
    import av

    with av.open(str(video)) as container:
        frames = [frame.to_image() for frame in container.decode(video=0)]
    picked = [frames[int((i + 0.5) * len(frames) / 8)] for i in range(8)]
    return len(picked)


def phase(name: str, video: Path, folder: Path) -> dict:
    before = _rss_mb()
    began = time.perf_counter()
    if name == "stream":
        count = len(sample_frames(video, num_frames=8, max_pixels=448 * 448))
    elif name == "decode_all":
        count = _decode_all(video)
    else:
        extract_audio(video, folder / "audio.wav")
        count = 1
    return {"phase": name, "seconds": round(time.perf_counter() - began, 3), "rss_after_imports_mb": round(before, 1),
            "peak_rss_mb": round(_rss_mb(), 1), "outputs": count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--video", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:  # a child process: one phase, one JSON line
        video = Path(args.video)
        print(json.dumps(phase(args.phase, video, video.parent)))
        return
    with tempfile.TemporaryDirectory() as folder:
        video = Path(folder) / "clip.mp4"
        began = time.perf_counter()
        write_test_video(video, seconds=args.seconds, fps=args.fps, size=(args.width, args.height))
        encode = round(time.perf_counter() - began, 1)
        results = []
        for name in ("stream", "decode_all", "audio"):
            out = subprocess.run([sys.executable, __file__, "--phase", name, "--video", str(video)],
                                 check=True, capture_output=True, text=True).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps({
            "clip": {"seconds": args.seconds, "fps": args.fps, "size": [args.width, args.height],
                     "frames": int(args.seconds * args.fps), "file_mb": round(video.stat().st_size / 2**20, 1),
                     "encode_seconds": encode},
            "phases": results,
        }, indent=2))


if __name__ == "__main__":
    main()
