"""The resumable per-clip cache of a live member: one JSON line per finished clip.

Each clip is appended as one line and flushed to disk as soon as it is done, so a crash or a
kill loses at most the clip in flight; a torn last line is skipped on reading. The file name
carries a hash of the member's parameters, so changing a parameter that changes the answers
(model, prompt, frames, ...) starts a new file, while renaming the member or changing its
batch size does not. Records hold plain JSON only: reading a cache never runs code.

A clip's key covers the content of its media: a blake2b digest of each file's bytes, so another
video of the same name and size is another clip. The digest of a file is computed once per run
(memoised by its real path, size, modification and change times and inode: a rewrite, even
one that restores the old modification time, changes the change time) and kept across runs in
`<folder>/media-digests.jsonl` (DigestIndex), so a rerun does not read every video again. Keys
of caches written before digests (name, path and size) never match a new key: those clips are
computed again.

A cache is a file anyone with write access may edit, so every record is checked when read
(types, and the label bounds of label files, core.labels); one that does not pass is computed
again, with one warning naming the file and line. OS errors: a cache that cannot be read (its
root is a file, the cache file is a folder or a FIFO, no permission) is one InputError before
any clip runs; a cache that cannot be written (read-only folder, full disk) is reported once
and the run goes on with its answers in memory, so nothing it computed is lost from its
submission (a rerun computes those clips again).
"""
from __future__ import annotations

import errno
import hashlib
import json
import logging
import math
import os
import stat
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from core.errors import InputError, excerpt
from core.jsoncache import digest, open_regular
from core.labels import check_labels, has_surrogates
from members.base import Clip, MemberOutput
from members.readers import MAX_JSONL_LINE_BYTES

log = logging.getLogger(__name__)

KEY_VERSION = "content-blake2b"  # part of every key: keys of the older form never match
MAX_KEY_CHARS = 128
WARN_RECORDS = 20  # invalid records named one by one; more are counted in one line

# A file modified this recently when hashed is not recorded across runs: rewritten again within
# the file system's timestamp granularity, at the same size, it would keep its old digest.
MIN_AGE_S = 2.0

_digests: dict[tuple, str] = {}  # (real path, size, mtime_ns, ctime_ns, inode) -> digest, for this run
_digests_lock = threading.Lock()


def _append_line(path: Path, data: bytes, sync: bool = True) -> None:
    """Append one line to a regular file (created with its folder when missing), never
    waiting on a FIFO put in its place; OSError when it cannot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o666)
    with open(descriptor, "a+b") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        handle.seek(0, os.SEEK_END)
        if handle.tell():  # a torn last line from a kill must not swallow this one
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                handle.write(b"\n")
        handle.write(data)
        handle.flush()
        if sync:
            os.fsync(handle.fileno())


class DigestIndex:
    """Media digests across runs, in `<folder>/media-digests.jsonl`: one JSON line per file,
    [real path, size, mtime_ns, ctime_ns, inode, digest], appended when a file is first hashed.
    An entry serves only a file whose five stat fields all match; a line that does not validate is
    ignored. It is an accelerator: a line lost (or a file that cannot be written) costs reading
    that video again. Like the records beside it, it trusts whoever may write the cache folder."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / "media-digests.jsonl"
        self._known: dict[tuple, str] | None = None
        self._lock = threading.Lock()
        self._writable = True

    def _load(self) -> dict[tuple, str]:
        known: dict[tuple, str] = {}
        try:
            with open_regular(self.path) as handle:
                for _, line in _lines(handle, 4096):
                    try:
                        entry = json.loads(line) if line else None
                    except (ValueError, RecursionError):
                        continue
                    if (isinstance(entry, list) and len(entry) == 6 and isinstance(entry[0], str)
                            and all(type(v) is int for v in entry[1:5])
                            and isinstance(entry[5], str) and len(entry[5]) == 128):
                        known[tuple(entry[:5])] = entry[5]
        except OSError:  # missing, or not a file: nothing known
            pass
        return known

    def get(self, memo: tuple) -> str | None:
        with self._lock:
            if self._known is None:
                self._known = self._load()
            return self._known.get(memo)

    def put(self, memo: tuple, value: str) -> None:
        with self._lock:
            if self._known is None:
                self._known = self._load()
            self._known[memo] = value
            if not self._writable:
                return
            try:
                _append_line(self.path, (json.dumps([*memo, value]) + "\n").encode("utf-8"), sync=False)
            except OSError as error:  # the live cache itself reports an unwritable folder
                self._writable = False
                log.debug("%s: digests not kept across runs (%s)", self.path, error)


def file_digest(path: str | Path, index: DigestIndex | None = None) -> str | None:
    """blake2b of a media file's bytes, streamed, computed once per file and run (and, with an
    `index`, once per file while it is unchanged); None when the path is not a readable regular
    file (the clip then fails when its media is read, and is not cached). A FIFO or a device is
    never read (opened without blocking, then refused)."""
    try:
        with open_regular(path) as handle:
            info = os.fstat(handle.fileno())
            memo = (os.path.realpath(path), info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)
            with _digests_lock:
                known = _digests.get(memo)
            if known is None and index is not None:
                known = index.get(memo)
            if known is None:
                known = hashlib.file_digest(handle, "blake2b").hexdigest()
                if index is not None and time.time_ns() - max(info.st_mtime_ns, info.st_ctime_ns) > MIN_AGE_S * 1e9:
                    index.put(memo, known)
            with _digests_lock:
                _digests[memo] = known
            return known
    except OSError:
        return None


