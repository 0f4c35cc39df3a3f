"""`fetch-data`: download the official emotion-wheel lexicon and check every file's sha256.

The lexicon is research-only data (non-commercial, with attribution to the MER challenge
organisers); it is fetched into a user's data root rather than shipped with the project.
The files come from the public MERTools repository at a pinned commit; a file whose
sha256 differs from the one recorded here is rejected and nothing is written for it.
"""
from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

from core.errors import InputError
from core.files import new_file_mode, part_file
from core.progress import progress

log = logging.getLogger(__name__)

# The full commit id: raw-file URLs do not resolve abbreviated ids reliably.
MERTOOLS_COMMIT = "89120b780ab18b28349f0e37dcc12b8cc253cb02"
DEFAULT_SOURCE = f"https://raw.githubusercontent.com/zeroQiaoba/MERTools/{MERTOOLS_COMMIT}"

_WHEEL_2025 = "MER2025/MER2025_Track23/emotion_wheel"
_XLSX_SHA256 = {
    "synonym.xlsx": "23f81f9ab1d2418aaf96775304fb5dc52c62bb5d5ef652a97471d045fc9d2e29",
    "wheel1.xlsx": "e70485d354b82a7491ff24648273182a5f4f13f92c76e6b3e4f9033f5e6afcc1",
    "wheel2.xlsx": "acc001e076a8e60440361f58dd8c05ed900c4890c84bb7d8d1df93708a7d9c87",
    "wheel3.xlsx": "d62f30bf88c17c55876634cd088eacaef98278fc25457474364439872f9dbf83",
    "wheel4.xlsx": "660260561b7fe15550f3679a01e7c783608ce3403d4c28db0a88520f68d83aea",
    "wheel5.xlsx": "2dd4595b2cf8e7628ca06a416a8e38ac831614b244f23d1ae613dc34007649f1",
}

# (path in the MERTools repository, path under the data root, sha256)
FILES: list[tuple[str, str, str]] = [
    (f"{_WHEEL_2025}/format.csv", "lexicon/mer2025/format.csv", "ba6de7d61db8e129d1d7ef8a2aae22a9e93a2c2e3e683e6f2735d04455f016f2"),
    ("MER2026/MER2026_Track2/emotion_wheel/format.csv", "lexicon/mer2026/format.csv", "82234299875465ecf6c196ace42ffbe745baaeea72b5e39de955af36929982a4"),
]
# The 2026 lexicon differs from 2025 only in format.csv; its xlsx files are the 2025 ones.
for _name, _sha in _XLSX_SHA256.items():
    FILES.append((f"{_WHEEL_2025}/{_name}", f"lexicon/mer2025/{_name}", _sha))
    FILES.append((f"{_WHEEL_2025}/{_name}", f"lexicon/mer2026/{_name}", _sha))


def add_arguments(parser) -> None:
    parser.add_argument("--dest", help="data root to fill (default: $OVMER_DATA, else ./data)")
    parser.add_argument("--source", default=DEFAULT_SOURCE, help="base URL (or file:// folder) laid out like MERTools")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per download")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(url: str, target: Path, expected: str, timeout: float) -> None:
    """Download to a temporary file beside the target; move it in place only if the sha256 matches."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"{target.parent}: cannot create the folder ({error})") from None
    handle, temporary = part_file(target)
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            while block := response.read(1 << 20):
                out.write(block)
        actual = sha256_of(Path(temporary))
        if actual != expected:
            raise InputError(f"{url}: sha256 {actual} does not match the pinned {expected}; not saved")
        os.chmod(temporary, new_file_mode())
        os.replace(temporary, target)
    except (urllib.error.URLError, OSError) as error:
        raise InputError(f"{url}: download failed ({error})") from None
    finally:
        Path(temporary).unlink(missing_ok=True)


def fetch(dest: Path, source: str, timeout: float = 60.0) -> int:
    """Fetch every missing or changed lexicon file; returns how many were downloaded."""
    downloaded = 0
    for remote, local, expected in progress(FILES, "lexicon", unit="file"):
        target = dest / local
        if target.is_file() and sha256_of(target) == expected:
            log.debug("%s: present, checksum ok", target)
            continue
        _download(f"{source.rstrip('/')}/{remote}", target, expected, timeout)
        downloaded += 1
    return downloaded


def main(args, overrides) -> int:
    if overrides:
        raise InputError(f"fetch-data takes no overrides (got '{overrides[0]}')")
    dest = Path(args.dest or os.environ.get("OVMER_DATA") or "data")
    if dest.exists() and not dest.is_dir():
        raise InputError(f"{dest}: --dest is not a folder (it is a file); give the data folder to fill")
    for parent in dest.parents:
        if parent.exists() and not parent.is_dir():
            raise InputError(f"{dest}: cannot make this folder, {parent} is a file")
    count = fetch(dest, args.source, args.timeout)
    log.info("lexicon ready in %s (%d files downloaded, %d already present)", dest / "lexicon", count, len(FILES) - count)
    return 0
