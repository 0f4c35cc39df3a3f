"""Speed and memory of the vocabulary layer, cold and warm embedding cache (prints JSON).

Words: every distinct label in the OV-MERD member label files (10 baselines x 3 settings,
7 AffectGPT checkpoints) and the AffectGPT MER2024 label files (1,169 clips x 7 checkpoints).
Each phase runs in its own process on the same fresh cache folder:
  cold: empty embedding cache (the lexicon forms and all words are embedded, model loaded);
  warm: the cache filled by the cold phase (nothing embedded, model never loaded).
Per phase: set-up time (WordNet reader, lexicon), normalisation words/s, full-layer
clustering (EmbeddingVocabulary.fit) words/s, local grouper clips/s on the 200 dev clips,
and peak resident memory (getrusage ru_maxrss).

    python experiments/vocab_speed.py [--data-root ../shared/data]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.settings import resolve_data_root  # noqa: E402


def all_words(root: Path) -> list[str]:
    from core.errors import InputError
    from core.labels import normalise_label
    from members.readers import read_label_sets

    files = sorted((root / "ovmerd/members").rglob("*-openset.npz")) + sorted((root / "affectgpt_mer2024").rglob("*-openset.npz"))
    words = set()
    for path in files:
        try:
            sets = read_label_sets(path)
        except InputError:  # a few shared files hold a malformed row; they add no words here
            continue
        for labels in sets.values():
            words.update(normalise_label(w) for w in labels)
    return sorted(words)


def phase(root: Path, cache: str) -> dict:
    from core.labels import normalise_label, read_label_csv
    from vocab.grouper import LocalGrouper
    from vocab.lexicon import load_lexicon
    from vocab.normalize import Normalizer
    from vocab.semantic import EmbeddingVocabulary
    from vocab.wordnet import load_wordnet

    words = all_words(root)
    lexicon_dir = str(root / "lexicon/mer2025")
    start = time.perf_counter()
    wordnet, lexicon = load_wordnet(), load_lexicon(lexicon_dir)
    setup = time.perf_counter() - start

    start = time.perf_counter()
    normalizer = Normalizer(lexicon, wordnet)
    for word in words:
        normalizer.normalize(word)
    normalise = time.perf_counter() - start

    start = time.perf_counter()
    vocab = EmbeddingVocabulary(lexicon=lexicon_dir, cache_dir=cache).fit(words)
    clusters = {vocab.cluster(w) for w in words}
    cluster_time = time.perf_counter() - start
    embedded = vocab.embedder_.n_computed_ if vocab.embedder_ is not None else 0

    gold = read_label_csv(root / "ovmerd/gold_dev.csv")
    pred = read_label_csv(root / "mer2024_ov/predict-openset.csv")
    grouper = LocalGrouper(lexicon=lexicon_dir, cache_dir=cache)
    start = time.perf_counter()
    for clip in sorted(gold):
        grouper.groups(clip, [normalise_label(w) for w in gold[clip] + pred.get(clip, [])])
    group_time = time.perf_counter() - start
    return {
        "words": len(words),
        "setup_s": round(setup, 3),
        "normalise_words_per_s": round(len(words) / normalise, 1),
        "cluster_s": round(cluster_time, 3),
        "cluster_words_per_s": round(len(words) / cluster_time, 1),
        "clusters": len(clusters),
        "embedded_this_phase": embedded + (grouper._embedder.n_computed_ if grouper._ready else 0),
        "grouper_clips_per_s": round(len(gold) / group_time, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-root", default=resolve_data_root())
    parser.add_argument("--phase", choices=("cold", "warm"), help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args()
    root = Path(args.data_root).resolve()
    if args.phase:
        print(json.dumps(phase(root, args.cache)))
        return 0
    result = {"machine": {"cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory(prefix="vocab-speed-") as cache:
        for name in ("cold", "warm"):
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, __file__, "--data-root", str(root), "--phase", name, "--cache", cache],
                check=True, capture_output=True, text=True,
            )
            result[name] = json.loads(done.stdout.strip().splitlines()[-1])
            result[name]["process_wall_s"] = round(time.perf_counter() - start, 2)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
