"""Writing files so that a reader never sees half of one, with the mode an ordinary new file gets,
and the one rule that keeps an output path off everything a run reads or writes."""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Iterable

from core.errors import InputError, OutputError
from core.uses import PathUse


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
    Any OS error (a read-only or full disk, a parent that is a file, a path that is a folder)
    is an OutputError naming the file, and the old file, if any, stays as it was.
    """
    shown = path
    try:
        path = Path(path)
        if path.is_symlink():
            path = path.resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            mode = new_file_mode()
        handle, temporary = part_file(path)
    except OSError as error:
        raise _output_error(shown, error) from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise _output_error(shown, error) from None
        raise


def _output_error(path, error: OSError) -> OutputError:
    reason = error.strerror or str(error) or type(error).__name__
    if isinstance(error, (FileExistsError, NotADirectoryError)) and error.filename not in (None, str(path)):
        reason += f" ({error.filename})"  # which part of the path is in the way
    return OutputError(f"{path}: cannot write the file: {reason}")


def check_output_path(path: str | Path, uses: Iterable[PathUse | str | Path | None] = ()) -> Path:
    """Refuse an output path whose writing would destroy something: an empty name, a directory,
    a device or other non-regular file, a path whose folder is a file, or a path that resolves
    (through symbolic links, or as the same file by a hard link) to a file the run reads or
    writes, or into a folder it does.

    uses: what the run's parts declare (core.uses.PathUse), or plain paths (files the run
    reads). The temporary `.part` file of an atomic write lies in the folder of the resolved
    output, so a folder that holds the output holds it too. A symbolic link to a regular file
    is written through (the link stays, its target is replaced). Returns `path`.
    """
    if not str(path).strip():
        raise InputError("output path is empty")
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: output path is a directory")
    if path.exists() and not path.is_file():
        raise InputError(f"{path}: output path is not a regular file (a device, pipe or socket)")
    target = Path(os.path.realpath(path))  # the writer does not expand '~' either
    folder = next((p for p in target.parents if p.exists()), None)
    if folder is not None and not folder.is_dir():
        raise InputError(f"{path}: cannot write here: {folder} is a file, not a folder")
    try:
        identity = os.stat(target)
    except OSError:
        identity = None
    for use in uses:
        if use is None or not str(getattr(use, "path", use)).strip():
            continue
        if not isinstance(use, PathUse):
            use = PathUse(str(use), "input")
        if _lands_on(target, identity, use):
            raise InputError(_refusal(path, use))
    return path


def _lands_on(target: Path, identity: os.stat_result | None, use: PathUse) -> bool:
    """Whether writing the resolved output `target` would overwrite what `use` names (as
    written, and with '~' expanded, as some parts read it)."""
    return any(_lands_on_path(target, identity, path, use) for path in {use.path, os.path.expanduser(use.path)})


def _lands_on_path(target: Path, identity: os.stat_result | None, path: str, use: PathUse) -> bool:
    if use.folder or use.writes:
        # Few of these (model folders, caches): resolve them, they may not exist yet.
        resolved = Path(os.path.realpath(path))
        return target == resolved or (use.folder and resolved in target.parents)
    if identity is None:
        return False  # a file the run reads is at the output path only if that path exists
    try:  # one stat per input (there may be a video per clip): the same file, whatever links lead to it
        found = os.stat(path)
    except (OSError, ValueError):
        return False
    return (found.st_dev, found.st_ino) == (identity.st_dev, identity.st_ino)


def _refusal(path: Path, use: PathUse) -> str:
    whose = f" ({use.what})" if use.what else ""
    if use.folder:
        verb = "writes" if use.writes else "reads"
        return f"{path}: output path lies in {use.path}, a folder this run {verb}{whose}; choose another file"
    if use.writes:
        return f"{path}: output path is {use.path}, a file this run writes{whose}; choose another file"
    return f"{path}: output path is an input of this run: {use.path}{whose}; choose another file"
