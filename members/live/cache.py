"""The resumable per-clip cache of a live member: one JSON line per finished clip.

Each clip is appended as one line and flushed to disk as soon as it is done, so a crash or a
kill loses at most the clip in flight; a torn last line is skipped on reading. The file name
carries a hash of the member's parameters, so changing a parameter that changes the answers
(model, prompt, frames, ...) starts a new file, while renaming the member or changing its
batch size does not. Records hold plain JSON only: reading a cache never runs code.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.jsoncache import digest
from members.base import Clip, MemberOutput

log = logging.getLogger(__name__)


def clip_key(clip: Clip) -> str:
    """What identifies a clip's input: its name, media files (path and size) and subtitle."""
    media = []
    for path in (clip.video, clip.audio):
        if path is None:
            media.append(None)
            continue
        try:
            size = Path(path).stat().st_size
        except OSError:
            size = None
        media.append([str(path), size])
    return digest([clip.name, media, clip.subtitle])


class ClipCache:
    """Finished clips of one member configuration, in `<folder>/<label>-<params hash>.jsonl`
    (the label is the member's class name: renaming a member in the config keeps its cache)."""

    def __init__(self, folder: str | Path, label: str, params: Mapping[str, Any]):
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label) or "member"
        self.path = Path(folder) / f"{safe}-{digest(params)[:16]}.jsonl"
        self._lock = threading.Lock()

    def load(self) -> dict[str, MemberOutput]:
        """The finished clips by clip key. Unreadable lines (a torn last line) are skipped."""
        done: dict[str, MemberOutput] = {}
        if not self.path.is_file():
            return done
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    labels = record.get("labels")
                    done[str(record["key"])] = MemberOutput(
                        labels=None if labels is None else [str(w) for w in labels],
                        description=record.get("description"),
                        elapsed=record.get("elapsed"),
                    )
                except (ValueError, KeyError, TypeError, AttributeError):
                    log.warning("%s, line %d: unreadable cache record skipped (that clip is redone)", self.path, number)
        return done

    def add(self, clip: Clip, key: str, output: MemberOutput) -> None:
        """Append one finished clip and flush it to disk before returning."""
        record = {
            "clip": clip.name,
            "key": key,
            "labels": output.labels,
            "description": output.description,
            "elapsed": output.elapsed,
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a+b") as handle:
                handle.seek(0, os.SEEK_END)
                if handle.tell():  # a torn last line from a kill must not swallow this record
                    handle.seek(-1, os.SEEK_END)
                    if handle.read(1) != b"\n":
                        handle.write(b"\n")
                handle.write(line.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
