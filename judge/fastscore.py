"""The EW metrics of `core.metrics.ew`, with gold and word mappings looked up once.

Judges calibrate thresholds by scoring dozens of candidate answers on the same clips;
the official implementation maps every gold word again on each call. This one keeps the
mapped gold sets and a word -> mapped-values table, and gives the same figures
(tests/test_judge_fastscore.py checks it against `ew_scores`).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from core.labels import normalise_label
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


class PrefixTable:
    """Per clip, the EW precision/recall of every prefix of its clusters ranked by score.

    A judge that keeps the clusters above a threshold (with a floor and a cap) always keeps a
    prefix of that ranking, so scoring a threshold only has to pick one prefix length per clip:
    calibrating over many thresholds costs a lookup each, not a metric run.
    """

    def __init__(self, scorer: FastScorer, clips: Sequence[str], rows: Sequence[Sequence[tuple]], scores: Sequence[np.ndarray]):
        n_metrics = len(scorer.maps.names)
        longest = max((len(r) for r in rows), default=0)
        self.scores = scores
        # pr[c, n, i] = (P, R) of clip c's first n clusters under mapping i; valid[c, i]: gold non-empty.
        self.pr = np.zeros((len(clips), longest + 1, n_metrics, 2))
        self.valid = np.zeros((len(clips), n_metrics), dtype=bool)
        self.orders = []
        for c, (clip, clip_rows, clip_scores) in enumerate(zip(clips, rows, scores)):
            order = np.argsort(-np.asarray(clip_scores), kind="stable")
            self.orders.append(order)
            gold = scorer.gold_sets(clip)
            for i in range(n_metrics):
                self.valid[c, i] = bool(gold[i])
                if not gold[i]:
                    continue
                predicted: set = set()
                for n, j in enumerate(order, start=1):
                    value = clip_rows[j][i]
                    if value is not None:
                        predicted.add(value)
                    if predicted:
                        hits = len(gold[i] & predicted)
                        self.pr[c, n, i] = hits / len(predicted), hits / len(gold[i])
                self.pr[c, len(order) + 1 :, i] = self.pr[c, len(order), i]
        self._l1 = [scorer.maps.index(name) for name in L1_NAMES]

    def lengths(self, threshold: float, min_labels: int, max_labels: int) -> np.ndarray:
        out = np.empty(len(self.scores), dtype=int)
        for c, s in enumerate(self.scores):
            n = int(np.sum(np.asarray(s) >= threshold))
            if n < min_labels:
                n = min(min_labels, len(s))
            if max_labels:
                n = min(n, max_labels)
            out[c] = n
        return out

    def __call__(self, lengths: np.ndarray) -> dict[str, float]:
        chosen = self.pr[np.arange(len(lengths)), lengths]  # (clips, metrics, 2)
        counts = self.valid.sum(axis=0)
        sums = (chosen * self.valid[:, :, None]).sum(axis=0)
        means = np.divide(sums, counts[:, None], out=np.zeros_like(sums), where=counts[:, None] > 0)
        p, r = means[:, 0], means[:, 1]
        f = np.divide(2 * p * r, p + r, out=np.zeros_like(p), where=(p + r) > 0)
        return {
            "ew_l1_f": float(100 * f[self._l1].mean()),
            "ew_l1_p": float(100 * p[self._l1].mean()),
            "ew_l1_r": float(100 * r[self._l1].mean()),
            "m_avg": float(100 * f.mean()),
        }
