"""The category judge's evidence: the ballots of many clips as arrays, and each candidate's features.

A *candidate* is a (clip, mapping, category) that some voter's word lands on. A *voter* is a
model: the views of one model (its prompt settings, checkpoints; `model_of` maps each view,
i.e. each member, to its model) are pooled, and a model's vote for a candidate is the share of
its views present on the clip that named it. A member that is a model of its own votes 0 or 1.
Members missing from `model_of` are left out (views not kept).

Everything is computed for all clips at once: one Python pass over the ballots collects
every (clip, cluster, member) group, and the rest are array operations, so 20,000 clips cost
about as much as a few hundred clip-by-clip.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain

import numpy as np

from judge.fastscore import FastScorer, WordMaps
from vocab.ballot import ClipBallot

BASE_FEATURES = ["share", "reliable_share", "max_reliability", "prior", "first_position", "log_n_candidates", "n_present"]


@dataclass
class Rates:
    """Smoothed hit rates learned on training clips: per voter (reliability) and per
    "mapping|category" key (prior), both shrunk towards the overall rate by `strength`."""

    overall: float = 0.5
    member: dict[str, float] = field(default_factory=dict)
    member_counts: dict[str, int] = field(default_factory=dict)
    cluster_hits: dict[str, float] = field(default_factory=dict)
    cluster_counts: dict[str, int] = field(default_factory=dict)
    strength: float = 5.0

    def prior(self, key: str, own: float | None = None) -> float:
        """Smoothed hit rate of a key; `own` removes one training occurrence (no self-leak)."""
        hits, n = self.cluster_hits.get(key, 0.0), self.cluster_counts.get(key, 0)
        if own is not None:
            hits, n = hits - own, n - 1
        return (hits + self.strength * self.overall) / (n + self.strength)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("overall", "member", "member_counts", "cluster_hits", "cluster_counts", "strength")}


@dataclass
class Flat:
    """Ballots of many clips as arrays. Slots are the clusters some kept view voted for (clip
    after clip, clusters sorted); candidates are sorted by (clip, key); a key is a
    (mapping position, category) pair of `pairs`."""

    n_clips: int
    models: list[str]  # model id -> name
    clusters: list[list[str]]  # per clip, its slots' cluster ids
    words: list[list[str]]  # per clip, its slots' surface words
    slot_start: np.ndarray  # (n_clips + 1,)
    slot_keys: np.ndarray  # (n_slots, n_mappings): key id of the slot's word, or -1
    pairs: list[tuple[int, str]]
    n_views: np.ndarray  # (n_clips, n_models): views of each model present on the clip
    cand_clip: np.ndarray
    cand_key: np.ndarray
    v_cand: np.ndarray  # per (candidate, voting model): the candidate
    v_model: np.ndarray  # ... the model
    v_share: np.ndarray  # ... the share of the model's views naming the candidate
    v_pos: np.ndarray  # ... the first position (0 = first word) at which one of them named it

    def slot_candidates(self) -> np.ndarray:
        """(n_slots, n_mappings): the candidate each slot's word lands on, or -1."""
        n_keys = max(len(self.pairs), 1)
        slot_clip = np.repeat(np.arange(self.n_clips), np.diff(self.slot_start))
        out = np.full(self.slot_keys.shape, -1, dtype=np.int64)
        found = self.slot_keys >= 0
        lookup = self.cand_clip * n_keys + self.cand_key  # sorted
        out[found] = np.searchsorted(lookup, (slot_clip[:, None] * n_keys + self.slot_keys)[found])
        return out


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the sorted distinct values, how often each occurs): np.unique by a sort, which here is
    several times faster than numpy's hash-based unique of large integer codes."""
    ordered = np.sort(values)
    first = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(ordered) else np.zeros(0, dtype=np.int64)
    return ordered[first], np.diff(np.r_[first, len(ordered)])


def _surface_words(e_slot, e_word, e_voter, words: list[str], n_voters: int, n_slots: int) -> np.ndarray:
    """Per slot, the id of the word most voters used for it (each voter counted once), ties
    alphabetical: ClipBallot.surface_word with models as voters."""
    if not n_slots:
        return np.zeros(0, dtype=np.int64)
    rank = np.empty(len(words), dtype=np.int64)
    rank[sorted(range(len(words)), key=words.__getitem__)] = np.arange(len(words))
    n_words, n_voters = max(len(words), 1), max(n_voters, 1)
    used = _distinct((e_slot * n_words + e_word) * n_voters + e_voter)[0] // n_voters
    slot_word, count = _distinct(used)
    slot, word = slot_word // n_words, slot_word % n_words
    order = np.lexsort((rank[word], -count, slot))
    slot, word = slot[order], word[order]
    return word[np.r_[True, slot[1:] != slot[:-1]]]


