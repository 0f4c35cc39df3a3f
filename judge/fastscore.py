"""The EW metrics of `ensemble.metrics.ew`, with gold and word mappings looked up once.

Judges calibrate thresholds by scoring dozens of candidate answers on the same clips;
the official implementation maps every gold word again on each call. This one keeps the
mapped gold sets and a word -> mapped-values table, and gives the same figures
(tests/test_judge_fastscore.py checks it against `ew_scores`).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ensemble.labels import normalise_label
from vocab.lexicon import N_WHEELS, Lexicon

L1_NAMES = tuple(f"W{k}-L1" for k in range(1, N_WHEELS + 1))


class WordMaps:
    """word -> its value under each of the lexicon's 12 mappings (None: dropped)."""

    def __init__(self, lexicon: Lexicon):
        self.lexicon = lexicon
        self.names = lexicon.metric_names()
        self._mappers = [lexicon.mapper(n) for n in self.names]
        self._table: dict[str, tuple] = {}

    def __call__(self, word: str) -> tuple:
        row = self._table.get(word)
        if row is None:
            clean = normalise_label(word)
            row = tuple(mapper(clean) for mapper in self._mappers)
            self._table[word] = row
        return row

    def index(self, name: str) -> int:
        return self.names.index(name)


class FastScorer:
    """Scores {clip: words} against a fixed gold, returning the keys of `tuning.Scorer`."""

    def __init__(self, lexicon: Lexicon, gold: Mapping[str, Sequence[str]], word_maps: WordMaps | None = None):
        self.maps = word_maps or WordMaps(lexicon)
        n = len(self.maps.names)
        self._gold = {clip: [set() for _ in range(n)] for clip in gold}
        for clip, words in gold.items():
            for word in words:
                for i, value in enumerate(self.maps(word)):
                    if value is not None:
                        self._gold[clip][i].add(value)
        self._l1 = [self.maps.index(name) for name in L1_NAMES]

    def gold_sets(self, clip: str) -> list[set]:
        return self._gold[clip]

    def per_metric(self, clips: Sequence[str], predictions: Mapping[str, Sequence[str]]) -> np.ndarray:
        """(n_metrics, 3) array of P, R, F in percent."""
        n = len(self.maps.names)
        sums = np.zeros((n, 2))
        counts = np.zeros(n)
        for clip in clips:
            gold_sets = self._gold[clip]
            rows = [self.maps(w) for w in predictions[clip]]
            for i in range(n):
                gold_set = gold_sets[i]
                if not gold_set:
                    continue
                counts[i] += 1
                pred = {row[i] for row in rows if row[i] is not None}
                if pred:
                    hits = len(gold_set & pred)
                    sums[i, 0] += hits / len(pred)
                    sums[i, 1] += hits / len(gold_set)
        means = np.divide(sums, counts[:, None], out=np.zeros_like(sums), where=counts[:, None] > 0)
        p, r = means[:, 0], means[:, 1]
        f = np.divide(2 * p * r, p + r, out=np.zeros_like(p), where=(p + r) > 0)
        return 100 * np.stack([p, r, f], axis=1)

    def __call__(self, clips: Sequence[str], predictions: Mapping[str, Sequence[str]]) -> dict[str, float]:
        table = self.per_metric(clips, predictions)
        l1 = table[self._l1]
        return {
            "ew_l1_f": float(l1[:, 2].mean()),
            "ew_l1_p": float(l1[:, 0].mean()),
            "ew_l1_r": float(l1[:, 1].mean()),
            "m_avg": float(table[:, 2].mean()),
        }
