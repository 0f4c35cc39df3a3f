"""Category-level judge: decide at the level the metric counts, then pick words to match.

The EW metric turns every emitted word into one category per mapping (the five wheels'
level-1 categories, and for M-avg also M1/M2 and level 2) and scores *sets* of categories.
So this judge estimates, per clip, mapping and candidate category, the probability that the
category is in the gold set (logistic regression over which members proposed it, their
category-level reliability, the category's prior, its share of the votes, ...), and then
chooses clusters greedily: a cluster's gain is the sum, over the mappings where its word
lands on a category not yet covered, of (probability - tau). A word whose categories are
already covered gains nothing and is left out. tau is calibrated on the training clips.
The emitted word is still each kept cluster's surface word (see vocab.ballot.ClipBallot.surface_word).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.errors import InputError
from core.logistic import LogisticModel
from judge.category_batch import Flat, build_batch, choose_batch, features, flatten, training_evidence
from judge.fastscore import L1_NAMES, FastScorer, WordMaps
from judge.features import ClusterView, Rates
from judge.scored import ScoredJudge
from vocab.ballot import ClipBallot

N_TAUS = 19
# Clips judged together: large enough that array operations dominate, small enough that the
# batch's arrays stay a few tens of MB whatever the number of clips.
BATCH_CLIPS = 5000
LAMBDAS = (0.25, 0.4, 0.55, 0.7, 0.85, 1.0, 1.2, 1.4, 1.7, 2.0, 2.5, 3.0)
# expected_pr's weight of recall against precision (beta); more labels as beta grows.
BETAS = (0.3, 0.45, 0.6, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0)
GRIDS = {"linear": tuple(np.linspace(0.05, 0.95, N_TAUS)), "expected_f": LAMBDAS, "expected_pr": BETAS}


@dataclass
class CategoryCandidates:
    """Candidate (mapping, category) pairs of one clip with their features."""

    keys: list[tuple[int, str]]
    features: np.ndarray
    voters: list[set[str]]


def _member_categories(v: ClusterView, maps, indices: Sequence[int]) -> dict[str, dict[int, dict[str, int]]]:
    """member -> mapping -> category -> first position at which the member named it."""
    out: dict[str, dict[int, dict[str, int]]] = {m: {i: {} for i in indices} for m in v.ballot.members}
    positions = v.ballot.positions  # built on each access: once here
    for cluster, by_member in v.ballot.votes.items():
        for member, words in by_member.items():
            position = positions.get(cluster, {}).get(member, 0)
            for word in words:
                row = maps(word)
                for i in indices:
                    if row[i] is not None:
                        seen = out[member][i]
                        seen[row[i]] = min(position, seen.get(row[i], position))
    return out


def _answers(clips: Sequence[str], words: Sequence[Sequence[str]], chosen: Sequence[Sequence[int]]) -> dict[str, list[str]]:
    """{clip: the surface words of its chosen clusters, in order, each once}."""
    return {clip: list(dict.fromkeys(own[j] for j in kept)) for clip, own, kept in zip(clips, words, chosen)}


@dataclass
class CategoryJudge(ScoredJudge):
    """C: inverse L2 strength; prior_strength: smoothing of reliabilities and category priors.

    `threshold` is tau (None: calibrated on the training clips).
    """

    C: float = 0.3
    prior_strength: float = 5.0
    # Which mappings the judge models and covers: "objective" (the wheels' level 1 for EW-L1
    # objectives, all 12 for M-avg), "l1", or "all". Covering all 12 also guides the choice
    # of words for EW-L1 (level 2 and M1/M2 tell near-synonyms apart); the tuner can choose.
    mappings: str = "objective"
    # How clusters are chosen from category probabilities: "linear" adds a cluster while the
    # probabilities of the categories it newly covers exceed tau on balance; "expected_f"
    # adds it while it raises each mapping's plug-in expected F, 2*sum(p kept) / (n kept +
    # lam * expected gold size), so a clip with one sure category stops earlier than a clip
    # with several likely ones; "expected_pr" adds it while it raises the clip's expected
    # precision + beta * expected recall, summed over mappings: sum(p kept) / n kept +
    # beta * sum(p kept) / expected gold size. The metric is F of precision and recall
    # *averaged over clips*, so the best submission maximises P + beta * R of the averages
    # for some beta, and that sum splits into one such term per clip: each clip can be
    # decided alone, and only beta is shared. The calibrated threshold is tau, lam or beta.
    utility: str = "linear"

    kind = "category"
    # expected_f and expected_pr fit, calibrate and predict all clips at once (judge/category_batch.py), reading
    # votes off the ballots; a subclass whose candidates carry other features sets this False.
    batched = True

    def _check_params(self) -> None:
        super()._check_params()
        self._check_positive("C", "prior_strength")
        if self.utility not in GRIDS:
            raise InputError(f"judge '{self.kind}': utility must be linear, expected_f or expected_pr, got {self.utility!r}")
        if self.mappings not in ("objective", "l1", "all"):
            raise InputError(f"judge '{self.kind}': mappings must be objective, l1 or all, got {self.mappings!r}")

    def metric_indices(self) -> list[int]:
        if self.mappings == "all":
            return list(range(len(self.word_maps_.names)))
        if self.mappings == "l1":
            return [self.word_maps_.index(n) for n in L1_NAMES]
        return super().metric_indices()

    # ---- evidence ---------------------------------------------------------------------
    def _candidates(self, v: ClusterView, train_gold: list[set] | None = None) -> CategoryCandidates:
        indices = self.indices_
        by_member = _member_categories(v, self.word_maps_, indices)
        present = v.ballot.members
        n_present = max(len(present), 1)
        keys, voters, positions = [], [], []
        for i in indices:
            cats: dict[str, set[str]] = {}
            for m in present:
                for cat in by_member[m][i]:
                    cats.setdefault(cat, set()).add(m)
            for cat in sorted(cats):
                keys.append((i, cat))
                voters.append(cats[cat])
                # Sums over voters go in sorted member order (a set's order follows the hash seed).
                positions.append(sum(1.0 / (1 + by_member[m][i][cat]) for m in sorted(cats[cat])) / len(cats[cat]))
        rel = self.rates_.member
        total_rel = sum(rel.get(m, 0.0) for m in present) or 1.0
        per_mapping = {i: 0 for i in indices}
        for i, _ in keys:
            per_mapping[i] += 1
        rows = []
        for (i, cat), who, pos in zip(keys, voters, positions):
            own = None
            if train_gold is not None:
                own = float(cat in train_gold[i])
            row = [float(m in who) for m in self.members_]
            row += [
                len(who) / n_present,
                sum(rel.get(m, 0.0) for m in sorted(who)) / total_rel,
                max(rel.get(m, 0.0) for m in who),
                self.rates_.prior(f"{i}|{cat}", own),
                pos,
                math.log(per_mapping[i] + 1),
                n_present / max(len(self.members_), 1),
            ]
            row += [float(i == j) for j in indices]
            rows.append(row)
        features = np.array(rows, dtype=float).reshape(len(rows), self._n_features())
        return CategoryCandidates(keys, features, voters)

    def _feature_names(self) -> list[str]:
        names = [f"vote:{m}" for m in self.members_]
        names += ["share", "reliable_share", "max_reliability", "prior", "first_position", "log_n_candidates", "n_present"]
        return names + [f"mapping:{self.word_maps_.names[i]}" for i in self.indices_]

    def _n_features(self) -> int:
        return len(self.members_) + 7 + len(self.indices_)

    # ---- fitting ------------------------------------------------------------------------
    def _learn(self, views: Sequence[ClusterView], scorer: FastScorer) -> None:
        """All training clips at once (judge/category_batch.py); the same state as _learn_clip_by_clip."""
        if not self.batched:
            return self._learn_clip_by_clip(views, scorer)
        self.indices_ = self.metric_indices()
        self.members_ = sorted({m for v in views for m in v.ballot.members})
        golds = [scorer.gold_sets(v.ballot.clip) for v in views]
        flat = flatten(self, [v.ballot for v in views])
        self.rates_, self.unproposed_, y = training_evidence(self, flat, golds)
        X = self.batch_features(flat, [v.ballot for v in views], own=y)
        self.feature_names_ = self._feature_names()
        self.model_ = LogisticModel(C=self.C).fit(X, y)

    def batch_features(self, flat: Flat, ballots: Sequence[ClipBallot], own: np.ndarray | None = None) -> np.ndarray:
        """The batched paths' feature matrix of the flattened `ballots` (a subclass adds its own)."""
        return features(self, flat, own=own)

    def _learn_clip_by_clip(self, views: Sequence[ClusterView], scorer: FastScorer) -> None:
        """The plain statement of what _learn computes (tests compare the two)."""
        self.indices_ = self.metric_indices()
        self.members_ = sorted({m for v in views for m in v.ballot.members})
        # Category-level rates first (reliability per member, prior per (mapping, category) key).
        self.rates_ = rates = Rates(strength=self.prior_strength, member_counts={m: 0 for m in self.members_})
        member_hits: dict[str, float] = {}
        all_y = []
        golds = [scorer.gold_sets(v.ballot.clip) for v in views]
        for v, gold in zip(views, golds):
            by_member = _member_categories(v, self.word_maps_, self.indices_)
            proposed: dict[tuple[int, str], int] = {}
            for m, per_mapping in by_member.items():
                for i, cats in per_mapping.items():
                    for cat in cats:
                        hit = float(cat in gold[i])
                        member_hits[m] = member_hits.get(m, 0.0) + hit
                        rates.member_counts[m] += 1
                        proposed[(i, cat)] = 1
            for i, cat in proposed:
                key = f"{i}|{cat}"
                hit = float(cat in gold[i])
                rates.cluster_hits[key] = rates.cluster_hits.get(key, 0.0) + hit
                rates.cluster_counts[key] = rates.cluster_counts.get(key, 0) + 1
                all_y.append(hit)
        rates.overall = float(np.mean(all_y)) if all_y else 0.5
        rates.member = rates.reliability(member_hits)
        # Expected gold categories that no member proposed, per mapping (expected_f's gold size).
        missed = {i: [] for i in self.indices_}
        for v, gold in zip(views, golds):
            by_member = _member_categories(v, self.word_maps_, self.indices_)
            for i in self.indices_:
                if gold[i]:
                    proposed = set().union(*(by_member[m][i] for m in by_member)) if by_member else set()
                    missed[i].append(len(gold[i] - proposed))
        self.unproposed_ = [float(np.mean(missed[i])) if missed[i] else 0.0 for i in self.indices_]
        blocks, ys = [], []
        for v, gold in zip(views, golds):
            cands = self._candidates(v, train_gold=gold)
            blocks.append(cands.features)
            ys.append(np.array([float(cat in gold[i]) for i, cat in cands.keys]))
        X = np.concatenate(blocks) if blocks else np.zeros((0, self._n_features()))
        y = np.concatenate(ys) if ys else np.zeros(0)
        self.feature_names_ = self._feature_names()
        self.model_ = LogisticModel(C=self.C).fit(X, y)

    def _probabilities(self, v: ClusterView) -> dict[tuple[int, str], float]:
        cands = self._candidates(v)
        if not cands.keys:
            return {}
        return dict(zip(cands.keys, self.model_.predict_proba(cands.features)))

    def _matrix(self, v: ClusterView) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(A, p, M, G): A[j, key] = 1 when cluster j's word lands on that (mapping, category);
        p per key; M[key, mapping] one-hot; G per mapping, the expected gold size."""
        probabilities = self._probabilities(v)
        position = {i: n for n, i in enumerate(self.indices_)}
        keys: dict[tuple[int, str], int] = {}
        for row in v.rows:
            for i in self.indices_:
                if row[i] is not None:
                    keys.setdefault((i, row[i]), len(keys))
        A = np.zeros((len(v.rows), len(keys)))
        for j, row in enumerate(v.rows):
            for i in self.indices_:
                if row[i] is not None:
                    A[j, keys[(i, row[i])]] = 1.0
        M = np.zeros((len(keys), len(self.indices_)))
        for (i, _), k in keys.items():
            M[k, position[i]] = 1.0
        G = np.array(self.unproposed_, dtype=float)
        for (i, _), value in probabilities.items():
            G[position[i]] += value
        return A, np.array([probabilities.get(key, 0.0) for key in keys]), M, G

    def _choose(self, A: np.ndarray, p: np.ndarray, M: np.ndarray, G: np.ndarray, threshold: float) -> list[int]:
        """Greedy: add the cluster with the largest positive gain over uncovered categories
        (ties: the alphabetically first cluster, as views list clusters sorted).

        expected_pr's gains are not decreasing (a second likely category can lower expected
        precision that a third one would raise again), so it walks the greedy path to the end
        and keeps its best prefix, which on one mapping is the best subset.
        """
        walk = self.utility == "expected_pr"
        value, best_value, best_length = 0.0, 0.0, 0
        uncovered = np.ones(len(p))
        available = np.ones(len(A), dtype=bool)
        chosen: list[int] = []
        limit = self.max_labels or len(A)
        expected_f = self.utility == "expected_f"
        hits, sizes = np.zeros(M.shape[1]), np.zeros(M.shape[1])
        denominator = threshold * G
        # expected_pr: a key's share of its mapping's expected recall, weighted by beta.
        recall = threshold * p / np.maximum(M @ G, 1e-12) if walk and len(p) else p
        while available.any() and len(chosen) < limit:
            if self.utility == "expected_pr":
                new_hits = (A * (uncovered * p)) @ M + hits
                new_sizes = (A * uncovered) @ M + sizes
                before = np.divide(hits, sizes, out=np.zeros_like(hits), where=sizes > 0)
                after = np.divide(new_hits, new_sizes, out=np.zeros_like(new_hits), where=new_sizes > 0)
                raw = ((after - before) + (A * (recall * uncovered)) @ M).sum(axis=1)
            elif expected_f:
                new_hits = (A * (uncovered * p)) @ M + hits
                new_sizes = (A * uncovered) @ M + sizes
                before = np.divide(2 * hits, sizes + denominator, out=np.zeros_like(hits), where=(sizes + denominator) > 0)
                after = np.divide(2 * new_hits, new_sizes + denominator, out=np.zeros_like(new_hits), where=(new_sizes + denominator) > 0)
                raw = (after - before).sum(axis=1)
            else:
                raw = A @ ((p - threshold) * uncovered)
            gains = np.where(available, raw, -np.inf)
            best = int(np.argmax(gains))
            if walk:
                value += gains[best]
                if value > best_value + 1e-12 or len(chosen) < self.min_labels:
                    best_value, best_length = value, len(chosen) + 1
            elif gains[best] <= 1e-12 and len(chosen) >= self.min_labels:
                break
            chosen.append(best)
            available[best] = False
            new = (A[best] > 0) & (uncovered > 0)
            hits += (new * p) @ M
            sizes += new.astype(float) @ M
            uncovered[new] = 0.0
        return chosen[:best_length] if walk else chosen

    def _calibrate(self, views: Sequence[ClusterView], scorer: FastScorer) -> float:
        objective = self._calibration_objective()
        clips = [v.ballot.clip for v in views]
        best, best_value = 0.5, -math.inf
        grid = GRIDS[self.utility]
        in_batch = self.utility != "linear" and self.batched
        if in_batch:
            batch = build_batch(self, [v.ballot for v in views])
        else:
            matrices = [self._matrix(v) for v in views]
        for tau in grid:
            if in_batch:
                predictions = _answers(batch.clips, batch.words, choose_batch(self, batch, tau))
            else:
                predictions = {
                    v.ballot.clip: list(dict.fromkeys(v.words[j] for j in self._choose(*matrix, tau)))
                    for v, matrix in zip(views, matrices)
                }
            value = objective.value(scorer(clips, predictions))
            if value > best_value + 1e-12:
                best, best_value = float(tau), value
        return best

    # ---- prediction -----------------------------------------------------------------------
    def predict(self, ballots: Sequence[ClipBallot]) -> dict[str, list[str]]:
        """Every clip at once (judge/category_batch.py) for expected_f and expected_pr; the same
        answers as clip by clip."""
        if self.utility == "linear" or not self.batched or not ballots:
            return super().predict(ballots)
        if self.needs_fit:
            raise InputError(f"judge '{self.kind}' is not fitted: fit it on gold or name a state file")
        if not hasattr(self, "word_maps_"):
            self.word_maps_ = WordMaps(self._lexicon())
        answers: dict[str, list[str]] = {}
        for start in range(0, len(ballots), BATCH_CLIPS):
            batch = build_batch(self, ballots[start: start + BATCH_CLIPS])
            answers.update(_answers(batch.clips, batch.words, choose_batch(self, batch, self.threshold_)))
        return answers

    def _kept(self, v: ClusterView) -> list[int]:
        return self._choose(*self._matrix(v), self.threshold_)

    def _scores(self, v: ClusterView) -> np.ndarray:
        """A cluster's gain with nothing covered yet at tau = 0 (for curves and reports)."""
        A, p, _, _ = self._matrix(v)
        return A @ p if len(A) else np.zeros(0)

    def threshold_grid(self, ballots=(), n: int = 25) -> list[float]:
        """tau from 0 to 1 (linear), the gold-size weight lam (expected_f) or the recall weight
        beta (expected_pr): more labels as lam or beta grows."""
        if self.utility != "linear":
            return [float(x) for x in np.round(np.geomspace(0.1, 10, n), 4)]
        return [float(x) for x in np.round(np.linspace(0.0, 1.0, n), 4)]

    def coefficients(self) -> dict[str, float]:
        return dict(zip(self.feature_names_, map(float, self.model_.coef_)))

    # ---- state ------------------------------------------------------------------------------
    def _state(self) -> dict:
        return {
            "members": self.members_,
            "mappings": [self.word_maps_.names[i] for i in self.indices_],
            "features": self.feature_names_,
            "rates": self.rates_.to_dict(),
            "unproposed": self.unproposed_,
            "model": self.model_.to_state(),
        }

    def _load(self, data: Mapping) -> None:
        self.word_maps_ = WordMaps(self._lexicon())
        self.indices_ = [self.word_maps_.index(name) for name in data["mappings"]]
        self.members_ = list(data["members"])
        self.feature_names_ = list(data["features"])
        self.rates_ = Rates.from_dict(data["rates"])
        self.unproposed_ = [float(x) for x in data["unproposed"]]
        self.model_ = LogisticModel.from_state(data["model"])
        if not (self.model_.n_features == len(self.feature_names_) == self._n_features()):
            raise ValueError(f"{self.model_.n_features} coefficients, {len(self.feature_names_)} feature names, "
                             f"{self._n_features()} features")

    def _legacy_state(self, data: dict) -> dict | None:
        """Version 1 also kept the rates apart (smoothed with the config's prior_strength)."""
        body = super()._legacy_state(data)
        if body is not None and "rates" not in body:
            body["rates"] = {
                "overall": body.pop("base_rate"), "member": body.pop("reliability"), "member_counts": {},
                "cluster_hits": body.pop("prior_hits"), "cluster_counts": body.pop("prior_counts"),
                "strength": self.prior_strength,
            }
        return body
