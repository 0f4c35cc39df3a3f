"""Every configurable part by kind and name, as 'module:Class' strings resolved on demand.

A config names a part by a registered name (`type: cached`) or directly as 'module:Class';
the class is imported only when a config asks for it, so a heavy backend costs nothing until
used. Plug-ins add names with `register`. The tables hold strings only: the kernel never
imports the layers whose classes they name.
"""
from __future__ import annotations

import importlib

from core.errors import InputError

TYPES: dict[str, dict[str, str]] = {
    "member": {
        "cached": "members.cached:CachedMember",
        "described": "members.extract.member:ExtractingMember",
        "extracted": "members.extract.member:ExtractingMember",
        "affectgpt": "members.live.affectgpt:AffectGPTMember",
        "openai": "members.live.openai:OpenAIMember",
    },
    "vocab": {
        "lexicon": "vocab.clusters:LexiconVocabulary",
        "wordnet": "vocab.semantic:WordNetVocabulary",
        "embedding": "vocab.semantic:EmbeddingVocabulary",
        "full": "vocab.semantic:EmbeddingVocabulary",
    },
    "judge": {
        "kofn": "judge.vote:KOfNVote",
        "weighted": "judge.weighted:WeightedVote",
        "coarse": "judge.weighted:CoarseVote",
        "stacker": "judge.stacker:Stacker",
        "category": "judge.category:CategoryJudge",
    },
    "extractor": {
        "rules": "members.extract.rules:RuleExtractor",
        "learned": "members.extract.learned:LearnedExtractor",
        "llm": "members.extract.llm:LLMExtractor",
    },
    # MER2024 synonym groupers (`evaluate --grouper`).
    "grouper": {
        "identity": "core.metrics.mer2024:IdentityGrouper",
        "cached": "core.metrics.mer2024:ZipGrouper",
        "local": "vocab.grouper:LocalGrouper",
    },
}

# The type a spec without `type:` gets.
DEFAULT_TYPES: dict[str, str] = {"member": "cached", "vocab": "lexicon", "judge": "kofn", "extractor": "rules"}

# How error messages name each kind.
KIND_NAMES: dict[str, str] = {
    "member": "member", "vocab": "vocabulary", "judge": "judge", "extractor": "extractor", "grouper": "grouper",
}


def _table(kind: str) -> dict[str, str]:
    if kind not in TYPES:
        raise ValueError(f"unknown kind of part {kind!r} (known: {', '.join(TYPES)})")
    return TYPES[kind]


def register(kind: str, name: str, target: str) -> None:
    """Make `type: name` of this kind resolve to `target`, given as 'module:Class'."""
    if ":" not in target:
        raise ValueError(f"{kind} target must be 'module:Class', got {target!r}")
    _table(kind)[name] = target


def names(kind: str) -> list[str]:
    """The registered names of one kind, sorted."""
    return sorted(_table(kind))


def resolve(kind: str, name: str) -> type:
    """The class behind a registered name, or behind a 'module:Class' given directly."""
    table = _table(kind)
    label = KIND_NAMES[kind]
    target = table.get(name, name)
    if not isinstance(target, str) or ":" not in target:
        raise InputError(f"unknown {label} type '{name}' (known: {', '.join(sorted(table))}; or give 'module:Class')")
    module_name, class_name = target.split(":", 1)
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise InputError(f"{label} type '{name}': cannot import {target} ({error})") from None
