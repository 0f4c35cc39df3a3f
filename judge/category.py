"""The category judge: decide at the level the metric counts, then pick words to match.

The EW metric turns every emitted word into one category per mapping (the five wheels'
level-1 categories, and for M-avg also M1/M2 and level 2) and scores *sets* of categories.
So this judge estimates, per clip, mapping and candidate category, the probability that the
category is in the gold set (a logistic regression over the evidence of judge/evidence.py:
which models proposed it and with what share of their views, their reliability, the
category's prior, ...), and then chooses the clip's words (judge/choice.py): the greedy path
of clusters under an expected utility, cut at the prefix size that is best once the size's
prior (how many labels gold gives a clip) is counted. The utility's weight (beta or lambda)
and the prior's weight gamma are calibrated on the training clips.

Clips are judged in batches (one clip is a batch of one); the emitted word of a kept cluster
is the word most of its voting models used.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InputError
from core.logistic import LogisticModel
from core.state import read_state, write_state
from judge.base import Gold, Judge
from judge.choice import UTILITIES, best_prefix, greedy_path, size_prior
from judge.evidence import Flat, Rates, best_views, feature_names, features, flatten, training_evidence
from judge.fastscore import L1_NAMES, FastScorer, PrefixTable, WordMaps
from judge.objective import Objective
from judge.state import clips_digest, parse_state
from vocab.ballot import ClipBallot
from vocab.lexicon import load_lexicon

# Clips judged together: large enough that array operations dominate, small enough that the
# batch's arrays stay a few tens of MB whatever the number of clips.
BATCH_CLIPS = 2000
# The utility's weight: expected_pr's weight of recall (beta), expected_f's weight of the
# expected gold size (lambda); more labels as it grows.
WEIGHTS = {
    "expected_pr": (0.3, 0.45, 0.6, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0),
    "expected_f": (0.25, 0.4, 0.55, 0.7, 0.85, 1.0, 1.2, 1.4, 1.7, 2.0, 2.5, 3.0),
}
# gamma, the weight of log pi(n); 0 keeps only the prior's support (sizes gold had).
GAMMAS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.4)
KIND = "judge.category"


@dataclass
class CategoryJudge(Judge):
    """C: inverse L2 strength; prior_strength: smoothing of reliabilities and category priors.

    threshold / gamma: the utility's weight and the size prior's weight (None: calibrated).
    size_prior: False drops the prior (the metric-maximising "shotgun" sets: opt-in only).
    models: {member: model} (the pipeline hands down each member's `view_of:`); with pool_views
    the views of a model are pooled, else every view votes on its own. views_per_model: keep each
    model's best n views (0: every view).
    """

    C: float = 0.3
    prior_strength: float = 5.0
    # Which mappings the judge models and covers: "all" 12 (level 2 and M1/M2 also tell
    # near-synonyms apart), "l1" (the wheels' level 1), or "objective" (all 12 for M-avg, l1 otherwise).
    mappings: str = "all"
    utility: str = "expected_pr"
    threshold: float | None = None
    gamma: float | None = None
    size_prior: bool = True
    pool_views: bool = True
    views_per_model: int = 0
    min_labels: int = 1
    max_labels: int = 0
    objective: str = "ew_l1_f"
    lexicon: str = ""
    models: dict[str, str] | None = None

    kind = "category"
    learns = True
    score_meaning = ("mean over mappings of the probability that the cluster's category is in gold "
                     "(detail: per mapping; the clip's detail: expected gold size, chosen n, U(n))")

    def validate(self) -> None:
        super().validate()
        self._check_number("C", 0, open_low=True)
        self._check_number("prior_strength", 0, open_low=True)
        self._check_number("views_per_model", 0, integer=True)
        if self.threshold is not None:
            self._check_number("threshold", 0, 100, open_low=True)
        if self.gamma is not None:
            self._check_number("gamma", 0, 100)
        if self.utility not in UTILITIES:
            raise InputError(f"judge '{self.kind}': utility must be {' or '.join(UTILITIES)}, got {self.utility!r}")
        if self.mappings not in ("objective", "l1", "all"):
            raise InputError(f"judge '{self.kind}': mappings must be objective, l1 or all, got {self.mappings!r}")
        for name in ("size_prior", "pool_views"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"judge '{self.kind}': {name} must be true or false, got {getattr(self, name)!r}")
        if self.models is not None and not (isinstance(self.models, Mapping) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.models.items())):
            raise InputError(f"judge '{self.kind}': models must map member names to model names")
        Objective.parse(self.objective)

    def _calibration_objective(self) -> Objective:
        """The objective, or EW-L1 F for one that needs groupings the judge does not hold."""
        objective = Objective.parse(self.objective)
        return Objective.parse("ew_l1_f") if objective.needs_groupings else objective

    def _mapping_indices(self, maps: WordMaps) -> list[int]:
        if self.mappings == "all" or (self.mappings == "objective" and Objective.parse(self.objective).metric == "m_avg"):
            return list(range(len(maps.names)))
        return [maps.index(n) for n in L1_NAMES]

    def _model_of(self, member: str) -> str:
        return (self.models or {}).get(member, member) if self.pool_views else member

    def _word_maps(self) -> WordMaps:
        if not self.lexicon:
            raise InputError(f"judge '{self.kind}': needs the lexicon folder (the run hands down its `lexicon`)")
        return WordMaps(load_lexicon(self.lexicon))

    # ---- fitting ------------------------------------------------------------------------
    def fit(self, ballots: Sequence[ClipBallot], gold: Gold | None = None) -> "CategoryJudge":
        self.validate()
        if gold is None:
            raise InputError(f"judge '{self.kind}' learns from gold: fit it on gold clips, or load its state (`state:` in the config)")
        train = [b for b in ballots if b.clip in gold]
        if not train:
            raise InputError(f"judge '{self.kind}': no training clip has gold")
        maps = self._word_maps()
        scorer = FastScorer(maps.lexicon, {b.clip: gold[b.clip] for b in train}, maps)
        self.word_maps_, self.indices_ = maps, self._mapping_indices(maps)
        self.view_members_ = sorted(set(self.models or {}) | {m for b in train for m in b.members})
        model_of = {m: self._model_of(m) for m in self.view_members_}
        if self.views_per_model:
            kept = best_views(train, scorer, model_of, self.views_per_model, self._calibration_objective().value)
            model_of = {m: model_of[m] for m in sorted(kept)}
        self.model_of_, self.members_ = model_of, sorted(set(model_of.values()))
        flat = flatten(train, maps, self.indices_, model_of)
        self.rates_, self.unproposed_, y = training_evidence(flat, self.indices_, [scorer.gold_sets(b.clip) for b in train],
                                                             self.prior_strength)
        self.model_ = LogisticModel(C=self.C).fit(features(flat, self.members_, self.rates_, self.indices_, own=y), y)
        self.size_prior_ = size_prior([len(gold[b.clip]) for b in train]).tolist() if self.size_prior else None
        self.fitted_clips_ = clips_digest([b.clip for b in train])
        self.threshold_, self.gamma_ = self._calibrate(train, flat, scorer)
        return self

    def _calibrate(self, train: Sequence[ClipBallot], flat: Flat, scorer: FastScorer) -> tuple[float, float]:
        """The (weight, gamma) of the grids whose answers score best on the training clips
        (first on ties). The greedy path depends on the weight only, so each weight walks once
        and every gamma is one lookup of prefix sizes."""
        objective = self._calibration_objective()
        weights = [float(self.threshold)] if self.threshold is not None else WEIGHTS[self.utility]
        gammas = [float(self.gamma)] if self.gamma is not None else (GAMMAS if self.size_prior_ is not None else (0.0,))
        slot_cands, p, G = self._probabilities(flat)
        clips = [b.clip for b in train]
        best, best_value = (weights[0], gammas[0]), -math.inf
        for weight in weights:
            paths, values = greedy_path(flat.slot_start, slot_cands, p, G, self.utility, weight, self._limits(flat))
            rows = [[self.word_maps_(flat.words[c][s]) for s in path] for c, path in enumerate(paths)]
            table = PrefixTable(scorer, clips, rows, [-np.arange(len(path), dtype=float) for path in paths])
            for gamma in gammas:
                value = objective.value(table(best_prefix(values, self._log_prior(values.shape[1]), gamma, self.min_labels)))
                if value > best_value + 1e-12:
                    best, best_value = (float(weight), float(gamma)), value
        return best

    # ---- deciding -------------------------------------------------------------------------
    def _probabilities(self, flat: Flat) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(each slot's candidate per mapping, each candidate's probability, the expected gold size per clip and mapping)."""
        X = features(flat, self.members_, self.rates_, self.indices_)
        p = self.model_.predict_proba(X) if len(X) else np.zeros(0)
        n_ii = len(self.indices_)
        mapping = np.array([ii for ii, _ in flat.pairs], dtype=np.int64)[flat.cand_key] if len(p) else np.zeros(0, dtype=np.int64)
        G = np.tile(np.asarray(self.unproposed_, dtype=float), (flat.n_clips, 1))
        np.add.at(G, (flat.cand_clip, mapping), p)
        return flat.slot_candidates(), p, G.reshape(flat.n_clips, n_ii)

    def _limits(self, flat: Flat) -> np.ndarray:
        """How far each clip's greedy walk goes: the cap, and past the prior's support only for min_labels."""
        cap = self.max_labels or np.iinfo(np.int64).max
        if self.size_prior_ is not None:
            cap = min(cap, max(len(self.size_prior_) - 1, self.min_labels))
        return np.full(flat.n_clips, cap, dtype=np.int64)

    def _log_prior(self, width: int) -> np.ndarray:
        if self.size_prior_ is None:
            return np.zeros(width)
        pi = np.zeros(width)
        pi[: min(width, len(self.size_prior_))] = self.size_prior_[:width]
        return np.where(pi > 0, np.log(np.where(pi > 0, pi, 1.0)), -np.inf)

    def _decide(self, ballots: Sequence[ClipBallot]):
        """Everything predict and explain read, for one batch: (flat, p, G, paths, U, chosen sizes)."""
        flat = flatten(ballots, self.word_maps_, self.indices_, self.model_of_)
        slot_cands, p, G = self._probabilities(flat)
        paths, values = greedy_path(flat.slot_start, slot_cands, p, G, self.utility, self.threshold_, self._limits(flat))
        log_prior = self._log_prior(values.shape[1])
        n = best_prefix(values, log_prior, self.gamma_, self.min_labels)
        return flat, slot_cands, p, G, paths, values, log_prior, n

    def _batches(self, ballots: Sequence[ClipBallot]):
        if not hasattr(self, "model_"):
            raise InputError(f"judge '{self.kind}' is not fitted: fit it on gold, or name its state file (`state:` in the config)")
        for start in range(0, len(ballots), BATCH_CLIPS):
            chunk = ballots[start: start + BATCH_CLIPS]
            yield chunk, self._decide(chunk)

    def predict(self, ballots: Sequence[ClipBallot]) -> dict[str, list[str]]:
        answers: dict[str, list[str]] = {}
        for chunk, (flat, *_, paths, _, _, n) in self._batches(ballots):
            for c, ballot in enumerate(chunk):
                answers[ballot.clip] = [flat.words[c][s] for s in paths[c][: n[c]]]
        return answers

    def explain(self, ballots: Sequence[ClipBallot]) -> dict[str, dict]:
        """Per clip, each cluster with its categories' probabilities per mapping and whether it
        was kept; the expected gold size per mapping, the chosen size n and U(n) for every n
        (the utility plus gamma * log pi(n)) of the greedy path. The same batches as predict."""
        names = [self.word_maps_.names[i] for i in self.indices_]
        out: dict[str, dict] = {}
        for chunk, (flat, slot_cands, p, G, paths, values, log_prior, n) in self._batches(ballots):
            scored = values + np.where(np.isfinite(log_prior), self.gamma_ * np.where(np.isfinite(log_prior), log_prior, 0.0), -np.inf)
            for c, ballot in enumerate(chunk):
                step = {s: k for k, s in enumerate(paths[c])}
                candidates = []
                for j, cluster in enumerate(flat.clusters[c]):
                    s = flat.slot_start[c] + j
                    probs = {names[m]: {"category": flat.pairs[flat.cand_key[k]][1], "p": float(p[k])}
                             for m, k in enumerate(slot_cands[s].tolist()) if k >= 0}
                    candidates.append({
                        "cluster": cluster, "word": flat.words[c][j],
                        "voters": [m for m in ballot.votes[cluster] if m in self.model_of_],
                        "score": float(np.mean([v["p"] for v in probs.values()])) if probs else None,
                        "kept": bool(j in step and step[j] < n[c]),
                        "detail": {"probabilities": probs, "step": step.get(j)},
                    })
                utility = [float(u) if np.isfinite(u) else None for u in scored[c][: len(paths[c]) + 1]]
                out[ballot.clip] = {"candidates": candidates, "detail": {
                    "expected_gold_size": dict(zip(names, map(float, G[c]))), "n": int(n[c]), "utility": utility,
                    "weight": self.threshold_, "gamma": self.gamma_}}
        return out

    def check_members(self, members: Sequence[str]) -> None:
        """The members must be those it was fitted on (a member it does not know would never vote)."""
        if hasattr(self, "view_members_") and members and sorted(members) != self.view_members_:
            raise InputError(f"judge '{self.kind}': fitted on {len(self.view_members_)} members, the config has {len(members)}: "
                             "the member list changed, run `tune` again")

    # ---- the knob a curve sweeps, and what a report shows ---------------------------------
    def threshold_grid(self, ballots: Sequence[ClipBallot] = ()) -> list[float]:
        return [float(x) for x in np.round(np.geomspace(0.1, 10, 25), 4)]

    def get_threshold(self) -> float:
        return self.threshold_

    def set_threshold(self, value: float) -> None:
        self.threshold_ = float(value)

    def summary(self) -> dict:
        return {"coefficients": dict(zip(feature_names(self.members_, [self.word_maps_.names[i] for i in self.indices_]),
                                         map(float, self.model_.coef_))),
                "weight": self.threshold_, "gamma": self.gamma_, "size_prior": self.size_prior_, "kept_views": sorted(self.model_of_)}

    # ---- state --------------------------------------------------------------------------------
    def save_state(self, path: str | Path) -> None:
        mappings = [self.word_maps_.names[i] for i in self.indices_]
        write_state(path, KIND, {
            "params": {k: v for k, v in self.get_params().items() if k not in ("lexicon", "models")},
            "threshold": self.threshold_, "gamma": self.gamma_, "size_prior": self.size_prior_,
            "view_members": self.view_members_, "models_of_views": self.model_of_, "members": self.members_,
            "mappings": mappings, "features": feature_names(self.members_, mappings), "rates": self.rates_.to_dict(),
            "unproposed": self.unproposed_, "model": self.model_.to_state(), "fitted_clips": self.fitted_clips_,
        })

    def load_state(self, path: str | Path) -> "CategoryJudge":
        """The fitted state in `path`, checked against its schema (judge/state.py) and this run's members."""
        self.validate()
        state = parse_state(path, read_state(path, KIND))
        # The weight means beta or lambda: a state fitted under one utility cannot decide under the other.
        fitted_utility = state.params.get("utility", self.utility)
        if fitted_utility != self.utility:
            raise InputError(f"{path}: params.utility: fitted with {fitted_utility!r}, the config asks for {self.utility!r}: "
                             "run `tune` again")
        maps = self._word_maps()
        unknown = [name for name in state.mappings if name not in maps.names]
        if unknown:
            raise InputError(f"{path}: mappings: '{unknown[0]}' is not a mapping of the lexicon")
        if self.models:
            if sorted(self.models) != state.view_members:
                raise InputError(f"{path}: view_members: fitted on {len(state.view_members)} members, the config has "
                                 f"{len(self.models)}: the member list changed, run `tune` again")
            moved = [m for m, model in state.models_of_views.items() if self._model_of(m) != model]
            if moved:
                raise InputError(f"{path}: models_of_views.{moved[0]}: the config groups it under another model: run `tune` again")
        self.word_maps_, self.indices_ = maps, [maps.index(name) for name in state.mappings]
        self.view_members_, self.model_of_, self.members_ = state.view_members, state.models_of_views, state.members
        self.rates_ = Rates(**state.rates.model_dump())
        self.unproposed_ = state.unproposed
        self.model_ = LogisticModel.from_state(state.model.model_dump(exclude_none=True))
        self.size_prior_ = state.size_prior
        self.threshold_, self.gamma_ = state.threshold, state.gamma
        self.fitted_clips_ = state.fitted_clips.model_dump()
        return self
