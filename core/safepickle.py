"""Reading numpy object arrays (pickled inside .npy/.npz) without running any code.

Upstream description files (`name2reason` in an npz) are a pickled dict inside an object
array. numpy's own loader (allow_pickle) would run whatever the pickle names (a planted
`os.system`). Here the pickle is read by an Unpickler that resolves only the few numpy names
an object array needs (array and dtype reconstruction, scalars); anything else — any function
or class — is refused with an InputError before it is looked up, so nothing is ever called.
"""
from __future__ import annotations

import pickle
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from core.errors import InputError

try:  # numpy >= 2 moved the module; old pickles name either path
    from numpy._core.multiarray import _reconstruct, scalar
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct, scalar

# (module, name) a pickled object array may refer to -> the object it means.
_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "scalar"): scalar,
    ("numpy._core.multiarray", "scalar"): scalar,
}


class _DataOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refers to {module}.{name}, which a data file never needs") from None


def load_npz(path: str | Path) -> dict[str, Any]:
    """Every array of an npz file, object arrays included, read without running code.

    Raises InputError naming the file (and the array) for a file that is not an npz, a
    corrupt one, and a pickle that refers to anything but numpy's array reconstruction.
    """
    path = Path(path)
    arrays: dict[str, Any] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if not member.endswith(".npy"):
                    continue
                key = member[: -len(".npy")]
                with archive.open(member) as handle:
                    arrays[key] = _read_npy(handle, path, key)
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise InputError(f"{path}: not a readable npz file ({type(error).__name__}: {error})") from None
    return arrays


def _read_npy(handle, path: Path, key: str) -> Any:
    version = npy_format.read_magic(handle)
    if version == (1, 0):
        shape, fortran, dtype = npy_format.read_array_header_1_0(handle)
    else:
        shape, fortran, dtype = npy_format.read_array_header_2_0(handle)
    if not dtype.hasobject:
        handle_data = handle.read()
        array = np.frombuffer(handle_data, dtype=dtype, count=int(np.prod(shape)) if shape else 1)
        return array.reshape(shape, order="F" if fortran else "C")
    try:
        array = _DataOnlyUnpickler(handle).load()
    except (pickle.UnpicklingError, AttributeError, TypeError, IndexError, KeyError) as error:
        raise InputError(f"{path}: array '{key}': pickle {error}; refused") from None
    if not isinstance(array, np.ndarray):
        raise InputError(f"{path}: array '{key}' holds a pickled {type(array).__name__}, not an array")
    return array
