"""Vocabulary types by name, resolved lazily (see members.registry)."""
from __future__ import annotations

from members.registry import resolve_target

VOCAB_TYPES: dict[str, str] = {
    "lexicon": "vocab.clusters:LexiconVocabulary",
    "wordnet": "vocab.semantic:WordNetVocabulary",
    "embedding": "vocab.semantic:EmbeddingVocabulary",
    "full": "vocab.semantic:EmbeddingVocabulary",
}


def resolve(name: str) -> type:
    return resolve_target(VOCAB_TYPES, name, "vocabulary")

# MER2024 synonym groupers that run locally (the `evaluate --grouper` choices besides
# 'cached' and 'identity').
GROUPER_TYPES: dict[str, str] = {
    "local": "vocab.grouper:LocalGrouper",
}
