"""core.progress: N/M log lines when stderr is not a terminal, a bar with logging above it when
it is, nothing under -q; and the long phases (MER2024 grouping, extraction) report through it."""
from __future__ import annotations

import io
import logging
import re
import sys

import pytest

from core import progress as progress_module
from core.metrics import mer2024_scores
from core.progress import progress


@pytest.fixture
def every_step(monkeypatch, caplog):
    """Progress lines at every step (no interval), INFO records captured; pytest's captured
    stderr is not a terminal."""
    monkeypatch.setenv("OVMER_PROGRESS_INTERVAL", "0")
    caplog.set_level(logging.INFO)
    return caplog


def progress_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "core.progress"]


def test_log_lines_count_rate_and_eta(every_step, capsys):
    assert list(progress(range(4), "ballots")) == [0, 1, 2, 3]
    lines = progress_lines(every_step)
    assert [line.split(",")[0] for line in lines] == ["ballots: 1/4 clips", "ballots: 2/4 clips", "ballots: 3/4 clips",
                                                      "ballots: 4/4 clips"]
    assert all("clip/s" in line and "ETA" in line and "elapsed" in line for line in lines)
    assert capsys.readouterr().err == ""  # no bar, no carriage returns in the log file


def test_updated_by_hand_with_its_own_unit(every_step):
    bar = progress(total=3, desc="nested CV", unit="fit")
    bar.update(2)
    bar.update(1)
    bar.close()
    assert [line.split(",")[0] for line in progress_lines(every_step)] == ["nested CV: 2/3 fits", "nested CV: 3/3 fits"]


def test_interval_spaces_the_lines_and_a_quick_phase_logs_none(monkeypatch, caplog):
    monkeypatch.setenv("OVMER_PROGRESS_INTERVAL", "3600")
    caplog.set_level(logging.INFO)
    list(progress(range(1000), "ballots"))
    assert progress_lines(caplog) == []


def test_quiet_or_disabled_shows_nothing(monkeypatch, caplog):
    monkeypatch.setenv("OVMER_PROGRESS_INTERVAL", "0")
    caplog.set_level(logging.WARNING)
    list(progress(range(3), "quiet"))
    caplog.set_level(logging.INFO)
    list(progress(range(3), "off", enabled=False))
    assert progress_lines(caplog) == []


def test_bad_interval_falls_back_to_the_default(monkeypatch):
    monkeypatch.setenv("OVMER_PROGRESS_INTERVAL", "soon")
    assert progress_module.log_interval() == progress_module.DEFAULT_INTERVAL


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_log_records_print_above_the_bar(monkeypatch):
    """While a bar is drawn, a log record is written as whole lines through tqdm (not into the
    bar's line), and the console handler is restored when the last bar closes."""
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        outer = progress(range(2), "members", unit="member")
        assert isinstance(outer, progress_module.Bar)
        for _ in outer:
            inner = progress(total=2, desc="model")
            logging.getLogger("members.x").info("endpoints answer")
            inner.update(2)
            inner.close()
            assert handler not in root.handlers  # replaced by tqdm's while bars are open
        assert handler in root.handlers
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    text = terminal.getvalue()
    # Each record is a whole line written after tqdm cleared the bars (carriage return or
    # cursor-up just before it), never glued behind a bar's text.
    assert len(re.findall(r"(?:\r|\x1b\[A)INFO endpoints answer\n", text)) == text.count("INFO endpoints answer") == 2
    assert "members:" in text and "member/s" in text


def test_mer2024_grouping_reports_progress(every_step):
    gold = {"a": ["happy"], "b": ["sad"]}
    mer2024_scores(gold, gold, progress=True)
    assert [line.split(",")[0] for line in progress_lines(every_step)] == ["MER2024 grouping: 1/2 clips",
                                                                           "MER2024 grouping: 2/2 clips"]
    every_step.clear()
    mer2024_scores(gold, gold)  # inside tuning's folds: silent
    assert progress_lines(every_step) == []


def test_extraction_reports_progress(every_step, lexicon_2025):
    from core.factory import build
    from tests.support import LEXICON

    extractor = build("extractor", {"type": "rules"}, {"lexicon": LEXICON, "cache_dir": ""})
    labels = extractor.extract_many({"a": "She looks happy.", "b": "He is angry and sad."})
    assert labels["a"] == ["happy"]
    assert [line.split(",")[0] for line in progress_lines(every_step)][-1] == "extract: 2/2 clips"
