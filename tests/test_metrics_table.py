"""ew_scores maps each distinct label once; its figures equal the plain per-mapping `prf`
(real gold, real member outputs, real lexicon)."""
from __future__ import annotations

import pytest

from core.metrics.common import paired_clips
from core.metrics.ew import ew_scores, prf
from members.readers import read_label_sets
from tests.support import LEXICON, affectgpt_file, baseline_file
from vocab.lexicon import load_lexicon


@pytest.mark.parametrize("path", [affectgpt_file(30), baseline_file("Video-ChatGPT")])
def test_ew_scores_equal_plain_prf_per_mapping(gold, path):
    lexicon = load_lexicon(LEXICON)
    pred = read_label_sets(path)
    # Upper-case and padded copies of the labels go through the same normalisation.
    pred = {clip: [f" {w.upper()} " if i % 2 else w for i, w in enumerate(words)] for clip, words in pred.items()}
    pred.update({clip: [] for clip in gold if clip not in pred})
    clips = paired_clips(gold, pred)
    scores = ew_scores(gold, pred, lexicon)
    for name in lexicon.metric_names():
        assert vars(scores.per_metric[name]) == vars(prf(gold, pred, lexicon.mapper(name), clips))