def clip_key(clip: Clip, index: DigestIndex | None = None) -> str:
    """What identifies a clip's input: its name, the content of its media files and its subtitle."""
    media = [None if path is None else file_digest(path, index) for path in (clip.video, clip.audio)]
    return digest([KEY_VERSION, clip.name, media, clip.subtitle])


def parse_record(line: bytes, path: Path, number: int) -> tuple[str, MemberOutput]:
    """(key, output) of one cache line; ValueError saying why it is not a valid record.

    A record is a JSON object with a string `key`, `labels` null or a list of strings within
    the label bounds, `description` null or a string (at least one of the two given), and
    `elapsed` null or a finite number ≥ 0."""
    try:
        record = json.loads(line)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(record, dict):
        raise ValueError(f"not a JSON object but {type(record).__name__}")
    key, labels, description, elapsed = (record.get(name) for name in ("key", "labels", "description", "elapsed"))
    if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_CHARS:
        raise ValueError("'key' is not a short string")
    if labels is not None:
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            raise ValueError("'labels' is not a list of strings")
        check_labels(labels, path, number, excerpt(record.get("clip")))
    if description is not None and (not isinstance(description, str) or has_surrogates(description)):
        raise ValueError("'description' is not a string of valid text")
    if labels is None and description is None:
        raise ValueError("neither 'labels' nor 'description'")
    if elapsed is not None and (isinstance(elapsed, bool) or not isinstance(elapsed, (int, float))
                                or not math.isfinite(elapsed) or elapsed < 0):
        raise ValueError("'elapsed' is not a finite number ≥ 0")
    return key, MemberOutput(labels=labels, description=description, elapsed=elapsed)


def _lines(handle: BinaryIO, limit: int):
    """(number, line) of a file read in binary; a line longer than `limit` bytes comes as None
    (skipped to its end, never held whole)."""
    number = 0
    while True:
        line = handle.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = handle.readline(1 << 20)
            yield number, None
        else:
            yield number, line


class ClipCache:
    """Finished clips of one member configuration, in `<folder>/<label>-<params hash>.jsonl`
    (the label is the member's class name: renaming a member in the config keeps its cache)."""

    def __init__(self, folder: str | Path, label: str, params: Mapping[str, Any]):
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label) or "member"
        self.path = Path(folder) / f"{safe}-{digest(params)[:16]}.jsonl"
        self._lock = threading.Lock()
        self.unwritable: str | None = None  # why the cache cannot be written, once it failed
        self.digests = DigestIndex(folder)

    def load(self) -> dict[str, MemberOutput]:
        """The finished clips by clip key. A record that does not validate (a torn last line, an
        edited one) is skipped with a warning: that clip is computed again. InputError when the
        cache exists but cannot be read."""
        done: dict[str, MemberOutput] = {}
        try:
            handle = open_regular(self.path)
        except FileNotFoundError:
            return done
        except OSError as error:
            raise InputError(f"{self.path}: cannot read this live cache ({error.strerror or error}); "
                             f"move it away or choose another cache_dir") from None
        skipped = 0
        with handle:
            try:
                for number, line in _lines(handle, MAX_JSONL_LINE_BYTES):
                    if line is not None and not line.strip():
                        continue
                    try:
                        if line is None:
                            raise ValueError(f"longer than {MAX_JSONL_LINE_BYTES} bytes")
                        key, output = parse_record(line, self.path, number)
                    except ValueError as error:  # InputError (label bounds) is a ValueError
                        skipped += 1
                        if skipped <= WARN_RECORDS:
                            log.warning("%s, line %d: invalid cache record skipped, that clip is computed again (%s)",
                                        self.path, number, str(error).removeprefix(f"{self.path}, row {number}, "))
                        continue
                    done[key] = output
            except OSError as error:
                raise InputError(f"{self.path}: cannot read this live cache ({error.strerror or error})") from None
        if skipped > WARN_RECORDS:
            log.warning("%s: %d more invalid cache records skipped, their clips are computed again",
                        self.path, skipped - WARN_RECORDS)
        return done

    def add(self, clip: Clip, key: str, output: MemberOutput) -> None:
        """Append one finished clip and flush it to disk before returning. When the cache cannot
        be written, says so once (an ERROR line) and returns: the answer stays in the run's memory."""
        record = {
            "clip": clip.name,
            "key": key,
            "labels": output.labels,
            "description": output.description,
            "elapsed": output.elapsed,
        }
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8", "surrogatepass")
        try:  # what would not be read back is not stored (the answer still serves this run)
            if len(data) > MAX_JSONL_LINE_BYTES:
                raise ValueError(f"longer than {MAX_JSONL_LINE_BYTES} bytes")
            parse_record(data, self.path, 0)
        except ValueError as error:
            log.warning("clip %s: answer not cached (%s)", clip.name, str(error)[:200])
            return
        with self._lock:
            if self.unwritable is not None:
                return
            try:
                _append_line(self.path, data)
            except OSError as error:
                self.unwritable = error.strerror or str(error)
                log.error("%s: cannot write this live cache (%s); the run goes on with its answers in memory "
                          "(this submission has them, a rerun computes them again)", self.path, self.unwritable)
