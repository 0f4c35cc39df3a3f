"""Prototype, for measurement only (issue 16, item 3): the views' description texts as evidence.

Each OV-MER baseline view has a description file beside its label file (the model's free-text
reasoning about the clip). A clip's description vector is the mean of the unit MiniLM embeddings
(the packaged all-MiniLM-L6-v2, vocab/embeddings.py) of its views' descriptions; a candidate
category's evidence is the cosine between that vector and the embedding of "The person feels
{category}.", as is and centred on the clip's candidates under the same mapping. The two columns
are added to the size-prior judge's features (experiments/size_prior.py); everything else is the
same judge.

    python experiments/desc_evidence.py --gold GOLD --exclude experiments/lockbox.txt --out .cache/h16/desc.npz

embeds the descriptions of the design clips only (the gold clips left after --exclude: no
lockbox text is read into the file) and the category names their members' words land on.
The description files are pickles: they are read with core.safepickle (no code runs).
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from experiments.size_prior import SizePriorViewCategory  # noqa: E402
from vocab.ballot import ClipBallot  # noqa: E402

log = logging.getLogger("desc_evidence")
TEMPLATE = "The person feels {}."


def load_evidence(path: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """({clip: description vector}, {category: vector}) from the file main() writes."""
    with np.load(path, allow_pickle=False) as data:
        clips = {str(c): data["clip_vectors"][i] for i, c in enumerate(data["clips"])}
        categories = {str(c): data["category_vectors"][i] for i, c in enumerate(data["categories"])}
    return clips, categories


@dataclass
class DescSizePriorViewCategory(SizePriorViewCategory):
    """The size-prior view judge with two description features per candidate category."""

    desc: str = ""  # the npz main() writes
    kind = "desc_size_prior_view_category"

    def batch_features(self, flat, ballots: Sequence[ClipBallot], own: np.ndarray | None = None) -> np.ndarray:
        X = super().batch_features(flat, ballots, own)
        if not hasattr(self, "desc_clips_"):
            self.desc_clips_, self.desc_categories_ = load_evidence(self.desc)
        dim = next(iter(self.desc_categories_.values())).shape[0]
        clip_vectors = np.stack([self.desc_clips_.get(b.clip, np.zeros(dim)) for b in ballots]) if ballots else np.zeros((0, dim))
        pair_vectors = np.stack([self.desc_categories_.get(str(cat), np.zeros(dim)) for _, cat in flat.pairs]) if flat.pairs else np.zeros((0, dim))
        cosine = np.einsum("ij,ij->i", clip_vectors[flat.cand_clip], pair_vectors[flat.cand_key]) if len(X) else np.zeros(0)
        # Centred on the clip's candidates under the same mapping: which category the text favours.
        mapping = np.array([ii for ii, _ in flat.pairs], dtype=np.int64)[flat.cand_key] if len(X) else np.zeros(0, dtype=np.int64)
        group = flat.cand_clip * (int(mapping.max()) + 1 if len(mapping) else 1) + mapping
        sums = np.bincount(group, weights=cosine) if len(X) else np.zeros(0)
        counts = np.bincount(group) if len(X) else np.zeros(0)
        centred = cosine - (sums / np.maximum(counts, 1))[group] if len(X) else np.zeros(0)
        return np.hstack([X, cosine[:, None], centred[:, None]])

    def _feature_names(self) -> list[str]:
        return super()._feature_names() + ["desc_cosine", "desc_cosine_centred"]


def main() -> int:
    from core.labels import read_label_csv
    from core.safepickle import load_npz
    from ensemble.config import load_config
    from ensemble.pipeline import prepare, shared_settings
    from experiments.repeated_cv import ROOT, VIEWS, exclude_clips, split_models
    from judge.fastscore import WordMaps
    from vocab.embeddings import Embedder
    from vocab.lexicon import load_lexicon

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", required=True)
    parser.add_argument("--exclude", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--data-root")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    design = sorted(exclude_clips(read_label_csv(args.gold), args.exclude))
    config = load_config(ROOT / VIEWS, data_root=args.data_root)
    split_models(config)
    texts: dict[str, list[str]] = {c: [] for c in design}
    for entry in config.members:
        if str(entry.path).endswith("-openset.npz"):
            reasons = load_npz(str(entry.path).replace("-openset.npz", ".npz"))["name2reason"].item()
            for clip in design:
                if clip in reasons and str(reasons[clip]).strip():
                    texts[clip].append(str(reasons[clip]))
    embedder = Embedder()
    clip_vectors = []
    for clip in design:
        vectors = embedder.embed(texts[clip]) if texts[clip] else np.zeros((1, 384), dtype=np.float32)
        mean = vectors.mean(axis=0)
        clip_vectors.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
    maps = WordMaps(load_lexicon(shared_settings(config)["lexicon"]))
    prepared = prepare(config)
    categories = sorted({value for b in prepared.ballots if b.clip in texts for words in b.votes.values()
                         for ws in words.values() for w in ws for value in maps(w) if value is not None})
    category_vectors = embedder.embed([TEMPLATE.format(c) for c in categories])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, clips=np.array(design), clip_vectors=np.stack(clip_vectors),
             categories=np.array(categories), category_vectors=category_vectors)
    log.info("%d clips (%d descriptions), %d categories -> %s", len(design), sum(map(len, texts.values())), len(categories), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
