"""The category judge over many clips at once: the same evidence and greedy choice as
`CategoryJudge._candidates`, `_matrix` and `_choose`, as array operations over all clips.

A challenge run judges 20,000 clips; clip by clip, the judge spent most of its time in
small Python loops and numpy calls on arrays of a dozen values. Here the ballots are
flattened once (one row per member word), the candidate (mapping, category) features of
every clip form one matrix scored in one call, and the greedy choice advances every clip one
step at a time. Every number is computed by the same operations in the same order as the
clip-by-clip code (sums over voters in sorted member order, the per-mapping sums in
candidate order), so the answers are the same to the last bit
(tests/test_judge_category_batch.py compares them).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

from judge.features import Rates
from vocab.ballot import ClipBallot

# `judge` parameters below are CategoryJudge instances (judge.category); that module imports
# this one, so the type is named in words only, keeping the imports one way.
CategoryJudge = Any


@dataclass
class CategoryBatch:
    """What the greedy choice needs for many clips, independent of the threshold.

    slots are the clusters of every clip (clip after clip, clusters sorted); slot_cands[s, ii]
    is the candidate (row of `p`) that slot s's surface word lands on under mapping ii, or -1.
    """

    clips: list[str]
    words: list[list[str]]  # per clip: the surface word of each cluster, clusters sorted
    slot_start: np.ndarray  # (n_clips + 1,) first slot of each clip
    slot_cands: np.ndarray  # (n_slots, n_mappings)
    p: np.ndarray  # (n_candidates,) probability of each candidate
    G: np.ndarray  # (n_clips, n_mappings) expected gold size per mapping


def _sequential_sums(groups: np.ndarray, values: np.ndarray, n_groups: int, start: np.ndarray | None = None) -> np.ndarray:
    """Per group, start + values[0] + values[1] + ... added left to right (as Python's sum()
    and `x += v` loops do). `groups` is sorted, so each group is one run of elements; the
    runs are lined up longest first and the k-th elements of all runs added in one step."""
    out = np.zeros(n_groups) if start is None else start.copy()
    if not len(groups):
        return out
    run_start = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    run_size = np.diff(np.r_[run_start, len(groups)])
    order = np.argsort(-run_size, kind="stable")
    run_start, run_size, run_group = run_start[order], run_size[order], groups[run_start[order]]
    total = out[run_group]
    n_longer = np.searchsorted(-run_size, -np.arange(1, int(run_size[0]) + 1), side="right")  # runs longer than k
    for k, n in enumerate(n_longer):
        total[:n] += values[run_start[:n] + k]
    out[run_group] = total
    return out


def _probabilities_by_clip(model, X: np.ndarray, cand_clip: np.ndarray, n_clips: int) -> np.ndarray:
    """model.predict_proba of each clip's rows as its own matrix, as the clip-by-clip code scores them.

    BLAS may round a row's dot product differently depending on where the row sits in a larger
    matrix; clips with the same number of rows are stacked as (clips, rows, features), whose
    product is one matrix-vector product per clip, exactly as for one clip alone.
    """
    p = np.zeros(len(X))
    counts = np.bincount(cand_clip, minlength=n_clips)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    for n in np.unique(counts[counts > 0]):
        rows = starts[counts == n][:, None] + np.arange(n)
        p[rows] = model.predict_proba(X[rows])
    return p


@dataclass
class Flat:
    """The ballots of many clips flattened for the category judge (what does not depend on
    anything learned): candidates (clip, key) sorted, and their voters sorted by name."""

    n_clips: int
    names: list[str]  # member id -> name
    present: list[list[int]]  # per clip, its members' ids in ballot order
    words_per_clip: list[list[str]]
    slot_start: list[int]
    slot_words: np.ndarray
    word_keys: np.ndarray  # (n_words, n_mappings) key id or -1
    pairs: list[tuple[int, str]]  # key id -> (mapping position, category)
    v_cand: np.ndarray  # per (candidate, voter): the candidate
    v_member: np.ndarray  # ... the voter's member id
    min_pos: np.ndarray  # ... the voter's first position for the candidate
    cand_clip: np.ndarray
    cand_key: np.ndarray


def _surface_words(e_slot: np.ndarray, e_word: np.ndarray, e_member: np.ndarray, words: list[str], n_members: int,
                   n_slots: int) -> np.ndarray:
    """Per slot (cluster of a clip), the id of ClipBallot.surface_word: the word the most members
    used for the cluster, ties broken alphabetically."""
    if not n_slots:
        return np.zeros(0, dtype=np.int64)
    rank = np.empty(len(words), dtype=np.int64)
    rank[sorted(range(len(words)), key=words.__getitem__)] = np.arange(len(words))
    n_words, n_members = max(len(words), 1), max(n_members, 1)
    used = np.unique((e_slot * n_words + e_word) * n_members + e_member) // n_members  # (slot, word) per member using it
    slot_word, count = np.unique(used, return_counts=True)
    slot, word = slot_word // n_words, slot_word % n_words
    order = np.lexsort((rank[word], -count, slot))
    slot, word = slot[order], word[order]
    first = np.r_[True, slot[1:] != slot[:-1]]
    return word[first]


def flatten(judge: CategoryJudge, ballots: Sequence[ClipBallot]) -> Flat:
    maps, indices = judge.word_maps_, judge.indices_
    n_ii = len(indices)

    # ---- flatten: one group per (clip, cluster, member) with the member's first position there,
    # the cluster's slot (clusters of a clip are sorted) and its words; ids for members and
    # words are given afterwards, in one pass each
    g_member: list[str] = []
    g_pos: list[int] = []
    g_len: list[int] = []
    c_slot: list[int] = []
    c_groups: list[int] = []
    g_clip_count: list[int] = []
    all_words: list[str] = []
    slot_start = [0]
    present: list[list[str]] = []
    for ballot in ballots:
        present.append(ballot.members)
        base = slot_start[-1]
        slot_of = {cluster: base + j for j, cluster in enumerate(sorted(ballot.votes))}
        slot_start.append(base + len(slot_of))
        before = len(g_member)
        # Whole ballots at a time, by C-level extends: per cluster its slot and member count,
        # per group its member and words.
        by_cluster = ballot.votes.values()
        c_slot += map(slot_of.__getitem__, ballot.votes)
        c_groups += map(len, by_cluster)
        g_member += chain.from_iterable(by_cluster)
        groups = list(chain.from_iterable(map(dict.values, by_cluster)))
        g_len += map(len, groups)
        all_words += chain.from_iterable(groups)
        n_groups = len(g_member) - before
        firsts = ballot.firsts  # in the order of votes' (cluster, member) pairs; 0 where missing
        g_pos += firsts if len(firsts) == n_groups else (tuple(firsts[:n_groups]) + (0,) * max(n_groups - len(firsts), 0))
        g_clip_count.append(n_groups)
    member_ids = {m: i for i, m in enumerate(dict.fromkeys([m for ids in present for m in ids] + g_member))}
    word_ids = {w: i for i, w in enumerate(dict.fromkeys(all_words))}
    g_len_a = np.asarray(g_len, dtype=np.int64)
    e_clip = np.repeat(np.repeat(np.arange(len(ballots)), g_clip_count), g_len_a)
    e_member = np.repeat(np.array([member_ids[m] for m in g_member], dtype=np.int64), g_len_a)
    e_pos = np.repeat(np.asarray(g_pos, dtype=np.int64), g_len_a)
    e_word = np.array([word_ids[w] for w in all_words], dtype=np.int64)
    g_slot = np.repeat(np.asarray(c_slot, dtype=np.int64), np.asarray(c_groups, dtype=np.int64))
    e_slot = np.repeat(g_slot, g_len_a)
    present = [[member_ids[m] for m in ids] for ids in present]
    n_clips, n_members = len(ballots), len(member_ids)
    names = list(member_ids)
    slot_words = _surface_words(e_slot, e_word, e_member, list(word_ids), n_members, slot_start[-1])
    words_list = list(word_ids)
    surface = [words_list[w] for w in slot_words.tolist()]
    words_per_clip = [surface[slot_start[c]: slot_start[c + 1]] for c in range(n_clips)]

    # ---- every word's category under each modelled mapping, as a global candidate key id;
    # key ids follow (mapping position, category) order, the order candidates are listed in
    words = list(word_ids)
    rows = [maps(w) for w in words]
    pairs = sorted({(ii, row[i]) for row in rows for ii, i in enumerate(indices) if row[i] is not None})
    key_of = {pair: k for k, pair in enumerate(pairs)}
    word_keys = np.full((len(words), n_ii), -1, dtype=np.int64)
    for w, row in enumerate(rows):
        for ii, i in enumerate(indices):
            if row[i] is not None:
                word_keys[w, ii] = key_of[(ii, row[i])]

    # ---- (clip, member, key) with the member's first position for it (_member_categories)
    e_clip_a, e_member_a, e_pos_a = e_clip, e_member, e_pos
    keys = word_keys[e_word] if len(e_word) else np.zeros((0, n_ii), dtype=np.int64)
    has = keys >= 0
    t_clip = np.broadcast_to(e_clip_a[:, None], keys.shape)[has]
    t_member = np.broadcast_to(e_member_a[:, None], keys.shape)[has]
    t_pos = np.broadcast_to(e_pos_a[:, None], keys.shape)[has]
    t_key = keys[has]
    n_keys = max(len(pairs), 1)
    name_rank = np.empty(n_members, dtype=np.int64)
    name_rank[np.argsort(np.array(names, dtype=object), kind="stable")] = np.arange(n_members)
    # Candidates of a clip are ordered by key; voters of a candidate by member name.
    code = (t_clip * n_keys + t_key) * max(n_members, 1) + name_rank[t_member]
    order = np.lexsort((t_pos, code))
    code, t_pos = code[order], t_pos[order]
    first = np.r_[True, code[1:] != code[:-1]] if len(code) else np.zeros(0, dtype=bool)
    code, min_pos = code[first], t_pos[first]  # one row per (clip, key, voter): its first position
    v_cand_code = code // max(n_members, 1)
    v_rank = code % max(n_members, 1)
    v_member = np.argsort(name_rank)[v_rank] if n_members else v_rank
    cand_start = np.r_[True, v_cand_code[1:] != v_cand_code[:-1]] if len(code) else np.zeros(0, dtype=bool)
    v_cand = np.cumsum(cand_start) - 1
    cand_code = v_cand_code[cand_start]
    cand_clip, cand_key = cand_code // n_keys, cand_code % n_keys
    return Flat(n_clips, names, present, words_per_clip, slot_start, slot_words, word_keys, pairs,
                v_cand, v_member, min_pos, cand_clip, cand_key)


def features(judge: CategoryJudge, flat: Flat, own: np.ndarray | None = None) -> np.ndarray:
    """The candidates' feature matrix, rows and columns as CategoryJudge._candidates gives them
    (`own`: per candidate, 1.0 when it is in the training clip's gold, for the leave-one-out prior)."""
    indices, n_ii, rel = judge.indices_, len(judge.indices_), judge.rates_.member
    n_clips, names, present, pairs = flat.n_clips, flat.names, flat.present, flat.pairs
    v_cand, v_member, min_pos = flat.v_cand, flat.v_member, flat.min_pos
    cand_clip, cand_key = flat.cand_clip, flat.cand_key
    n_cands = len(cand_clip)
    key_mapping = np.array([ii for ii, _ in pairs], dtype=np.int64)
    if own is None:
        key_prior = np.array([judge.rates_.prior(f"{indices[ii]}|{cat}") for ii, cat in pairs])
        prior = key_prior[cand_key] if n_cands else np.zeros(0)
    else:
        prior = np.array([judge.rates_.prior(f"{indices[pairs[k][0]]}|{pairs[k][1]}", float(o))
                          for k, o in zip(cand_key.tolist(), own.tolist())])




    rel_of = np.array([rel.get(m, 0.0) for m in names])
    n_present = np.array([max(len(ids), 1) for ids in present], dtype=np.int64)
    p_clip = np.repeat(np.arange(n_clips), [len(ids) for ids in present])
    p_member = np.array([m for ids in present for m in ids], dtype=np.int64)
    total_rel = _sequential_sums(p_clip, rel_of[p_member], n_clips)  # in members order
    total_rel[total_rel == 0] = 1.0  # Python's `sum(...) or 1.0`
    count = np.bincount(v_cand, minlength=n_cands)
    rel_sum = _sequential_sums(v_cand, rel_of[v_member], n_cands)
    rel_max = np.full(n_cands, -np.inf)
    np.maximum.at(rel_max, v_cand, rel_of[v_member])
    pos_sum = _sequential_sums(v_cand, 1.0 / (1 + min_pos), n_cands)
    cand_mapping = key_mapping[cand_key]
    per_mapping = np.zeros((n_clips, n_ii), dtype=np.int64)
    np.add.at(per_mapping, (cand_clip, cand_mapping), 1)
    log_table = np.array([math.log(n + 1) for n in range(int(per_mapping.max(initial=0)) + 1)])
    n_model = len(judge.members_)
    column = {m: j for j, m in enumerate(judge.members_)}
    X = np.zeros((n_cands, judge._n_features()))
    member_column = np.array([column.get(m, -1) for m in names], dtype=np.int64)
    voted = member_column[v_member] >= 0
    X.reshape(-1)[v_cand[voted] * X.shape[1] + member_column[v_member][voted]] = 1.0  # one flat index: cheaper
    X[:, n_model] = count / n_present[cand_clip]
    X[:, n_model + 1] = rel_sum / total_rel[cand_clip]
    X[:, n_model + 2] = rel_max
    X[:, n_model + 3] = prior
    X[:, n_model + 4] = pos_sum / count
    X[:, n_model + 5] = log_table[per_mapping[cand_clip, cand_mapping]]
    X[:, n_model + 6] = n_present[cand_clip] / max(n_model, 1)
    X[np.arange(n_cands), n_model + 7 + cand_mapping] = 1.0
    return X


def build_batch(judge: CategoryJudge, ballots: Sequence[ClipBallot]) -> CategoryBatch:
    flat = flatten(judge, ballots)
    X = judge.batch_features(flat, ballots)
    n_clips, n_ii, n_keys = flat.n_clips, len(judge.indices_), max(len(flat.pairs), 1)
    cand_clip, cand_key = flat.cand_clip, flat.cand_key
    slot_start, slot_words, word_keys = flat.slot_start, flat.slot_words, flat.word_keys
    cand_mapping = np.array([ii for ii, _ in flat.pairs], dtype=np.int64)[cand_key] if len(cand_key) else cand_key
    p = _probabilities_by_clip(judge.model_, X, cand_clip, n_clips)

    # ---- expected gold size per mapping: unproposed + the probabilities, in candidate order
    G = _sequential_sums(cand_clip * n_ii + cand_mapping, p,
                         n_clips * n_ii, np.tile(np.array(judge.unproposed_, dtype=float), n_clips)).reshape(n_clips, n_ii)

    # ---- each slot's candidate per mapping
    slot_clip = np.repeat(np.arange(n_clips), np.diff(slot_start))
    slot_keys = word_keys[slot_words] if len(slot_words) else np.zeros((0, n_ii), dtype=np.int64)
    slot_cands = np.full(slot_keys.shape, -1, dtype=np.int64)
    lookup = cand_clip * n_keys + cand_key  # sorted: candidates are ordered by (clip, key)
    wanted = slot_clip[:, None] * n_keys + slot_keys
    found = slot_keys >= 0
    at = np.searchsorted(lookup, wanted[found])
    slot_cands[found] = at
    return CategoryBatch([b.clip for b in ballots], flat.words_per_clip, np.asarray(slot_start, dtype=np.int64), slot_cands, p, G)


def choose_batch(judge: CategoryJudge, batch: CategoryBatch, threshold: float) -> list[list[int]]:
    """Per clip, the indices of the clusters kept: `CategoryJudge._choose` for every clip at once."""
    n_clips = len(batch.clips)
    sizes_per_clip = np.diff(batch.slot_start)
    slot_clip = np.repeat(np.arange(n_clips), sizes_per_clip)
    n_slots, n_ii = batch.slot_cands.shape
    cands = batch.slot_cands
    valid = cands >= 0
    safe = np.where(valid, cands, 0)
    p_slot = batch.p[safe] if len(batch.p) else np.zeros(cands.shape)
    uncovered = np.ones(len(batch.p), dtype=bool)
    available = np.ones(n_slots, dtype=bool)
    hits, sizes = np.zeros((n_clips, n_ii)), np.zeros((n_clips, n_ii))
    denominator = threshold * batch.G
    limit = np.full(n_clips, judge.max_labels) if judge.max_labels else sizes_per_clip
    n_chosen = np.zeros(n_clips, dtype=np.int64)
    active = (sizes_per_clip > 0) & (limit > 0)
    picked_clips: list[np.ndarray] = []  # per step: the clips that took a cluster, and which
    picked_slots: list[np.ndarray] = []
    expected_f = judge.utility == "expected_f"
    walk = judge.utility == "expected_pr"
    value, best_value, best_length = np.zeros(n_clips), np.zeros(n_clips), np.zeros(n_clips, dtype=np.int64)
    # expected_pr: each slot's share of expected recall per mapping, weighted by beta.
    recall_slot = threshold * p_slot / np.maximum(batch.G[slot_clip], 1e-12) if walk and n_slots else p_slot
    while active.any():
        idx = np.flatnonzero(active[slot_clip])
        c_of = slot_clip[idx]
        unc = valid[idx] & uncovered[safe[idx]]
        if judge.utility == "expected_pr":
            h, s = hits[c_of], sizes[c_of]
            new_hits = np.where(unc, p_slot[idx], 0.0) + h
            new_sizes = unc.astype(float) + s
            before = np.divide(h, s, out=np.zeros_like(h), where=s > 0)
            after = np.divide(new_hits, new_sizes, out=np.zeros_like(new_hits), where=new_sizes > 0)
            raw = ((after - before) + np.where(unc, recall_slot[idx], 0.0)).sum(axis=1)
        elif expected_f:
            gain_hits = np.where(unc, p_slot[idx], 0.0)
            new_hits = gain_hits + hits[c_of]
            new_sizes = unc.astype(float) + sizes[c_of]
            den = denominator[c_of]
            h, s = hits[c_of], sizes[c_of]
            before = np.divide(2 * h, s + den, out=np.zeros_like(h), where=(s + den) > 0)
            after = np.divide(2 * new_hits, new_sizes + den, out=np.zeros_like(new_hits), where=(new_sizes + den) > 0)
            raw = (after - before).sum(axis=1)
        else:
            raise NotImplementedError("the linear utility is chosen clip by clip")
        gains = np.where(available[idx], raw, -np.inf)
        # Per clip: the first slot with the largest gain (np.argmax's tie rule).
        starts = np.r_[0, np.flatnonzero(np.diff(c_of)) + 1]
        clips_now = c_of[starts]
        best_gain = np.maximum.reduceat(gains, starts)
        positions = np.where(gains == best_gain[np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(idx)]))],
                             np.arange(len(idx)), len(idx))
        best_at = np.minimum.reduceat(positions, starts)
        nan = np.isnan(best_gain)
        if nan.any():  # np.argmax returns the first NaN
            for j in np.flatnonzero(nan):
                segment = gains[starts[j]: (starts[j + 1] if j + 1 < len(starts) else len(idx))]
                best_at[j] = starts[j] + int(np.argmax(segment))
        best_slot = idx[best_at]
        if walk:  # expected_pr walks the whole greedy path and keeps its best prefix
            value[clips_now] += gains[best_at]
            better = (value[clips_now] > best_value[clips_now] + 1e-12) | (n_chosen[clips_now] < judge.min_labels)
            best_value[clips_now[better]] = value[clips_now[better]]
            best_length[clips_now[better]] = n_chosen[clips_now[better]] + 1
            stop = np.zeros(len(clips_now), dtype=bool)
        else:
            stop = (gains[best_at] <= 1e-12) & (n_chosen[clips_now] >= judge.min_labels)
        go = ~stop
        active[clips_now[stop]] = False
        clips_go, slots_go = clips_now[go], best_slot[go]
        picked_clips.append(clips_go)
        picked_slots.append(slots_go - batch.slot_start[clips_go])
        available[slots_go] = False
        n_chosen[clips_go] += 1
        new = valid[slots_go] & uncovered[safe[slots_go]]
        hits[clips_go] += np.where(new, p_slot[slots_go], 0.0)
        sizes[clips_go] += new.astype(float)
        uncovered[safe[slots_go][new]] = False
        # A clip goes on while it has an available cluster (only picks use one) and room under its cap.
        active &= (n_chosen < sizes_per_clip) & (n_chosen < limit)
    # Each clip's picks in step order, cut to the best prefix when walking.
    clips_all = np.concatenate(picked_clips) if picked_clips else np.zeros(0, dtype=np.int64)
    slots_all = np.concatenate(picked_slots) if picked_slots else np.zeros(0, dtype=np.int64)
    slots_all = slots_all[np.argsort(clips_all, kind="stable")].tolist()
    ends = np.cumsum(n_chosen).tolist()
    kept = (best_length if walk else n_chosen).tolist()
    return [slots_all[end - n_all: end - n_all + n] for end, n_all, n in zip(ends, n_chosen.tolist(), kept)]


