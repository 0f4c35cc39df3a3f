"""Per-cluster evidence read off a ballot, and the per-member / per-cluster rates learned from gold.

Everything a weighted vote or a stacker decides with lives here, so both see the same
evidence: which members voted, how reliable they have been, how often a cluster proposed
by anyone turned out right, and whether members agree at the emotion wheels' coarse level
(two members saying "furious" and "irritated" land on the same level-1 category).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from judge.fastscore import L1_NAMES, FastScorer, WordMaps
from vocab.ballot import ClipBallot


@dataclass
class ClusterView:
    """One ballot, flattened: clusters in a fixed order with what the metric will see of each."""

    ballot: ClipBallot
    clusters: list[str]
    words: list[str]  # the surface word emitted for each cluster
    rows: list[tuple]  # each word's value under the 12 lexicon mappings


def view(ballot: ClipBallot, maps: WordMaps) -> ClusterView:
    clusters = sorted(ballot.votes)
    words = [ballot.surface_word(c) for c in clusters]
    return ClusterView(ballot, clusters, words, [maps(w) for w in words])


def targets(views: Sequence[ClusterView], scorer: FastScorer, metric_indices: Sequence[int]) -> list[np.ndarray]:
    """Per cluster: the share of the chosen mappings under which its word hits the clip's gold."""
    out = []
    for v in views:
        gold = scorer.gold_sets(v.ballot.clip)
        hits = np.array(
            [[row[i] is not None and row[i] in gold[i] for i in metric_indices] for row in v.rows], dtype=float
        ).reshape(len(v.rows), len(metric_indices))
        out.append(hits.mean(axis=1) if len(metric_indices) else np.zeros(len(v.rows)))
    return out


@dataclass
class Rates:
    """Smoothed hit rates learned on training clips: per member (reliability) and per cluster (prior).

    A "cluster" is whatever unit is counted: a synonym cluster here, a (mapping, category)
    key in the category judge.
    """

    overall: float = 0.5
    member: dict[str, float] = field(default_factory=dict)
    member_counts: dict[str, int] = field(default_factory=dict)
    cluster_hits: dict[str, float] = field(default_factory=dict)
    cluster_counts: dict[str, int] = field(default_factory=dict)
    strength: float = 5.0

    @classmethod
    def learn(cls, views: Sequence[ClusterView], ys: Sequence[np.ndarray], strength: float = 5.0) -> "Rates":
        rates = cls(strength=strength)
        all_y = np.concatenate(list(ys)) if ys else np.zeros(0)
        rates.overall = float(all_y.mean()) if all_y.size else 0.5
        hits: dict[str, float] = {}
        for v, y in zip(views, ys):
            for cluster, value in zip(v.clusters, y):
                rates.cluster_hits[cluster] = rates.cluster_hits.get(cluster, 0.0) + float(value)
                rates.cluster_counts[cluster] = rates.cluster_counts.get(cluster, 0) + 1
                for member in v.ballot.votes[cluster]:
                    hits[member] = hits.get(member, 0.0) + float(value)
                    rates.member_counts[member] = rates.member_counts.get(member, 0) + 1
            for member in v.ballot.members:
                rates.member_counts.setdefault(member, 0)
        rates.member = rates.reliability(hits)
        return rates

    def reliability(self, hits: Mapping[str, float]) -> dict[str, float]:
        """Per member of member_counts: its smoothed hit rate, given its summed hits."""
        # A member that never voted on a training clip has shown nothing: weight 0.
        return {m: 0.0 if n == 0 else (hits.get(m, 0.0) + self.strength * self.overall) / (n + self.strength)
                for m, n in self.member_counts.items()}

    def prior(self, cluster: str, own: float | None = None) -> float:
        """Smoothed hit rate of a cluster; `own` removes one training occurrence (no self-leak)."""
        hits, n = self.cluster_hits.get(cluster, 0.0), self.cluster_counts.get(cluster, 0)
        if own is not None:
            hits, n = hits - own, n - 1
        return (hits + self.strength * self.overall) / (n + self.strength)

    def seen(self, cluster: str) -> int:
        return self.cluster_counts.get(cluster, 0)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("overall", "member", "member_counts", "cluster_hits", "cluster_counts", "strength")}

    @classmethod
    def from_dict(cls, data: Mapping) -> "Rates":
        return cls(**{k: data[k] for k in ("overall", "member", "member_counts", "cluster_hits", "cluster_counts", "strength")})