def flatten(ballots: Sequence[ClipBallot], maps: WordMaps, indices: Sequence[int], model_of: Mapping[str, str]) -> Flat:
    """The ballots as arrays, views pooled into models (see the module docstring)."""
    n_clips, n_ii = len(ballots), len(indices)
    models = sorted(set(model_of.values()))
    model_id = {m: i for i, m in enumerate(models)}
    # ---- one Python pass: per (clip, cluster, member) group its member, first position and words
    g_member: list[str] = []
    g_pos: list[int] = []
    g_len: list[int] = []
    c_slot: list[int] = []
    c_groups: list[int] = []
    g_clip_count: list[int] = []
    all_words: list[str] = []
    clusters: list[list[str]] = []
    slot_start = [0]
    n_views = np.zeros((n_clips, len(models)), dtype=np.int64)
    for c, ballot in enumerate(ballots):
        for member in ballot.members:
            if member in model_of:
                n_views[c, model_id[model_of[member]]] += 1
        names = sorted(ballot.votes)
        clusters.append(names)
        base = slot_start[-1]
        slot_of = {cluster: base + j for j, cluster in enumerate(names)}
        slot_start.append(base + len(names))
        before = len(g_member)
        by_cluster = ballot.votes.values()
        c_slot += map(slot_of.__getitem__, ballot.votes)
        c_groups += map(len, by_cluster)
        g_member += chain.from_iterable(by_cluster)
        groups = list(chain.from_iterable(map(dict.values, by_cluster)))
        g_len += map(len, groups)
        all_words += chain.from_iterable(groups)
        n_groups = len(g_member) - before
        firsts = ballot.firsts  # in the order of votes' (cluster, member) pairs
        g_pos += firsts if len(firsts) == n_groups else (tuple(firsts[:n_groups]) + (0,) * max(n_groups - len(firsts), 0))
        g_clip_count.append(n_groups)
    member_ids = {m: i for i, m in enumerate(dict.fromkeys(g_member))}
    word_ids = {w: i for i, w in enumerate(dict.fromkeys(all_words))}
    words = list(word_ids)
    member_model = np.array([model_id.get(model_of.get(m, ""), -1) for m in member_ids], dtype=np.int64)
    g_len_a = np.asarray(g_len, dtype=np.int64)
    e_clip = np.repeat(np.repeat(np.arange(n_clips), g_clip_count), g_len_a)
    e_member = np.repeat(np.array([member_ids[m] for m in g_member], dtype=np.int64), g_len_a)
    e_pos = np.repeat(np.asarray(g_pos, dtype=np.int64), g_len_a)
    e_word = np.array([word_ids[w] for w in all_words], dtype=np.int64)
    e_slot = np.repeat(np.repeat(np.asarray(c_slot, dtype=np.int64), np.asarray(c_groups, dtype=np.int64)), g_len_a)
    # ---- views not kept are dropped, and the clusters only they voted for with them
    e_model = member_model[e_member] if len(e_member) else e_member
    kept = e_model >= 0
    e_clip, e_member, e_model, e_pos, e_word, e_slot = (a[kept] for a in (e_clip, e_member, e_model, e_pos, e_word, e_slot))
    slots = _distinct(e_slot)[0]
    slot_clip_all = np.repeat(np.arange(n_clips), np.diff(slot_start))
    new_start = np.r_[0, np.cumsum(np.bincount(slot_clip_all[slots], minlength=n_clips))].astype(np.int64)
    e_slot = np.searchsorted(slots, e_slot)
    old_start = np.asarray(slot_start)
    clusters = [[names[s - old_start[c]] for s in slots[new_start[c]: new_start[c + 1]].tolist()] for c, names in enumerate(clusters)]
    slot_words = _surface_words(e_slot, e_word, e_model, words, len(models), len(slots))
    surface = [words[w] for w in slot_words.tolist()]
    per_clip_words = [surface[new_start[c]: new_start[c + 1]] for c in range(n_clips)]
    # ---- each word's key under each modelled mapping
    rows = [maps(w) for w in words]
    pairs = sorted({(ii, row[i]) for row in rows for ii, i in enumerate(indices) if row[i] is not None})
    key_of = {pair: k for k, pair in enumerate(pairs)}
    word_keys = np.full((len(words), n_ii), -1, dtype=np.int64)
    for w, row in enumerate(rows):
        for ii, i in enumerate(indices):
            if row[i] is not None:
                word_keys[w, ii] = key_of[(ii, row[i])]
    # ---- per (clip, key, model): how many of its views named the key, and the earliest position
    keys = word_keys[e_word] if len(e_word) else np.zeros((0, n_ii), dtype=np.int64)
    has = keys >= 0
    t_clip, t_model, t_member, t_pos = (np.broadcast_to(a[:, None], keys.shape)[has] for a in (e_clip, e_model, e_member, e_pos))
    n_keys, n_models, n_members = max(len(pairs), 1), max(len(models), 1), max(len(member_ids), 1)
    ckm = (t_clip * n_keys + keys[has]) * n_models + t_model
    order = np.lexsort((t_pos, ckm))
    ckm_sorted = ckm[order]
    first = np.r_[True, ckm_sorted[1:] != ckm_sorted[:-1]] if len(ckm_sorted) else np.zeros(0, dtype=bool)
    v_code, v_pos = ckm_sorted[first], t_pos[order][first]
    named = _distinct(ckm * n_members + t_member)[0] // n_members  # one per (clip, key, model, view)
    v_count = np.bincount(np.searchsorted(v_code, named), minlength=len(v_code)).astype(float)
    cand_code = v_code // n_models
    v_model = v_code % n_models
    start = np.r_[True, cand_code[1:] != cand_code[:-1]] if len(cand_code) else np.zeros(0, dtype=bool)
    v_cand = np.cumsum(start) - 1
    cand_clip, cand_key = cand_code[start] // n_keys, cand_code[start] % n_keys
    v_share = v_count / np.maximum(n_views[cand_clip[v_cand], v_model], 1) if len(v_cand) else v_count
    return Flat(n_clips, models, clusters, per_clip_words, new_start, word_keys[slot_words] if len(slot_words) else
                np.zeros((0, n_ii), dtype=np.int64), pairs, n_views, cand_clip, cand_key, v_cand, v_model, v_share, v_pos)


