"""Peak memory and time of the member-file readers alone, on large generated files.

Generates (once, under --dir, default /tmp/ovmer_bench_readers) a `name,openset` CSV of
200,000 rows x 50 labels (about 130 MB) and a label npz of 1,000,000 rows whose widest item
is 1,200 characters (so np.load builds a 4.8 GB fixed-width array from a few MB on disk, as
one long malformed row does in the upstream files), then reads each with
members.readers.read_outputs in a fresh process and prints one JSON object, last:

    {"csv": {"rows": ..., "seconds": ..., "peak_rss_mb": ...}, "npz": {...}, "ensemble": {...},
     "import_peak_rss_mb": ...}

"ensemble" reads a 200,000-row x 4-label CSV 11 times and keeps every result, as a run over
11 members does: the readers' share of the 1.5 GB budget for 200,000 clips x 11 members.

`--repo DIR` measures another checkout's readers (e.g. the main branch, for before/after).
Synthetic words only: nothing from the shared data is used.
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

REPO = Path(__file__).resolve().parent.parent

# Runs in a fresh interpreter: import the readers from REPO, read one file, report.
MEASURE = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from members.readers import read_outputs
path = sys.argv[2]
if path == "-":
    print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})); sys.exit()
copies = int(sys.argv[3]) if len(sys.argv) > 3 else 1
start = time.perf_counter()
kept = [read_outputs(path) for _ in range(copies)]  # all kept, as a run keeps every member's outputs
seconds = time.perf_counter() - start
outputs = kept[0]
labels = sum(len(o.labels) for o in outputs.values()) * copies
print(json.dumps({"rows": len(outputs) * copies, "labels": labels, "seconds": round(seconds, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def words(count: int, rng: random.Random) -> list[str]:
    """Synthetic lower-case words of 4 to 12 letters (a member's vocabulary is a few hundred)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return sorted({"".join(rng.choice(letters) for _ in range(rng.randint(4, 12))) for _ in range(count)})


def write_csv(path: Path, rows: int, per_row: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    vocabulary = words(500, rng)
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("name,openset\n")
        for index in range(rows):
            labels = rng.sample(vocabulary, per_row)
            out.write(f"sample_{index:08d},\"[{', '.join(repr(w) for w in labels)}]\"\n")


def _write_npy_rows(archive: zipfile.ZipFile, key: str, rows, count: int, width: int) -> None:
    """Write a 1-D '<U{width}' array as `key`.npy into the zip, a chunk at a time (never whole)."""
    dtype = np.dtype(f"<U{width}")
    with archive.open(f"{key}.npy", "w", force_zip64=True) as stream:
        npy_format.write_array_header_1_0(stream, {"descr": dtype.str, "fortran_order": False, "shape": (count,)})
        chunk: list[str] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == 10_000:
                stream.write(np.array(chunk, dtype=dtype).tobytes())
                chunk = []
        if chunk:
            stream.write(np.array(chunk, dtype=dtype).tobytes())


def write_npz(path: Path, rows: int, wide: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    vocabulary = words(300, rng)
    # One wide row sets the width of every row (np.load's fixed-width array). It is a valid list
    # (ten long labels) so that the old readers, which refuse malformed rows, can be measured too.
    label = "x" * max(1, (wide - 2) // 10 - 2)
    wide_row = ("[" + ", ".join([label] * 10) + "]")[:wide]

    def items():
        for index in range(rows):
            if index == rows // 2:
                yield wide_row
            else:
                yield "[" + ", ".join(rng.sample(vocabulary, rng.randint(1, 4))) + "]"

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _write_npy_rows(archive, "filenames", (f"sample_{i:08d}" for i in range(rows)), rows, 15)
        _write_npy_rows(archive, "fileitems", items(), rows, wide)


def measure(repo: Path, path: Path | str, copies: int = 1) -> dict:
    command = [sys.executable, "-c", MEASURE, str(repo), str(path), str(copies)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", default="/tmp/ovmer_bench_readers")
    parser.add_argument("--repo", default=str(REPO), help="checkout whose readers are measured")
    parser.add_argument("--csv-rows", type=int, default=200_000)
    parser.add_argument("--csv-labels", type=int, default=50)
    parser.add_argument("--npz-rows", type=int, default=1_000_000)
    parser.add_argument("--npz-width", type=int, default=1200, help="characters of the widest npz item")
    parser.add_argument("--members", type=int, default=11, help="members of the 'ensemble' measurement")
    parser.add_argument("--member-labels", type=int, default=4, help="labels per clip in the 'ensemble' measurement")
    parser.add_argument("--only", choices=["csv", "npz", "ensemble"], help="measure one file only")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / f"member-{args.csv_rows}x{args.csv_labels}.csv"
    npz_path = folder / f"member-{args.npz_rows}w{args.npz_width}-openset.npz"
    member_path = folder / f"member-{args.csv_rows}x{args.member_labels}.csv"
    if args.generate_only:
        # Written under a temporary name first, so an interrupted run leaves no half file to reuse.
        for path, write, sizes in ((csv_path, write_csv, (args.csv_rows, args.csv_labels)),
                                   (npz_path, write_npz, (args.npz_rows, args.npz_width)),
                                   (member_path, write_csv, (args.csv_rows, args.member_labels))):
            if not path.exists():
                partial = path.with_name(path.name + ".part")
                write(partial, *sizes)
                partial.replace(path)
        return
    if not (csv_path.exists() and npz_path.exists() and member_path.exists()):
        # In a child: Linux carries a process's peak RSS across fork and exec, so a parent that
        # grew while generating would raise every measured child's figure.
        subprocess.run([sys.executable, *sys.argv, "--generate-only"], check=True)
    result = {"repo": args.repo, "import_peak_rss_mb": measure(Path(args.repo), "-")["peak_rss_mb"]}
    for kind, path in (("csv", csv_path), ("npz", npz_path)):
        if args.only in (None, kind):
            result[kind] = {"file_mb": round(path.stat().st_size / 2**20, 1), **measure(Path(args.repo), path)}
    if args.only in (None, "ensemble"):
        # The readers' share of a whole run: every member's outputs for 200,000 clips held at once.
        result["ensemble"] = {"members": args.members, "file_mb": round(member_path.stat().st_size / 2**20, 1),
                              **measure(Path(args.repo), member_path, args.members)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
