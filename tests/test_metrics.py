"""Both official metrics reproduce every reference figure of docs/metrics.md on the real files."""
from __future__ import annotations

import pytest

from core.errors import InputError
from core.labels import read_label_csv
from core.metrics import IdentityGrouper, ZipGrouper, ew_scores, mer2024_scores
from members.readers import read_label_sets
from tests.support import DATA, affectgpt_file, baseline_file

# docs/metrics.md, 2025 lexicon, 200 dev clips: (M-avg, EW-L1 F, EW-L1 P, EW-L1 R)
EW_REFERENCE = {
    "Chat-UniVi": (44.58, 53.99, 53.37, 54.67),
    "LLaMA-VID": (43.92, 53.21, 51.41, 55.20),
    "Otter": (41.47, 51.57, 51.93, 51.22),
    "Qwen-Audio": (33.32, 42.35, 47.11, 38.49),
    "SALMONN": (44.52, 54.43, 51.98, 57.18),
    "Video-ChatGPT": (46.81, 56.47, 57.33, 55.66),
    "Video-LLaVA": (42.45, 53.10, 53.09, 53.11),
    "VideoChat": (37.70, 47.25, 43.28, 52.03),
    "VideoChat2": (44.48, 53.57, 55.98, 51.40),
    "mPLUG-Owl": (46.11, 56.33, 55.02, 57.73),
    "AffectGPT-30": (55.57, 67.77, 65.62, 70.22),
    "AffectGPT-40": (54.55, 66.06, 62.54, 70.35),
    "AffectGPT-60": (48.84, 60.88, 57.56, 64.77),
}


def _prediction_file(member: str):
    if member.startswith("AffectGPT-"):
        return affectgpt_file(int(member.split("-")[1]))
    return baseline_file(member)


@pytest.fixture(scope="module")
def gold(gold_path):
    return read_label_csv(gold_path)


def test_mer2024_reference_on_dev_clips(gold):
    pred = read_label_csv(DATA / "mer2024_ov" / "predict-openset.csv")
    scores = mer2024_scores(gold, pred, ZipGrouper(DATA / "mer2024_ov" / "openset-synonym-dev.zip"))
    assert scores.n_clips == 200
    assert scores.accuracy == pytest.approx(0.555583, abs=1e-6)
    assert scores.recall == pytest.approx(0.488250, abs=1e-6)
    assert scores.avg == pytest.approx(0.521917, abs=1e-6)


def test_mer2024_groupings_change_the_score(gold):
    """Without synonym groups the same pair scores lower: the grouper is really used."""
    pred = read_label_csv(DATA / "mer2024_ov" / "predict-openset.csv")
    assert mer2024_scores(gold, pred, IdentityGrouper()).avg < 0.5


@pytest.mark.parametrize("member", sorted(EW_REFERENCE))
def test_ew_reference(member, gold, lexicon_2025):
    scores = ew_scores(gold, read_label_sets(_prediction_file(member)), lexicon_2025)
    m_avg, l1_f, l1_p, l1_r = EW_REFERENCE[member]
    assert scores.m_avg == pytest.approx(m_avg, abs=0.01)
    assert scores.level(1, "f") == pytest.approx(l1_f, abs=0.01)
    assert scores.level(1, "p") == pytest.approx(l1_p, abs=0.01)
    assert scores.level(1, "r") == pytest.approx(l1_r, abs=0.01)
    assert len(scores.per_metric) == 12


def test_ew_rules_on_a_toy_case(lexicon_2025):
    """Out-of-lexicon gold is dropped (clip skipped); an all-unknown prediction scores zero."""
    gold = {"a": ["happy"], "b": ["neutral"], "c": ["angry"]}
    pred = {"a": ["happy"], "b": ["happy"], "c": ["zzz-not-a-word"]}
    m1 = ew_scores(gold, pred, lexicon_2025).per_metric["M1"]
    assert m1.n_clips == 2  # 'neutral' is outside the lexicon, so clip b is skipped
    assert (m1.p, m1.r) == (50.0, 50.0)


def test_missing_prediction_clip_is_an_error(gold, lexicon_2025):
    pred = dict(list(gold.items())[:10])
    with pytest.raises(InputError, match="prediction lacks 190 of the 200 gold clips"):
        ew_scores(gold, pred, lexicon_2025)