def feature_names(members: Sequence[str], mapping_names: Sequence[str]) -> list[str]:
    return [f"vote:{m}" for m in members] + BASE_FEATURES + [f"mapping:{n}" for n in mapping_names]


def features(flat: Flat, members: Sequence[str], rates: Rates, indices: Sequence[int], own: np.ndarray | None = None) -> np.ndarray:
    """(n_candidates, n_features): per fitted model its share of views naming the candidate;
    the voters' share of the models present, their reliability (summed, max), the key's prior,
    the voters' mean 1 / (1 + first position), log(1 + candidates of the clip's mapping), the
    share of fitted models present, and the mapping one-hot. `own`: the training targets,
    removed from the prior (leave-one-out)."""
    n_cands, n_ii, n_models = len(flat.cand_clip), len(indices), len(members)
    column = {m: j for j, m in enumerate(members)}
    model_column = np.array([column.get(m, -1) for m in flat.models], dtype=np.int64)
    rel = np.array([rates.member.get(m, 0.0) for m in flat.models])
    present = flat.n_views > 0
    n_present = np.maximum(present.sum(axis=1), 1)
    total_rel = (present * rel).sum(axis=1) if len(rel) else np.zeros(flat.n_clips)
    total_rel[total_rel == 0] = 1.0
    key_mapping = np.array([ii for ii, _ in flat.pairs], dtype=np.int64)
    cand_mapping = key_mapping[flat.cand_key] if n_cands else np.zeros(0, dtype=np.int64)
    if own is None:
        key_prior = np.array([rates.prior(f"{indices[ii]}|{cat}") for ii, cat in flat.pairs])
        prior = key_prior[flat.cand_key] if n_cands else np.zeros(0)
    else:
        prior = np.array([rates.prior(f"{indices[flat.pairs[k][0]]}|{flat.pairs[k][1]}", o)
                          for k, o in zip(flat.cand_key.tolist(), own.tolist())])
    count = np.bincount(flat.v_cand, minlength=n_cands)
    v_rel = rel[flat.v_model] if len(flat.v_model) else np.zeros(0)
    rel_max = np.zeros(n_cands)
    np.maximum.at(rel_max, flat.v_cand, v_rel)
    per_mapping = np.zeros((flat.n_clips, n_ii), dtype=np.int64)
    np.add.at(per_mapping, (flat.cand_clip, cand_mapping), 1)
    X = np.zeros((n_cands, n_models + len(BASE_FEATURES) + n_ii))
    voted = model_column[flat.v_model] >= 0 if len(flat.v_model) else np.zeros(0, dtype=bool)
    X[flat.v_cand[voted], model_column[flat.v_model[voted]]] = flat.v_share[voted]
    if n_cands:
        X[:, n_models] = count / n_present[flat.cand_clip]
        X[:, n_models + 1] = np.bincount(flat.v_cand, weights=v_rel, minlength=n_cands) / total_rel[flat.cand_clip]
        X[:, n_models + 2] = rel_max
        X[:, n_models + 3] = prior
        X[:, n_models + 4] = np.bincount(flat.v_cand, weights=1.0 / (1 + flat.v_pos), minlength=n_cands) / np.maximum(count, 1)
        X[:, n_models + 5] = np.log1p(per_mapping[flat.cand_clip, cand_mapping])
        X[:, n_models + 6] = n_present[flat.cand_clip] / max(n_models, 1)
        X[np.arange(n_cands), n_models + len(BASE_FEATURES) + cand_mapping] = 1.0
    return X


