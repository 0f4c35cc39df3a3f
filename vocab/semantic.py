"""Synonym clusters for an open vocabulary: lexicon + WordNet + sentence embeddings.

With a lexicon configured, its synonym groups are the clusters (a word's cluster is its
M2 representative, as in the lexicon-only layer) and every other word is placed by, in order:
1. normalisation (vocab.normalize): the phrase head, inflection, derivation, if the lexicon knows it;
2. WordNet synonymy: a lemma of the word's first synsets that the lexicon knows;
3. embeddings (EmbeddingVocabulary only): the nearest lexicon base word by cosine similarity
   (faiss, exact inner product on unit vectors), if at least `attach_threshold`;
4. otherwise the word is its own cluster (its normalised key). `attach_oov=False` skips 2 and 3.

Without a lexicon the clusters are built from the fitted words: WordNet synonym and
derivational links join words, then each remaining group joins the first earlier group
(sorted order) whose leader is at least `attach_threshold` similar.

Cluster names are deterministic: a lexicon representative, or the alphabetically first key.
Empty and punctuation-only words get the cluster '' (callers drop it); non-English,
over-long and negated words ("not angry", no lexicon antonym) are their own clusters and
are never attached by similarity.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from core.uses import PathUse
from vocab.base import Vocabulary
from vocab.embeddings import Embedder
from vocab.lexicon import load_lexicon
from vocab.normalize import Normalized, Normalizer
from vocab.wordnet import first_senses, load_wordnet, wordnet_dir

log = logging.getLogger(__name__)

EMPTY_CLUSTER = ""


@dataclass
class WordNetVocabulary(Vocabulary):
    """Lexicon + normalisation + WordNet synonymy. See the module docstring.

    lexicon: lexicon folder ('' = clusters from the fitted words); attach_oov / attach_threshold:
    the out-of-lexicon rule; template: the sentence a word is embedded in; cache_dir: the
    embedding cache root ('' = $OVMER_CACHE or the user cache folder; WordNet always comes from the folder
    `python -m vocab.wordnet --prepare` makes); model_path: '' = the packaged all-MiniLM-L6-v2.
    """

    lexicon: str = ""
    attach_oov: bool = True
    # The highest threshold tied for the best training EW-L1 F of the k-of-n ensemble on the
    # dev clips (experiments/vocab_ensemble_effect.py); 0.0 .. 0.85 all scored the same there.
    attach_threshold: float = 0.85
    template: str = "The person feels {}."
    cache_dir: str = ""
    model_path: str = ""
    use_embeddings: bool = False

    lexicon_: object = field(default=None, init=False, repr=False)
    normalizer_: Normalizer | None = field(default=None, init=False, repr=False)
    clusters_: dict = field(default_factory=dict, init=False, repr=False)
    anchors_: dict = field(default_factory=dict, init=False, repr=False)
    embedder_: object = field(default=None, init=False, repr=False)
    index_: object = field(default=None, init=False, repr=False)
    index_forms_: list = field(default_factory=list, init=False, repr=False)
    parent_: dict = field(default_factory=dict, init=False, repr=False)

    path_params = {"lexicon": "folder", "model_path": "folder"}

    def paths(self) -> list[PathUse]:
        """Its lexicon and model folders, and the caches it writes: the prepared WordNet folder
        and, with embeddings, the embedding cache."""
        uses = super().paths() + [PathUse(str(wordnet_dir()), "WordNet cache", folder=True, writes=True)]
        if self.use_embeddings:
            cache = Embedder(model_path=self.model_path, cache_dir=self.cache_dir).cache_file()
            uses.append(PathUse(str(cache), "embedding cache", writes=True))
        return uses

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, words: Iterable[str] = ()) -> "WordNetVocabulary":
        self.lexicon_ = load_lexicon(self.lexicon) if self.lexicon else None
        self.normalizer_ = Normalizer(self.lexicon_, load_wordnet())
        self.clusters_, self.anchors_, self.parent_ = {}, {}, {}
        self.index_, self.index_forms_ = None, []
        words = sorted(set(words))
        if self.lexicon_ is not None:
            self._place_batch(words)
        else:
            self._build_from_words(words)
        return self

    # -- the interface -----------------------------------------------------------------------
    def cluster(self, word: str) -> str:
        if word not in self.clusters_:
            if self.lexicon_ is not None:
                self._place_batch([word])
            else:
                self._place_unfitted_without_lexicon(word)
        return self.clusters_[word]

    def surface(self, word: str) -> str:
        normal = self.normalizer_.normalize(word)
        return normal.key if normal.kind == "translated" else word

    # -- placing words -------------------------------------------------------------------------
    def _representative(self, form: str) -> str:
        return self.lexicon_.map_m2(form) or form

    def _place_batch(self, words: list[str]) -> None:
        pending: list[tuple[str, Normalized]] = []
        for word in words:
            normal = self.normalizer_.normalize(word)
            anchor = self._symbolic_anchor(normal)
            if anchor is not None or normal.kind in ("empty", "foreign", "long", "negated"):
                self._assign(word, normal, anchor)
            else:
                pending.append((word, normal))
        if pending and self.use_embeddings and self.attach_oov and self.lexicon_ is not None:
            anchors = self._nearest_anchors([normal.key for _, normal in pending])
            for (word, normal), anchor in zip(pending, anchors):
                self._assign(word, normal, anchor)
        else:
            for word, normal in pending:
                self._assign(word, normal, None)

    def _assign(self, word: str, normal: Normalized, anchor: str | None) -> None:
        if normal.kind == "empty":
            self.clusters_[word] = EMPTY_CLUSTER
        elif anchor is not None:
            self.clusters_[word] = self._representative(anchor)
        else:
            self.clusters_[word] = normal.key
        self.anchors_[word] = anchor

    def _symbolic_anchor(self, normal: Normalized) -> str | None:
        """A lexicon form reached by normalisation or WordNet synonymy, else None."""
        if normal.kind not in ("word", "phrase", "translated") or self.lexicon_ is None:
            return None
        if self.normalizer_.known(normal.key):
            return normal.key
        if not self.attach_oov:
            return None
        for synonym in self.wordnet_synonyms(normal.key):
            if self.normalizer_.known(synonym):
                return self.normalizer_.lexicon_form(synonym)
        return None

    def wordnet_synonyms(self, key: str) -> list[str]:
        """Lemmas of the first senses of the key, in WordNet order (deterministic)."""
        found: list[str] = []
        for synset in first_senses(self.normalizer_.wordnet, key):
            for lemma in synset.lemmas():
                name = lemma.name().lower().replace("_", " ")
                if name != key and name not in found:
                    found.append(name)
        return found

    # -- embeddings (used by EmbeddingVocabulary) ----------------------------------------------
    def _embed(self, keys: list[str]) -> np.ndarray:
        if self.embedder_ is None:
            self.embedder_ = Embedder(model_path=self.model_path, cache_dir=self.cache_dir)
        return self.embedder_.embed([self.template.format(key) for key in keys])

    def _nearest_anchors(self, keys: list[str]) -> list[str | None]:
        import faiss

        if self.index_ is None:
            # The base words (format.csv rows), not all 7,386 forms: inflected forms add little
            # (normalisation already reduces an out-of-lexicon word to its lemma) and cost 6x
            # the embeddings on a cold cache.
            forms = sorted({base for bases in self.lexicon_.format_mapping.values() for base in bases})
            vectors = self._embed(forms)
            self.index_ = faiss.IndexFlatIP(vectors.shape[1])
            self.index_.add(vectors)
            self.index_forms_ = forms
        scores, rows = self.index_.search(self._embed(keys), 1)
        return [
            self.index_forms_[row[0]] if score[0] >= self.attach_threshold else None
            for score, row in zip(scores, rows)
        ]

    # -- no lexicon: clusters from the fitted words --------------------------------------------
    def _build_from_words(self, words: list[str]) -> None:
        normals = {word: self.normalizer_.normalize(word) for word in words}
        keys = sorted({n.key for n in normals.values() if n.kind in ("word", "phrase")})
        self.parent_ = {key: key for key in keys}
        find, union = self._find, self._union

        key_set = set(keys)
        for key in keys:
            linked = self.wordnet_synonyms(key) + self.normalizer_.related_forms(key)
            for other in linked:
                if other in key_set:
                    union(key, other)
        if self.use_embeddings and self.attach_oov and keys:
            roots = sorted({find(key) for key in keys})
            vectors = self._embed(roots)
            leaders: list[int] = []
            for i, root in enumerate(roots):
                if leaders:
                    similarity = vectors[leaders] @ vectors[i]
                    best = int(np.argmax(similarity))
                    if similarity[best] >= self.attach_threshold:
                        union(roots[leaders[best]], root)
                        continue
                leaders.append(i)
        for word, normal in normals.items():
            if normal.kind == "empty":
                self.clusters_[word] = EMPTY_CLUSTER
            elif normal.kind in ("word", "phrase"):
                self.clusters_[word] = find(normal.key)
            else:
                self.clusters_[word] = normal.key
            self.anchors_[word] = None

    def _find(self, key: str) -> str:
        parent = self.parent_
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def _union(self, a: str, b: str) -> None:
        # The alphabetically first root names the merged cluster, so names do not depend on order.
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            self.parent_[max(ra, rb)] = min(ra, rb)

    def _place_unfitted_without_lexicon(self, word: str) -> None:
        normal = self.normalizer_.normalize(word)
        key = normal.key
        if normal.kind == "empty":
            self.clusters_[word] = EMPTY_CLUSTER
        elif key in self.parent_:
            self.clusters_[word] = self._find(key)
        else:
            self.clusters_[word] = key
        self.anchors_[word] = None


@dataclass
class EmbeddingVocabulary(WordNetVocabulary):
    """The full layer: WordNetVocabulary plus nearest-neighbour attachment by MiniLM embeddings."""

    use_embeddings: bool = True
