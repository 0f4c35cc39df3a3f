"""OV-MER emotion-wheel (EW) metrics: precision/recall/F after mapping labels through the lexicon."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from core.labels import normalise_label
from core.metrics.common import paired_clips, set_scores


@dataclass
class PRF:
    p: float
    r: float
    f: float
    n_clips: int


@dataclass
class EWScores:
    """All figures in percent. per_metric holds the 12 mappings (M1, M2, W1-L1 .. W5-L2)."""

    per_metric: dict[str, PRF] = field(default_factory=dict)

    def _mean(self, names, attr) -> float:
        return float(np.mean([getattr(self.per_metric[n], attr) for n in names]))

    @property
    def m_avg(self) -> float:
        return self._mean(self.per_metric, "f")

    def level(self, level: int, attr: str = "f") -> float:
        """Mean over the emotion wheels at one level (the 'W<k>-L<level>' mappings)."""
        return self._mean([n for n in self.per_metric if n.startswith("W") and n.endswith(f"-L{level}")], attr)

    def as_dict(self) -> dict:
        return {
            "m_avg": self.m_avg,
            "l1_f": self.level(1, "f"),
            "l1_p": self.level(1, "p"),
            "l1_r": self.level(1, "r"),
            "l2_f": self.level(2, "f"),
            "per_metric": {name: vars(s) for name, s in self.per_metric.items()},
        }


def mapped_set(labels: Sequence[str], mapper) -> set[str]:
    mapped = (mapper(normalise_label(label)) for label in labels)
    return {m for m in mapped if m is not None}


def prf(gold: Mapping[str, Sequence[str]], pred: Mapping[str, Sequence[str]], mapper, clips: Sequence[str]) -> PRF:
    """Mean P and R over clips whose mapped gold is non-empty; F of those means."""
    precisions, recalls = [], []
    for clip in clips:
        gold_set = mapped_set(gold[clip], mapper)
        if not gold_set:
            continue
        p, r = set_scores(gold_set, mapped_set(pred[clip], mapper))
        precisions.append(p)
        recalls.append(r)
    return _prf(precisions, recalls)


def _prf(precisions: Sequence[float], recalls: Sequence[float]) -> PRF:
    """Mean P and R over the scored clips (fractions in, percent out); F of those means."""
    if not precisions:
        return PRF(0.0, 0.0, 0.0, 0)
    p, r = float(np.mean(precisions)), float(np.mean(recalls))
    f = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return PRF(100 * p, 100 * r, 100 * f, len(precisions))


def ew_scores(gold: Mapping[str, Sequence[str]], pred: Mapping[str, Sequence[str]], lexicon) -> EWScores:
    """The 12 mappings of a lexicon (anything with `metric_names()` and `mapper(name)`, such as
    vocab.lexicon.Lexicon) applied to gold and prediction, clip by clip.

    Each distinct label is normalised and mapped once (a run names a few hundred words
    millions of times); the figures are those of `prf` per mapping, to the last bit."""
    clips = paired_clips(gold, pred)
    names = lexicon.metric_names()
    mappers = [lexicon.mapper(name) for name in names]
    table: dict[str, tuple] = {}

    def rows(labels: Sequence[str]) -> list[tuple]:
        out = []
        for label in labels:
            row = table.get(label)
            if row is None:
                word = normalise_label(label)
                row = table[label] = tuple(mapper(word) for mapper in mappers)
            out.append(row)
        return out

    precisions: list[list[float]] = [[] for _ in names]
    recalls: list[list[float]] = [[] for _ in names]
    for clip in clips:
        gold_rows, pred_rows = rows(gold[clip]), rows(pred[clip])
        for i in range(len(names)):
            gold_set = {row[i] for row in gold_rows if row[i] is not None}
            if not gold_set:
                continue
            p, r = set_scores(gold_set, {row[i] for row in pred_rows if row[i] is not None})
            precisions[i].append(p)
            recalls[i].append(r)
    return EWScores({name: _prf(precisions[i], recalls[i]) for i, name in enumerate(names)})
