"""Progress of long phases, for a person at a terminal and for a log file alike.

    for clip in progress(clips, "ballots"):            # an iterable
    bar = progress(total=len(pending), desc=name)      # or updated by hand: bar.update(n); bar.close()

When stderr is a terminal, a tqdm bar, with log records printed above it instead of into it
(tqdm's logging_redirect_tqdm). Otherwise (nohup, slurm, a pipe) no bar: one log line
`DESC: N/M clips, RATE, elapsed T, ETA T` at most every OVMER_PROGRESS_INTERVAL seconds
(default 30) and a last one; a phase done within a second logs none. Both are tqdm, so the rate and ETA are tqdm's own.
Nothing shows when `enabled` is false or INFO records are not logged (`-q`).
"""
from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 30.0
QUICK = 1.0  # seconds: a phase done within this logs no progress line at all
LINE_FORMAT = "{desc}: {n_fmt}/{total_fmt} {unit}s, {rate_fmt}, elapsed {elapsed}, ETA {remaining}"


def log_interval() -> float:
    """Seconds between two progress lines in a log file: $OVMER_PROGRESS_INTERVAL, else 30."""
    text = os.environ.get("OVMER_PROGRESS_INTERVAL", "")
    try:
        return max(0.0, float(text)) if text else DEFAULT_INTERVAL
    except ValueError:
        return DEFAULT_INTERVAL


class _Discard:
    """tqdm's output file in log mode: the lines go to logging (LogLines.display), not here."""

    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


class LogLines(tqdm):
    """A tqdm whose every refresh is one INFO log line instead of a redrawn bar."""

    def __init__(self, *args, **kwargs):
        self._logged_n = None
        super().__init__(*args, **kwargs)

    def display(self, msg=None, pos=None):
        if self.n == 0 or self.n == self._logged_n:
            return True  # nothing done yet (the phase's own log says it started), or close()'s redraw
        if self._logged_n is None and self.n == self.total and self.format_dict["elapsed"] < QUICK:
            return True  # a phase over in a blink needs no progress line
        self._logged_n = self.n
        log.info("%s", str(self))  # now: the record is formatted later
        return True


# Bars alive now: log records are redirected above them while there is at least one.
_redirect = {"depth": 0, "context": None}


class Bar(tqdm):
    """A terminal bar; while any is open, log records print above the bars, not into them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._redirecting = not self.disable
        if self._redirecting:
            if _redirect["depth"] == 0:
                _redirect["context"] = logging_redirect_tqdm(tqdm_class=tqdm)
                _redirect["context"].__enter__()
            _redirect["depth"] += 1

    def close(self):
        super().close()
        if getattr(self, "_redirecting", False):
            self._redirecting = False
            _redirect["depth"] -= 1
            if _redirect["depth"] == 0:
                _redirect["context"].__exit__(None, None, None)
                _redirect["context"] = None


def progress(iterable: Iterable | None = None, desc: str = "", *, total: int | None = None, unit: str = "clip",
             enabled: bool = True) -> tqdm:
    """A progress tracker over `iterable` (or `total` steps updated by hand): a bar on a terminal,
    periodic log lines elsewhere, nothing when disabled or when INFO is not logged."""
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)
    shown = enabled and log.isEnabledFor(logging.INFO)
    if shown and sys.stderr.isatty():
        return Bar(iterable, desc=desc, total=total, unit=unit, leave=False, dynamic_ncols=True)
    return LogLines(iterable, desc=desc, total=total, unit=unit, disable=not shown, file=_Discard(),
                    bar_format=LINE_FORMAT, mininterval=log_interval(), miniters=1, smoothing=0, leave=True)
