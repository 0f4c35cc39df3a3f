"""Writing files so that a reader never sees half of one, with the mode an ordinary new file gets."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable

from core.errors import InputError


def new_file_mode() -> int:
    """The mode an ordinary new file gets under the current umask (mkstemp would give 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a file so that readers see either the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.chmod(temporary, new_file_mode())
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
