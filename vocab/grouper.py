"""A local synonym grouper for the MER2024 MER-OV metric, standing in for the retired GPT-3.5 call.

Protocol (as core.metrics.mer2024.ZipGrouper): `groups(clip, words) -> list[list[str]]`.

The rule, per clip: every pair of words gets a same-group probability from a logistic model
over pair features (below; the default uses the first six); words are then grouped by average-linkage agglomerative
clustering, merging while the mean pair probability between two groups is at least
`threshold`. Groups come out in order of their first word, words in input order, so the
result is deterministic.

Pair features (words normalised first, see vocab.normalize; valence v = cosine to "good" minus to "bad" feelings):
  cosine     cosine of the MiniLM embeddings of "The person feels {word}."
  same_m2    both words map to the same lexicon synonym group (M2), or share a key
  wheel      fraction of the five emotion wheels putting both in the same level-1 category
             (over the wheels that know both; 0 when none does)
  wheel_any  1 when some wheel knows both words
  wordnet    the words share a WordNet synset of their first senses, or are derivationally related
  valence    product of the two words' valences
  valence_gap  |v_a - v_b|
  valence_sum  v_a + v_b

DEFAULT_COEF/DEFAULT_INTERCEPT/DEFAULT_THRESHOLD were fitted on the cached GPT-3.5 groupings
of all 200 dev clips (experiments/vocab_grouper_agreement.py --fit-all). Figures reported for
the grouper come from 5-fold cross-validation by clip, where the model and threshold are fitted
on the four training folds only.
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from core.labels import normalise_label
from core.logistic import LogisticModel
from core.params import Params
from vocab.embeddings import Embedder
from vocab.lexicon import load_lexicon
from vocab.normalize import Normalizer
from vocab.wordnet import first_senses, load_wordnet

log = logging.getLogger(__name__)

ALL_FEATURES = ("cosine", "same_m2", "wheel", "wheel_any", "wordnet", "valence", "valence_gap", "valence_sum")
# The default model uses the first six; the valence gap/sum pair scored lower held-out agreement
# (experiments/vocab_grouper_agreement.py reports both).
DEFAULT_FEATURES = ALL_FEATURES[:6]
POSITIVE_ANCHOR = "The person feels good."
NEGATIVE_ANCHOR = "The person feels bad."

# Fitted by `experiments/vocab_grouper_agreement.py --fit-all` (see the module docstring).
DEFAULT_COEF = (8.252, 2.1531, 0.6926, -0.2952, -0.0981, -1.2466)  # in DEFAULT_FEATURES order
DEFAULT_INTERCEPT = -6.3235
DEFAULT_THRESHOLD = 0.325


@dataclass
class LocalGrouper(Params):
    """groups(clip, words) for the MER2024 metric, with no LLM.

    lexicon: an emotion-wheel lexicon folder ('' = no lexicon features).
    features: names from ALL_FEATURES that the pair model uses (coef in the same order).
    threshold: the average-linkage merge level on the same-group probability (higher = smaller groups).
    coef/intercept: the logistic pair model; fit(pairs, labels) refits them.
    cache_dir: embedding cache root ('' = $OVMER_CACHE or the user cache folder); model_path: '' = packaged MiniLM.
    """

    lexicon: str = ""
    features: tuple = DEFAULT_FEATURES
    threshold: float = DEFAULT_THRESHOLD
    coef: tuple = DEFAULT_COEF
    intercept: float = DEFAULT_INTERCEPT
    template: str = "The person feels {}."
    cache_dir: str = ""
    model_path: str = ""

    model_: LogisticModel | None = field(default=None, init=False, repr=False)
    _ready: bool = field(default=False, init=False, repr=False)

    # -- resources, loaded on first use --------------------------------------------------------
    def _setup(self) -> None:
        if self._ready:
            return

        self._lexicon = load_lexicon(self.lexicon) if self.lexicon else None
        self._wordnet = load_wordnet()
        self._normalizer = Normalizer(self._lexicon, self._wordnet)
        self._embedder = Embedder(model_path=self.model_path, cache_dir=self.cache_dir)
        anchors = self._embedder.embed([POSITIVE_ANCHOR, NEGATIVE_ANCHOR])
        self._valence_axis = anchors[0] - anchors[1]
        self._word_info: dict[str, dict] = {}
        self._ready = True

    # -- per-word facts ----------------------------------------------------------------------------
    def prepare(self, words: Sequence[str]) -> None:
        """Compute (and cache) the facts about many words at once: one embedding batch."""
        self._setup()
        new = [w for w in dict.fromkeys(words) if w not in self._word_info]
        if not new:
            return
        normals = [self._normalizer.normalize(w) for w in new]
        keys = [n.key or n.text or w for n, w in zip(normals, new)]
        embeddable = [n.kind in ("word", "phrase") for n in normals]
        texts = [self.template.format(k) for k, ok in zip(keys, embeddable) if ok]
        vectors = iter(self._embedder.embed(texts)) if texts else iter(())
        for word, normal, key, ok in zip(new, normals, keys, embeddable):
            vector = next(vectors) if ok else None
            self._word_info[word] = {
                "key": key,
                "vector": vector,
                "valence": float(vector @ self._valence_axis) if vector is not None else 0.0,
                "m2": self._lexicon.map_m2(key) if self._lexicon else None,
                "wheels": [self._lexicon.map_wheel(key, k, 1) for k in range(1, 6)] if self._lexicon else [None] * 5,
                "synsets": self._synsets(key) if ok else set(),
                "related": set(self._normalizer.related_forms(key)) if ok and " " not in key else set(),
            }

    def _synsets(self, key: str) -> set[str]:
        return {synset.name() for synset in first_senses(self._wordnet, key)}

    def pair_features(self, a: str, b: str) -> np.ndarray:
        info_a, info_b = self._word_info[a], self._word_info[b]
        if info_a["vector"] is None or info_b["vector"] is None:
            # Foreign, empty or over-long words: only an identical key can join them.
            same = float(info_a["key"] == info_b["key"])
            return self._select(np.array([same, same, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]))
        cosine = float(info_a["vector"] @ info_b["vector"])
        same_m2 = float(info_a["key"] == info_b["key"] or (info_a["m2"] is not None and info_a["m2"] == info_b["m2"]))
        both = [(x, y) for x, y in zip(info_a["wheels"], info_b["wheels"]) if x and y]
        wheel = float(np.mean([x == y for x, y in both])) if both else 0.0
        wordnet = float(
            bool(info_a["synsets"] & info_b["synsets"])
            or info_b["key"] in info_a["related"]
            or info_a["key"] in info_b["related"]
        )
        va, vb = info_a["valence"], info_b["valence"]
        return self._select(np.array([cosine, same_m2, wheel, float(bool(both)), wordnet, va * vb, abs(va - vb), va + vb]))

    def _select(self, values: np.ndarray) -> np.ndarray:
        return values[[ALL_FEATURES.index(name) for name in self.features]]

    # -- the pair model ----------------------------------------------------------------------------
    def fit(self, pair_features: np.ndarray, same_group: np.ndarray) -> "LocalGrouper":
        """Refit the logistic pair model on labelled pairs (features from pair_features)."""
        self.model_ = LogisticModel(C=10.0, standardize=False, max_iter=1000).fit(pair_features, same_group)
        return self

    def probability(self, features: np.ndarray) -> np.ndarray:
        model = self.model_ if self.model_ is not None else LogisticModel.with_coefficients(self.coef, self.intercept)
        if model.n_features != len(self.features):
            raise ValueError(
                f"LocalGrouper has {model.n_features} coefficients for {len(self.features)} features; "
                "give coef for every feature or fit() the pair model"
            )
        return model.predict_proba(np.atleast_2d(features))

    # -- the grouper protocol ----------------------------------------------------------------------
    def groups(self, clip: str, words: Sequence[str]) -> list[list[str]]:
        words = list(dict.fromkeys(normalise_label(w) for w in words))
        if len(words) < 2:
            return [[w] for w in words]
        self.prepare(words)
        n = len(words)
        probability = np.eye(n)
        pairs = list(itertools.combinations(range(n), 2))
        scores = self.probability(np.stack([self.pair_features(words[i], words[j]) for i, j in pairs]))
        for (i, j), score in zip(pairs, scores):
            probability[i, j] = probability[j, i] = score
        return self.link(words, probability)

    def link(self, words: list[str], probability: np.ndarray) -> list[list[str]]:
        """Average-linkage merging while the mean cross-group probability >= threshold."""
        groups = [[i] for i in range(len(words))]
        while len(groups) > 1:
            best, best_pair = -1.0, None
            for x, y in itertools.combinations(range(len(groups)), 2):
                mean = float(probability[np.ix_(groups[x], groups[y])].mean())
                if mean > best:
                    best, best_pair = mean, (x, y)
            if best < self.threshold:
                break
            x, y = best_pair
            groups[x] = sorted(groups[x] + groups[y])
            del groups[y]
        groups.sort(key=lambda group: group[0])
        return [[words[i] for i in group] for group in groups]
