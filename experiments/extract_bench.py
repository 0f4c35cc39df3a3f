"""Extraction speed: descriptions per second of the rule and learned extractors.

Runs on every description of the 10 OV-MER baselines (`nosubtitle-addsub`, 332 clips each) plus
AffectGPT epoch 30, in one process, and in `--workers` processes (joblib) to use both cores
of the 2-core machine. The learned extractor is fitted once on all 200 dev clips first (fitting
is not timed; the scores of that fit are not used anywhere). Prints one JSON object.

Usage: python experiments/extract_bench.py [--data ../shared/data] [--workers 2] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.labels import read_label_csv  # noqa: E402
from core.settings import resolve_data_root  # noqa: E402
from members.extract import rules as rules_module  # noqa: E402
from members.extract.learned import LearnedExtractor  # noqa: E402
from members.extract.rules import RuleExtractor  # noqa: E402
from members.readers import read_outputs  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract_eval import member_paths  # noqa: E402


def extract_chunk(extractor, items):
    # The parse cache would make every repeat after the first a lookup: start each run cold.
    rules_module._parse.cache_clear()
    return [extractor.extract(text, member) for member, text in items]


def spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def parallel_speedup(workers: int, n: int = 5_000_000) -> float:
    """How much faster `workers` processes run `workers` units of pure-Python work than one process.

    Tells whether the machine's cores are really free: 2.0 on two idle cores, ~1 when shared.
    """
    from joblib import Parallel, delayed

    Parallel(n_jobs=workers)(delayed(spin)(10) for _ in range(workers))
    start = time.perf_counter()
    for _ in range(workers):
        spin(n)
    serial = time.perf_counter() - start
    start = time.perf_counter()
    Parallel(n_jobs=workers)(delayed(spin)(n) for _ in range(workers))
    return serial / (time.perf_counter() - start)


def timed(extractor, items, workers: int, repeat: int) -> float:
    """Best-of-`repeat` descriptions per second (parse cache cleared; worker start-up not timed)."""
    from joblib import Parallel, delayed

    if workers > 1:  # start the workers and load the lexicon in each, untimed
        Parallel(n_jobs=workers)(delayed(extract_chunk)(extractor, items[:200]) for _ in range(2 * workers))
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        if workers == 1:
            extract_chunk(extractor, items)
        else:
            chunks = [items[i::workers] for i in range(workers)]
            Parallel(n_jobs=workers)(delayed(extract_chunk)(extractor, chunk) for chunk in chunks)
        best = max(best, len(items) / (time.perf_counter() - start))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", dest="data", default=resolve_data_root())
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = Path(args.data)
    lexicon = str(data / "lexicon/mer2025")
    descriptions = {
        member: {c: o.description for c, o in read_outputs(f"{stem}.npz", trust_pickle=True).items()}
        for member, stem in member_paths(data).items()
    }
    items = [(member, text) for member, texts in descriptions.items() for text in texts.values()]
    gold = read_label_csv(data / "ovmerd/gold_dev.csv")
    rules = RuleExtractor(lexicon=lexicon)
    start = time.perf_counter()
    rules.extract("warm-up: loads the lexicon")
    lexicon_load_s = time.perf_counter() - start
    learned = LearnedExtractor(lexicon=lexicon).fit(descriptions, gold)
    result = {
        "descriptions": len(items),
        "mean_chars": round(sum(len(t) for _, t in items) / len(items)),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "lexicon_load_s": round(lexicon_load_s, 2),
        "rules_per_s_1_process": round(timed(rules, items, 1, args.repeat), 1),
        f"rules_per_s_{args.workers}_processes": round(timed(rules, items, args.workers, args.repeat), 1),
        "learned_per_s_1_process": round(timed(learned, items, 1, args.repeat), 1),
        f"learned_per_s_{args.workers}_processes": round(timed(learned, items, args.workers, args.repeat), 1),
        "cpu_parallel_speedup_pure_python": round(parallel_speedup(args.workers), 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