def training_evidence(
    judge: CategoryJudge, flat: Flat, golds: Sequence[Sequence[set]]
) -> tuple[Rates, list[float], np.ndarray]:
    """What `CategoryJudge._learn` learns before the model, from the training clips at once:
    (rates, unproposed per mapping, per candidate 1.0 when it is in its clip's gold).

    Every sum here adds 0s and 1s, exact in any order, so the figures equal the clip-by-clip ones."""
    indices = judge.indices_
    rates = Rates(strength=judge.prior_strength, member_counts={m: 0 for m in judge.members_})
    in_gold = np.array([float(flat.pairs[k][1] in golds[c][indices[flat.pairs[k][0]]])
                        for c, k in zip(flat.cand_clip.tolist(), flat.cand_key.tolist())])
    # Per member: one count per (clip, mapping, category) it proposed, a hit when in the gold.
    member_hits: dict[str, float] = {}
    voter_hit = in_gold[flat.v_cand] if len(flat.v_cand) else np.zeros(0)
    n_members = len(flat.names)
    counts = np.bincount(flat.v_member, minlength=n_members)
    hits = np.bincount(flat.v_member, weights=voter_hit, minlength=n_members)
    for mid, name in enumerate(flat.names):
        if counts[mid]:
            member_hits[name] = float(hits[mid])
            rates.member_counts[name] = rates.member_counts.get(name, 0) + int(counts[mid])
    # Per (mapping, category) key: how often proposed on a clip, and how often rightly.
    key_counts = np.bincount(flat.cand_key, minlength=len(flat.pairs))
    key_hits = np.bincount(flat.cand_key, weights=in_gold, minlength=len(flat.pairs))
    for k, (ii, cat) in enumerate(flat.pairs):
        if key_counts[k]:
            key = f"{indices[ii]}|{cat}"
            rates.cluster_hits[key] = float(key_hits[k])
            rates.cluster_counts[key] = int(key_counts[k])
    rates.overall = float(np.mean(in_gold)) if len(in_gold) else 0.5
    rates.member = rates.reliability(member_hits)
    # Expected gold categories that no member proposed, per mapping (expected_f's gold size).
    proposed: list[list[set]] = [[set() for _ in indices] for _ in range(flat.n_clips)]
    for c, k in zip(flat.cand_clip.tolist(), flat.cand_key.tolist()):
        ii, cat = flat.pairs[k]
        proposed[c][ii].add(cat)
    unproposed = []
    for ii, i in enumerate(indices):
        missed = [len(gold[i] - proposed[c][ii]) for c, gold in enumerate(golds) if gold[i]]
        unproposed.append(float(np.mean(missed)) if missed else 0.0)
    return rates, unproposed, in_gold