def training_evidence(flat: Flat, indices: Sequence[int], golds: Sequence[Sequence[set]], strength: float
                      ) -> tuple[Rates, list[float], np.ndarray]:
    """From the training clips: (rates, per mapping the mean number of gold categories no voter
    proposed, per candidate 1.0 when it is in its clip's gold)."""
    in_gold = np.array([float(flat.pairs[k][1] in golds[c][indices[flat.pairs[k][0]]])
                        for c, k in zip(flat.cand_clip.tolist(), flat.cand_key.tolist())])
    rates = Rates(strength=strength, overall=float(np.mean(in_gold)) if len(in_gold) else 0.5)
    counts = np.bincount(flat.v_model, minlength=len(flat.models))
    hits = np.bincount(flat.v_model, weights=in_gold[flat.v_cand] if len(flat.v_cand) else None, minlength=len(flat.models))
    seen = flat.n_views.sum(axis=0) > 0
    for j, model in enumerate(flat.models):
        if seen[j] or counts[j]:
            rates.member_counts[model] = int(counts[j])
            # A model that never voted on a training clip has shown nothing: weight 0.
            rates.member[model] = 0.0 if not counts[j] else (float(hits[j]) + strength * rates.overall) / (counts[j] + strength)
    key_counts = np.bincount(flat.cand_key, minlength=len(flat.pairs))
    key_hits = np.bincount(flat.cand_key, weights=in_gold, minlength=len(flat.pairs))
    for k, (ii, cat) in enumerate(flat.pairs):
        if key_counts[k]:
            rates.cluster_hits[f"{indices[ii]}|{cat}"] = float(key_hits[k])
            rates.cluster_counts[f"{indices[ii]}|{cat}"] = int(key_counts[k])
    proposed: list[list[set]] = [[set() for _ in indices] for _ in range(flat.n_clips)]
    for c, k in zip(flat.cand_clip.tolist(), flat.cand_key.tolist()):
        proposed[c][flat.pairs[k][0]].add(flat.pairs[k][1])
    unproposed = []
    for ii, i in enumerate(indices):
        missed = [len(gold[i] - proposed[c][ii]) for c, gold in enumerate(golds) if gold[i]]
        unproposed.append(float(np.mean(missed)) if missed else 0.0)
    return rates, unproposed, in_gold


def best_views(ballots: Sequence[ClipBallot], scorer: FastScorer, model_of: Mapping[str, str], per_model: int,
               score) -> set[str]:
    """Each model's best `per_model` views by their own answers' `score` on the training clips."""
    by_model: dict[str, list[tuple[float, str]]] = {}
    for member in sorted({m for b in ballots for m in b.members}):
        answered = [b for b in ballots if member in b.members]
        said = {b.clip: [w for by_member in b.votes.values() for w in by_member.get(member, [])] for b in answered}
        value = score(scorer([b.clip for b in answered], said)) if answered else -math.inf
        by_model.setdefault(model_of.get(member, member), []).append((-value, member))
    return {m for ranked in by_model.values() for _, m in sorted(ranked)[:per_model]}
