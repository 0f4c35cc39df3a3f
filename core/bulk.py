"""Pausing Python's cyclic garbage collector while a run builds millions of small objects."""
from __future__ import annotations

import contextlib
import gc
from typing import Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic collection inside the block; the collector's previous state is restored after.

    Reading member outputs and building ballots allocate dicts and lists by the million and
    free none of them; CPython's collector re-scans every live container each time enough
    new ones pile up, which cost about 40% of a 20,000-clip run. These objects form no
    reference cycles, so reference counting frees them all the same: memory is unchanged.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
