"""Pairing gold and prediction label sets clip by clip."""
from __future__ import annotations

import logging
from typing import Mapping, Sequence

from core.errors import InputError

log = logging.getLogger(__name__)


def paired_clips(gold: Mapping[str, Sequence[str]], pred: Mapping[str, Sequence[str]]) -> list[str]:
    """The gold clips, sorted; every one of them must have a prediction.

    Predictions for clips outside the gold are ignored (a submission covers more clips
    than a dev gold file); a gold clip with no prediction is an error, since scoring it
    as empty would silently lower the figures.
    """
    missing = sorted(set(gold) - set(pred))
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise InputError(f"prediction lacks {len(missing)} of the {len(gold)} gold clips: {shown}")
    extra = len(set(pred) - set(gold))
    if extra:
        log.debug("ignoring %d predicted clips that have no gold", extra)
    return sorted(gold)


def set_scores(gold: set, pred: set) -> tuple[float, float]:
    """(precision, recall) of one clip; an empty prediction scores (0, 0)."""
    if not pred:
        return 0.0, 0.0
    hits = len(gold & pred)
    return hits / len(pred), hits / len(gold)
