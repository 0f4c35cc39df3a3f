"""The learned extractor: scores every candidate word with a logistic regression on its facts.

Features of a candidate (see `features`): how near its mentions are to the conclusion, how
often it is named, how often negated (a word that is only ever negated is dropped by rule), hedged, given as an example or said of the scene, whether it is
generic ("positive"), which level-1 category of wheel 1 it maps to, how common it is across
descriptions, and which member wrote the description. The target is whether the word lands on
a gold category on at least 3 of the 5 emotion wheels (level 1). A word is kept when its
probability reaches `threshold_`, which `fit` chooses on the training clips to maximise the
EW-L1 F of the training predictions; the most probable word is kept whenever any candidate
exists, so a description naming an emotion never yields [].

Fit only on training folds (experiments/extract_eval.py does 5-fold cross-validation). The
fitted state is plain JSON (`save` / `load`), never a pickle.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from core.errors import InputError
from core.labels import normalise_label
from core.logistic import LogisticModel
from core.metrics import ew_scores
from core.state import read_state, write_state
from members.extract.base import Extractor
from members.extract.candidates import GENERIC_FORMS, Candidate
from members.extract.rules import RuleExtractor
from vocab.lexicon import N_WHEELS, load_lexicon

log = logging.getLogger(__name__)

WHEEL_HITS_NEEDED = 3
OBJECTIVES = ("ew_l1_f", "m_avg")  # spelled as tuning spells them
BASE_FEATURES = (
    "focus_0", "focus_1", "focus_2", "focus_any", "conclusion", "states", "log_mentions", "log_negated",
    "example_share", "hedged_share", "other_subject_share", "last_position", "log_from_end",
    "generic", "wheels_mapped", "log_doc_freq", "order_in_focus", "merged", "rule_pick",
)


@dataclass
class LearnedExtractor(Extractor):
    """Logistic regression over candidate facts.

    C: inverse regularisation strength. objective: what the threshold maximises on the training
    clips, 'ew_l1_f' (EW-L1 F) or 'm_avg'.
    state: path of a JSON file written by `save`; when given (and fit was not called), the
    fitted coefficients are read from it at first use.
    """

    lexicon: str = ""
    state: str = ""
    C: float = 0.1
    objective: str = "m_avg"
    rules: RuleExtractor | None = field(default=None, init=False, repr=False)

    path_params = {"lexicon": "folder", "state": "file"}
    feature_names_: list[str] | None = field(default=None, init=False, repr=False)
    model_: LogisticModel | None = field(default=None, init=False, repr=False)
    threshold_: float = field(default=0.5, init=False, repr=False)
    doc_freq_: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    members_: list[str] = field(default_factory=list, init=False, repr=False)
    categories_: list[str] = field(default_factory=list, init=False, repr=False)

    # --- candidates and their features -------------------------------------------------
    def _rules(self) -> RuleExtractor:
        if self.rules is None:
            self.rules = RuleExtractor(lexicon=self.lexicon)
        return self.rules

    def _lexicon(self):
        return load_lexicon(self.lexicon)

    def candidates(self, description: str | None) -> tuple[list[Candidate], dict[int, int]]:
        """Candidates with at least one mention that is not negated, and the focus sentence ranks.

        Negation is resolved by rule, not learned: a word only ever negated is never a candidate.
        """
        rules = self._rules()
        found = [c for c in rules.candidates(description) if any(not m.negated for m in c.mentions)]
        usable = {c.word: [m for m in c.mentions if rules.usable(m)] for c in found}
        return found, rules.focus_ranks(usable)

    def features(self, found: list[Candidate], ranks: dict[int, int], member: str | None) -> np.ndarray:
        """One row per candidate, columns as `feature_names_`."""
        lexicon = self._lexicon()
        rules = self._rules()
        usable = {c.word: [m for m in c.mentions if rules.usable(m)] for c in found}
        picked = set(rules.focus_words(usable))
        rows = []
        focus_order = 0
        for candidate in found:
            mentions = candidate.mentions
            live = [m for m in mentions if not m.negated]
            best_rank = min((ranks[m.sentence] for m in live if m.sentence in ranks), default=None)
            n = len(mentions)
            row = {
                "focus_0": float(best_rank == 0),
                "focus_1": float(best_rank == 1),
                "focus_2": float(best_rank == 2),
                "focus_any": float(best_rank is not None),
                "conclusion": float(any(m.conclusion for m in live)),
                "states": float(any(m.states for m in live)),
                "log_mentions": math.log1p(len(live)),
                "log_negated": math.log1p(n - len(live)),
                "example_share": sum(m.example for m in mentions) / n,
                "hedged_share": sum(m.hedged for m in mentions) / n,
                "other_subject_share": sum(m.other_subject for m in mentions) / n,
                "last_position": 1.0 / (1.0 + mentions[-1].from_end),
                "log_from_end": math.log1p(min(m.from_end for m in mentions)),
                "generic": float(candidate.word in GENERIC_FORMS),
                "wheels_mapped": sum(lexicon.map_wheel(candidate.word, k, 1) is not None for k in range(1, N_WHEELS + 1)) / N_WHEELS,
                "log_doc_freq": math.log(self.doc_freq_.get(candidate.word, 1e-4)),
                "order_in_focus": 0.0,
                "merged": float(any(m.merged for m in live)),
                "rule_pick": float(candidate.word in picked),
            }
            if best_rank == 0:
                row["order_in_focus"] = 1.0 / (1.0 + focus_order)
                focus_order += 1
            category = lexicon.map_wheel(candidate.word, 1, 1)
            for name in self.categories_:
                row[f"w1:{name}"] = float(category == name)
            for name in self.members_:
                row[f"member:{name}"] = float(member == name)
            rows.append([row[name] for name in self.feature_names_])
        return np.asarray(rows, dtype=float).reshape(len(rows), len(self.feature_names_))

    # --- fitting -----------------------------------------------------------------------
    def _wheel_hits(self, word: str, gold_words: Sequence[str]) -> int:
        lexicon = self._lexicon()
        hits = 0
        for k in range(1, N_WHEELS + 1):
            mapped = lexicon.map_wheel(word, k, 1)
            gold = {lexicon.map_wheel(normalise_label(g), k, 1) for g in gold_words}
            hits += mapped is not None and mapped in gold
        return hits

    def fit(
        self,
        descriptions: Mapping[str, Mapping[str, str]] | None = None,
        gold: Mapping[str, Sequence[str]] | None = None,
    ) -> "LearnedExtractor":
        """descriptions: {member: {clip: text}}; only clips present in gold are used."""
        if not descriptions or not gold:
            raise InputError("LearnedExtractor.fit needs descriptions and gold labels")
        if self.objective not in OBJECTIVES:
            raise InputError(f"LearnedExtractor: objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        self.members_ = sorted(descriptions)
        lexicon = self._lexicon()
        self.categories_ = sorted(set(lexicon.wheel_maps[(1, 1)].values()))
        self.feature_names_ = list(BASE_FEATURES) + [f"w1:{c}" for c in self.categories_]
        self.feature_names_ += [f"member:{m}" for m in self.members_]
        parsed = {
            member: {clip: self.candidates(text) for clip, text in texts.items() if clip in gold}
            for member, texts in descriptions.items()
        }
        self.doc_freq_ = self._document_frequency(parsed)
        rows, targets, index = [], [], []
        for member, clips in parsed.items():
            for clip, (found, ranks) in clips.items():
                if not found:
                    continue
                rows.append(self.features(found, ranks, member))
                targets += [self._wheel_hits(c.word, gold[clip]) >= WHEEL_HITS_NEEDED for c in found]
                index += [(member, clip, c.word) for c in found]
        X, y = np.vstack(rows), np.asarray(targets, dtype=int)
        self.model_ = LogisticModel(C=self.C, standardize=False).fit(X, y)
        self.threshold_ = self._choose_threshold(X, index, gold, parsed)
        log.info("learned extractor: %d candidates, %d positive, threshold %.2f", len(y), int(y.sum()), self.threshold_)
        return self

    @staticmethod
    def _document_frequency(parsed) -> dict[str, float]:
        counts: dict[str, int] = {}
        n_docs = 0
        for clips in parsed.values():
            for found, _ in clips.values():
                n_docs += 1
                for candidate in found:
                    counts[candidate.word] = counts.get(candidate.word, 0) + 1
        return {word: count / max(n_docs, 1) for word, count in counts.items()}

    def _choose_threshold(self, X, index, gold, parsed) -> float:
        """The probability cut that maximises the mean objective over members on the training clips."""

        probabilities = self._probabilities(X)
        lexicon = self._lexicon()
        best = (-1.0, 0.5)
        for threshold in np.arange(0.2, 0.71, 0.05):
            predictions: dict[str, dict[str, list[str]]] = {m: {c: [] for c in clips} for m, clips in parsed.items()}
            top: dict[tuple[str, str], tuple[float, str]] = {}
            for (member, clip, word), p in zip(index, probabilities):
                if p >= threshold:
                    predictions[member][clip].append(word)
                if p > top.get((member, clip), (-1.0, ""))[0]:
                    top[(member, clip)] = (p, word)
            for (member, clip), (_, word) in top.items():
                if not predictions[member][clip]:
                    predictions[member][clip].append(word)
            scores = []
            for member, clips in parsed.items():
                ew = ew_scores({c: gold[c] for c in clips}, predictions[member], lexicon)
                scores.append(ew.m_avg if self.objective == "m_avg" else ew.level(1))
            best = max(best, (float(np.mean(scores)), float(threshold)))
        return best[1]

    def _probabilities(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(X)

    # --- prediction --------------------------------------------------------------------
    def _ensure_fitted(self) -> None:
        if self.model_ is None:
            if not self.state:
                raise InputError("LearnedExtractor: not fitted and no `state` file named in the config")
            self.load(self.state)

    def extract(self, description: str | None, member: str | None = None) -> list[str]:
        self._ensure_fitted()
        found, ranks = self.candidates(description)
        if not found:
            return []
        probabilities = self._probabilities(self.features(found, ranks, member))
        kept = [c.word for c, p in zip(found, probabilities) if p >= self.threshold_]
        if not kept:
            kept = [found[int(np.argmax(probabilities))].word]
        return kept

    # --- state on disk (core/state.py's JSON, kind "extractor.learned"; no pickle) -------------
    def save(self, path: str | Path) -> None:
        write_state(path, STATE_KIND, {
            "params": {k: v for k, v in self.get_params().items() if k != "state"},
            "feature_names": self.feature_names_,
            "threshold": self.threshold_,
            "doc_freq": self.doc_freq_,
            "members": self.members_,
            "categories": self.categories_,
            "model": self.model_.to_state(),
        })

    def load(self, path: str | Path) -> "LearnedExtractor":
        state = read_state(path, STATE_KIND, _legacy_state)
        try:
            self.feature_names_ = list(state["feature_names"])
            self.model_ = LogisticModel.from_state(state["model"])
            self.threshold_ = float(state["threshold"])
            self.doc_freq_ = {str(k): float(v) for k, v in state["doc_freq"].items()}
            self.members_ = list(state["members"])
            self.categories_ = list(state["categories"])
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise InputError(f"{path}: not a learned-extractor state file ({error})") from None
        if self.model_.n_features != len(self.feature_names_):
            raise InputError(f"{path}: {self.model_.n_features} coefficients for {len(self.feature_names_)} features")
        return self


STATE_KIND = "extractor.learned"


def _legacy_state(data: dict) -> dict | None:
    """A version-1 state ("format": "members.extract.learned/1", the model's C, coef and
    intercept at the top) as a version-2 body; None when `data` is not one."""
    if data.get("format") != "members.extract.learned/1":
        return None
    body = {k: v for k, v in data.items() if k not in ("format", "lexicon", "C", "coef", "intercept")}
    body["params"] = {"lexicon": data.get("lexicon", ""), "C": data["C"]}
    body["model"] = {"standardize": False, "C": data["C"], "coef": data["coef"], "intercept": data["intercept"]}
    return body
