"""Writing files so that a reader never sees half of one, with the mode an ordinary new file gets."""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Iterable

from core.errors import InputError


def new_file_mode() -> int:
    """The mode an ordinary new file gets under the current umask (mkstemp would give 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def remove_stale_parts(target: str | Path) -> int:
    """Delete the temporary `.part` files of `target` that a killed writer left behind.

    A part file is named `.<target name>.<writer pid>.<random>.part`; one whose writer is no
    longer running is stale (a live writer's part is left alone). Returns how many were removed.
    """
    target = Path(target)
    prefix = f".{target.name}."
    removed = 0
    try:
        candidates = [p for p in target.parent.iterdir() if p.name.startswith(prefix) and p.name.endswith(".part")]
    except OSError:
        return 0
    for part in candidates:
        pid = part.name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            part.unlink(missing_ok=True)
            removed += 1
    return removed


def part_file(target: str | Path) -> tuple[int, str]:
    """(open descriptor, path) of a new temporary file beside `target`, after removing the
    stale parts of earlier killed writers of the same target."""
    target = Path(target)
    remove_stale_parts(target)
    return tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".part")


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a UTF-8 text file as atomic_write_bytes does (line ends as given)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write a file so that readers see either the old file or the whole new one.

    An existing file keeps its mode (a new one gets the ordinary mode under the umask); a
    symbolic link is written through (the link stays, its target is replaced).
    """
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = new_file_mode()
    handle, temporary = part_file(path)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def check_output_path(path: str | Path, inputs: Iterable[str | Path] = ()) -> Path:
    """Refuse an output path whose writing would destroy something: an empty name, a directory,
    a device or other non-regular file, or a file that is an input of the same run.

    A symbolic link to a regular file is written through (the link stays, its target is replaced).
    """
    if not str(path).strip():
        raise InputError("output path is empty")
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: output path is a directory")
    if path.exists() and not path.is_file():
        raise InputError(f"{path}: output path is not a regular file (a device, pipe or socket)")
    if path.exists():
        target = path.resolve()
        for source in inputs:
            if source and Path(source).exists() and Path(source).resolve() == target:
                raise InputError(f"{path}: output path is an input of this run ({source}); choose another file")
    return path
