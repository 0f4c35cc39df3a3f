"""Reading string arrays from an npz file as a stream, a chunk of rows at a time, with no pickle.

`np.load` materialises a whole array: a label npz whose widest item is a 1,200-character
sentence stores every one of its rows at that width, so a 3 MB compressed file of a million
rows becomes a 4.8 GB array. Here the `.npy` member is read through the zip's decompressing
stream in chunks of rows, each turned into Python strings at once, so memory stays at one
chunk plus the strings themselves.

Only 1-D arrays of fixed-width strings (numpy 'U' or UTF-8 'S') are accepted: object arrays
(pickles), 0-d arrays and other shapes are refused with InputError, as are truncated, corrupt
or non-zip files.
"""
from __future__ import annotations

import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

import numpy as np
from numpy.lib import format as npy_format

from core.errors import InputError

# What a broken zip or .npy member raises while it is opened, parsed or decompressed.
NPZ_ERRORS = (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error, KeyError, NotImplementedError)

CHUNK_BYTES = 4 << 20  # rows are read about 4 MB at a time
# The widest row accepted, in characters: far above a real row (1,340 at most, a sentence), and
# it keeps a forged header from asking for gigabytes per row.
MAX_ROW_CHARS = 1 << 16


def _short(error: BaseException, limit: int = 120) -> str:
    """The error's name and message, cut (and marked) so that a forged header is not echoed whole."""
    text = str(error)
    return f"{type(error).__name__}: {text if len(text) <= limit else text[:limit] + f'... ({len(text)} characters)'}"


def npz_keys(path: Path) -> list[str]:
    """The array names of an npz file (its `.npy` members), without reading any array."""
    try:
        with zipfile.ZipFile(path) as archive:
            return [name[:-4] for name in archive.namelist() if name.endswith(".npy")]
    except NPZ_ERRORS as error:
        raise InputError(f"{path}: not a readable npz file ({_short(error)})") from None


def _read_header(stream: IO[bytes]) -> tuple[tuple[int, ...], np.dtype]:
    version = npy_format.read_magic(stream)
    if version == (1, 0):
        shape, _fortran, dtype = npy_format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, _fortran, dtype = npy_format.read_array_header_2_0(stream)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    return shape, dtype


class StringArray:
    """One 1-D string array inside an open npz: `len()` rows, iterated as Python strings."""

    def __init__(self, archive: zipfile.ZipFile, path: Path, key: str):
        self.path, self.key = path, key
        self._stream = archive.open(key + ".npy")
        try:
            self.length, self.dtype = self._check(*_read_header(self._stream))
        except BaseException:
            self._stream.close()
            raise

    def _check(self, shape: tuple[int, ...], dtype: np.dtype) -> tuple[int, np.dtype]:
        path, key = self.path, self.key
        if dtype.hasobject:
            raise InputError(f"{path}: array '{key}' holds Python objects (a pickle), not strings; it is not loaded")
        if len(shape) != 1:
            raise InputError(f"{path}: array '{key}' has shape {shape}, expected one row per clip (1-D)")
        if dtype.kind not in "US":
            raise InputError(f"{path}: array '{key}' holds {dtype} values, expected strings")
        width = dtype.itemsize // (4 if dtype.kind == "U" else 1)
        if width > MAX_ROW_CHARS:
            raise InputError(f"{path}: array '{key}' has rows {width} characters wide, more than {MAX_ROW_CHARS}")
        return shape[0], dtype

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> StringArray:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[str]:
        rows_per_chunk = max(1, CHUNK_BYTES // max(1, self.dtype.itemsize))
        left = self.length
        while left:
            count = min(left, rows_per_chunk)
            data = self._stream.read(count * self.dtype.itemsize)
            if len(data) != count * self.dtype.itemsize:
                raise EOFError(f"array '{self.key}' ends after {self.length - left + len(data) // self.dtype.itemsize} "
                               f"of {self.length} rows")
            values = np.frombuffer(data, dtype=self.dtype).tolist()
            if self.dtype.kind == "S":
                # Undecodable bytes become surrogates, which the reader refuses naming the row.
                values = [value.decode("utf-8", "surrogateescape") for value in values]
            yield from values
            left -= count


@contextmanager
def open_npz(path: Path) -> Iterator[zipfile.ZipFile]:
    """The npz as an open zip; any zip, zlib or .npy error inside the block becomes one InputError."""
    try:
        with zipfile.ZipFile(path) as archive:
            yield archive
    except NPZ_ERRORS as error:
        if isinstance(error, InputError):
            raise
        raise InputError(f"{path}: not a readable npz file ({_short(error)})") from None