def coarse_agreement(v: ClusterView, weights: Mapping[str, float], wheel_indices: Sequence[int]) -> np.ndarray:
    """Per cluster: weighted share of members voting for any cluster on the same wheel level-1
    category as this one, averaged over the wheels (0 where the word is on no wheel)."""
    total = sum(weights.get(m, 0.0) for m in v.ballot.members)
    out = np.zeros(len(v.clusters))
    if total <= 0 or not wheel_indices:
        return out
    for i in wheel_indices:
        voters_by_category: dict[str, set[str]] = {}
        for cluster, row in zip(v.clusters, v.rows):
            if row[i] is not None:
                voters_by_category.setdefault(row[i], set()).update(v.ballot.votes[cluster])
        # Summed in sorted member order: a set's order follows the hash seed, and so would the last bits.
        weight_of = {cat: sum(weights.get(m, 0.0) for m in sorted(voters)) for cat, voters in voters_by_category.items()}
        for j, row in enumerate(v.rows):
            if row[i] is not None:
                out[j] += weight_of[row[i]] / total
    return out / len(wheel_indices)


def weighted_share(v: ClusterView, weights: Mapping[str, float]) -> np.ndarray:
    """Per cluster: the voters' weight over the weight of every member that answered this clip."""
    total = sum(weights.get(m, 0.0) for m in v.ballot.members)
    if total <= 0:
        return np.zeros(len(v.clusters))
    return np.array([sum(weights.get(m, 0.0) for m in v.ballot.votes[c]) / total for c in v.clusters])


def wheel_indices(maps: WordMaps) -> list[int]:
    return [maps.index(name) for name in L1_NAMES]


def stack_features(
    v: ClusterView, members: Sequence[str], rates: Rates, maps: WordMaps, own: np.ndarray | None = None
) -> tuple[np.ndarray, list[str]]:
    """(n_clusters, n_features) matrix and the feature names. `own`: training targets (leave-one-out prior)."""
    ballot = v.ballot
    n_labels, positions = ballot.n_labels, ballot.positions  # built on each access: once here
    n_present = max(len(ballot.members), 1)
    uniform = {m: 1.0 for m in ballot.members}
    wheels = wheel_indices(maps)
    share = weighted_share(v, uniform)
    reliable = weighted_share(v, rates.member)
    agree = coarse_agreement(v, uniform, wheels)
    agree_rel = coarse_agreement(v, rates.member, wheels)
    order = sorted(range(len(v.clusters)), key=lambda j: (-len(ballot.votes[v.clusters[j]]), v.clusters[j]))
    rank = np.empty(len(v.clusters))
    rank[order] = np.arange(len(v.clusters)) / max(len(v.clusters), 1)
    columns: dict[str, np.ndarray] = {f"vote:{m}": np.array([float(m in ballot.votes[c]) for c in v.clusters]) for m in members}
    columns.update(
        {
            "share": share,
            "reliable_share": reliable,
            "max_reliability": np.array([max(rates.member.get(m, 0.0) for m in ballot.votes[c]) for c in v.clusters]),
            "coarse_agreement": agree,
            "coarse_reliable": agree_rel,
            "on_wheels": np.array([sum(row[i] is not None for i in wheels) / len(wheels) for row in v.rows]),
            "prior": np.array(
                [rates.prior(c, None if own is None else float(own[j])) for j, c in enumerate(v.clusters)]
            ),
            "log_seen": np.array([math.log1p(rates.seen(c) - (0 if own is None else 1)) for c in v.clusters]),
            "specificity": np.array(
                [np.mean([1.0 / max(n_labels.get(m, 1), 1) for m in ballot.votes[c]]) for c in v.clusters]
            ),
            "first_position": np.array(
                [np.mean([1.0 / (1 + positions.get(c, {}).get(m, 0)) for m in ballot.votes[c]]) for c in v.clusters]
            ),
            "rank": rank,
            "log_n_clusters": np.full(len(v.clusters), math.log(len(v.clusters) + 1)),
            "n_present": np.full(len(v.clusters), n_present / max(len(members), 1)),
        }
    )
    names = list(columns)
    matrix = np.stack([columns[n] for n in names], axis=1) if v.clusters else np.zeros((0, len(names)))
    return matrix, names
