"""What tuning maximises: a metric, or a metric under a precision or recall floor.

Spelled as strings so a config or the command line can name them:
  ew_l1_f | m_avg | mer2024_avg          plain metrics (higher is better)
  recall@precision>=60                   EW-L1 recall, counting only settings with EW-L1 P >= 60
  precision@recall>=80                   EW-L1 precision, counting only settings with EW-L1 R >= 80
A setting that misses its floor scores below every setting that meets it (closest first).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from core.errors import InputError

METRICS = ("ew_l1_f", "m_avg", "mer2024_avg")
_FLOOR = re.compile(r"^(recall|precision)@(precision|recall)>=([0-9.]+)$")
_KEY = {"recall": "ew_l1_r", "precision": "ew_l1_p"}
_MISSED = -1000.0


@dataclass(frozen=True)
class Objective:
    name: str
    metric: str  # the score key maximised
    floor_key: str | None = None
    floor: float = 0.0

    @classmethod
    def parse(cls, text: str) -> "Objective":
        text = str(text).strip().replace(" ", "")
        if text in METRICS:
            return cls(text, text)
        match = _FLOOR.match(text)
        if match and match.group(1) != match.group(2):
            try:
                floor = float(match.group(3))
            except ValueError:
                floor = float("nan")
            if 0 <= floor <= 100:
                return cls(text, _KEY[match.group(1)], _KEY[match.group(2)], floor)
        raise InputError(
            f"unknown objective '{text}' (known: {', '.join(METRICS)}, recall@precision>=P, precision@recall>=R; floors in percent)"
        )

    @property
    def needs_groupings(self) -> bool:
        return self.metric == "mer2024_avg"

    def value(self, scores: Mapping[str, float]) -> float:
        if self.floor_key is not None and scores[self.floor_key] < self.floor:
            return _MISSED + scores[self.floor_key]
        return scores[self.metric]
