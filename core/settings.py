"""Defaults that several layers share, each defined once.

The data root holds research-only data that the repository must not contain. It comes from, in
order: an explicit value (`--data-root`), the `OVMER_DATA` environment variable, a config's
`data_root`, then DEFAULT_DATA_ROOT (relative to the directory you run from). The cache root
(embeddings, WordNet, tuning fits, LLM answers) is `$OVMER_CACHE`, else `.cache/` in the
repository.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_ROOT = "../shared/data"
# The lexicon behind the OV-MER paper table, relative to the data root.
DEFAULT_LEXICON = "lexicon/mer2025"


def resolve_data_root(explicit: str | None = None, configured: str | None = None) -> str:
    """--data-root, else $OVMER_DATA, else the config's value, else DEFAULT_DATA_ROOT."""
    return explicit or os.environ.get("OVMER_DATA") or configured or DEFAULT_DATA_ROOT


def default_lexicon(data_root: str | None = None) -> str:
    """The default lexicon folder under a data root (resolved as resolve_data_root does)."""
    return str(Path(resolve_data_root(data_root)) / DEFAULT_LEXICON)


def default_cache_dir() -> Path:
    """$OVMER_CACHE, else .cache/ in the repository."""
    return Path(os.environ.get("OVMER_CACHE") or REPO_ROOT / ".cache")


def cache_dir_or_default(cache_dir: str | os.PathLike | None) -> Path:
    """A configured cache root, or the default one when it is empty."""
    return Path(cache_dir) if cache_dir else default_cache_dir()
