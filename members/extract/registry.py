"""Extractor types by name, built from a plain config mapping such as {"type": "rules", ...}."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from ensemble.errors import InputError
from members.extract.base import Extractor
from members.registry import resolve_target

EXTRACTOR_TYPES: dict[str, str] = {
    "rules": "members.extract.rules:RuleExtractor",
    "learned": "members.extract.learned:LearnedExtractor",
    "llm": "members.extract.llm:LLMExtractor",
}
DEFAULT_TYPE = "rules"


def default_lexicon() -> str:
    """The 2025 lexicon under $OVMER_DATA, else under ../shared/data (the development layout)."""
    root = os.environ.get("OVMER_DATA") or "../shared/data"
    return str(Path(root) / "lexicon" / "mer2025")


def make_extractor(config: Mapping[str, Any] | None, lexicon: str | None = None) -> Extractor:
    """Build an extractor: `type` picks the class (or 'module:Class'), the other keys are its parameters.

    Extractors that read the lexicon and name none get `lexicon`, else `default_lexicon()`.
    """
    params = dict(config or {})
    kind = str(params.pop("type", DEFAULT_TYPE))
    cls = resolve_target(EXTRACTOR_TYPES, kind, "extractor")
    try:
        extractor = cls(**params)
    except TypeError as error:
        raise InputError(f"extractor '{kind}': bad parameters {sorted(params)} ({error})") from None
    if "lexicon" in extractor.get_params() and not extractor.lexicon:
        extractor.lexicon = lexicon or default_lexicon()
    return extractor
