"""Compare two checkouts' readers on every real file: each member file under
DATA/ovmerd/members (label and description npz; descriptions are read with trust, as the shared
files are trusted) and the gold and prediction CSVs. Prints one JSON object, last:

    {"files": N, "identical": n, "changed": [...], "now_read": [...], "now_refused": [...]}

`now_read` lists files the other checkout refused and this one reads (the malformed upstream
label npz files, read as the official toolkit does).

    python experiments/compare_readers.py --other /path/to/main/checkout [--data-root DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Runs in a fresh interpreter per checkout: a digest of what its readers give for each file.
DUMP = """
import hashlib, json, logging, sys
logging.disable(logging.WARNING)
sys.path.insert(0, sys.argv[1])
from core.errors import InputError
from core.labels import read_label_csv
from members.readers import read_outputs
result = {}
for path in sys.argv[2:]:
    try:
        outputs = {k: [v.labels, v.description] for k, v in read_outputs(path, trust_pickle=True).items()}
        if path.endswith(".csv"):
            outputs["#read_label_csv"] = read_label_csv(path)
        text = json.dumps(outputs, sort_keys=True)
        result[path] = hashlib.sha256(text.encode()).hexdigest()
    except InputError as error:
        result[path] = "refused: " + str(error)[:120]
print(json.dumps(result))
"""


def files(data: Path) -> list[str]:
    members = sorted(str(p) for p in (data / "ovmerd" / "members").rglob("*.npz"))
    csvs = [str(p) for p in (data / "ovmerd" / "gold_dev.csv", data / "mer2024_ov" / "predict-openset.csv") if p.is_file()]
    return members + csvs


def digests(repo: Path, paths: list[str]) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-c", DUMP, str(repo), *paths], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--other", required=True, help="the checkout to compare with (e.g. the main branch)")
    parser.add_argument("--data-root", default=os.environ.get("OVMER_DATA") or str(REPO.parent / "shared" / "data"))
    args = parser.parse_args()
    paths = files(Path(args.data_root))
    ours, theirs = digests(REPO, paths), digests(Path(args.other), paths)
    refused = {path for path, digest in theirs.items() if digest.startswith("refused")}
    ours_refused = {path for path, digest in ours.items() if digest.startswith("refused")}
    both = [path for path in paths if path not in refused | ours_refused]
    print(json.dumps({
        "files": len(paths),
        "identical": sum(ours[path] == theirs[path] for path in both),
        "changed": [path for path in both if ours[path] != theirs[path]],
        "now_read": sorted(refused - ours_refused),
        "now_refused": sorted(ours_refused - refused),
        "refused_by_both": sorted(refused & ours_refused),
    }, indent=1))


if __name__ == "__main__":
    main()
