"""The error-analysis page (`analyze`): its figures against the official metric code, its bad-input
errors, and the page itself in a real headless browser (Debian's `chromium`).

Everything runs on the real member files, gold and lexicon: `run --explain` of a three-member
k-of-n ensemble, then `analyze`. The browser tests load the written file, let its script run,
and read the DOM that a person would see (rows, their order, the filter); they are skipped only
when no chromium is installed (`apt-get install -y chromium`).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
from omegaconf import OmegaConf

from core.labels import read_label_csv
from core.metrics import ew_scores
from ensemble.analysis import analyse, level1_names, read_explain
from ensemble.cli import main as cli
from members.readers import read_label_sets
from tests.support import DATA, GOLD, LEXICON, affectgpt_file, baseline_file
from vocab.lexicon import load_lexicon

MEMBERS = {"Video-ChatGPT": baseline_file("Video-ChatGPT"), "mPLUG-Owl": baseline_file("mPLUG-Owl"),
           "AffectGPT-e30": affectgpt_file(30)}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH: apt-get install -y chromium")


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """(folder, submission, explain file, page) of a real run and its page."""
    folder = tmp_path_factory.mktemp("analysis")
    entries = [{"name": name, "type": "cached", "path": str(path)} for name, path in MEMBERS.items()]
    config = folder / "config.yaml"
    config.write_text(OmegaConf.to_yaml(OmegaConf.create(
        {"data_root": str(DATA), "members": entries, "judge": {"type": "kofn", "k": 2}, "cache_dir": str(folder / "cache")})))
    sub, explain, page = folder / "sub.csv", folder / "sub.explain.jsonl", folder / "page.html"
    assert cli(["run", "--config", str(config), "--out", str(sub), "--explain", str(explain)]) == 0
    assert cli(["analyze", "--pred", str(sub), "--explain", str(explain), "--gold", str(GOLD), "--out", str(page),
                "--lexicon", LEXICON]) == 0
    return folder, sub, explain, page


@pytest.fixture(scope="module")
def analysis(made):
    _, sub, explain, _ = made
    return analyse(read_label_csv(GOLD), read_label_csv(sub), read_explain(explain), load_lexicon(LEXICON))


# ---- the figures ---------------------------------------------------------------------------------
def test_the_page_figures_are_the_official_metrics(made, analysis):
    _, sub, _, _ = made
    gold, pred, lexicon = read_label_csv(GOLD), read_label_csv(sub), load_lexicon(LEXICON)
    official = ew_scores(gold, pred, lexicon)
    assert analysis.n_clips == len(gold) == len(analysis.clips) == 200
    assert analysis.scores["f"] == pytest.approx(official.level(1, "f") / 100)
    assert analysis.scores["p"] == pytest.approx(official.level(1, "p") / 100)
    assert analysis.scores["m_avg"] == pytest.approx(official.m_avg)
    # Per clip: the official code on that clip alone, over the level-1 wheels that score it.
    names = level1_names(lexicon)
    for row in analysis.clips[::17]:
        alone = ew_scores({row["clip"]: gold[row["clip"]]}, {row["clip"]: pred[row["clip"]]}, lexicon).per_metric
        scored = [alone[n] for n in names if alone[n].n_clips]
        assert row["p"] == pytest.approx(sum(s.p for s in scored) / len(scored) / 100)
        assert row["r"] == pytest.approx(sum(s.r for s in scored) / len(scored) / 100)
    # On the clips that all five level-1 wheels score, EW-L1 P and R are the means of the clips' P and R.
    full = [c for c in gold if all(n.n_clips for n in (
        ew_scores({c: gold[c]}, {c: gold[c]}, lexicon).per_metric[name] for name in names))]
    assert 150 < len(full) < 200
    on_full = ew_scores({c: gold[c] for c in full}, pred, lexicon)
    rows = {row["clip"]: row for row in analysis.clips}
    assert sum(rows[c]["r"] for c in full) / len(full) == pytest.approx(on_full.level(1, "r") / 100)
    assert sum(rows[c]["p"] for c in full) / len(full) == pytest.approx(on_full.level(1, "p") / 100)


def test_member_reliability_is_each_members_own_official_score(analysis):
    gold, lexicon = read_label_csv(GOLD), load_lexicon(LEXICON)
    rows = {row["member"]: row for row in analysis.members}
    assert set(rows) == set(MEMBERS)
    for name, path in MEMBERS.items():
        own = {clip: labels for clip, labels in read_label_sets(path).items() if clip in gold}
        official = ew_scores({clip: gold[clip] for clip in own}, own, lexicon)
        assert rows[name]["answered"] == len(own) and rows[name]["failed"] == 0
        assert rows[name]["f"] == pytest.approx(official.level(1, "f") / 100)
    assert [row["f"] for row in analysis.members] == sorted((row["f"] for row in analysis.members), reverse=True)


def test_histogram_and_curves(made, analysis):
    _, sub, explain, _ = made
    gold, pred, lexicon = read_label_csv(GOLD), read_label_csv(sub), load_lexicon(LEXICON)
    histogram = analysis.histogram
    assert sum(histogram["submission"]) == sum(histogram["gold"]) == 200
    assert histogram["gold"][2] == sum(len(gold[c]) == 2 for c in gold)
    assert histogram["submission"][1] == sum(len(pred[c]) == 1 for c in gold)
    # k-of-n scores are vote counts 1..3: thresholds 1, 2, 3; at t=1 every candidate is kept.
    threshold = analysis.curves["threshold"]
    assert [point["t"] for point in threshold] == [1.0, 2.0, 3.0]
    records = read_explain(explain)
    everything = {clip: [c["word"] for c in records[clip].candidates] for clip in gold}
    assert threshold[0]["r"] == pytest.approx(ew_scores(gold, everything, lexicon).level(1, "r") / 100)
    recalls = [point["r"] for point in threshold]
    assert recalls == sorted(recalls, reverse=True)  # a higher threshold keeps less
    assert analysis.curves["top_k"][0]["k"] == 1


# ---- bad input ----------------------------------------------------------------------------------
def test_an_explain_file_of_another_run_is_refused(made, tmp_path, capsys):
    _, sub, explain, _ = made
    lines = explain.read_text().splitlines()
    gold = read_label_csv(GOLD)
    index = next(i for i, line in enumerate(lines) if json.loads(line)["clip"] in gold)
    record = json.loads(lines[index])
    record["answer"] = ["bogus"]
    other = tmp_path / "other.jsonl"
    other.write_text("\n".join([*lines[:index], json.dumps(record), *lines[index + 1:]]) + "\n")
    out = tmp_path / "page.html"
    assert cli(["analyze", "--pred", str(sub), "--explain", str(other), "--gold", str(GOLD), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"error: {other}, clip {record['clip']}: answer ['bogus'] differs from {sub}")
    assert not out.exists()


@pytest.mark.parametrize("bad, message", [
    ('{"clip": "a"', "row 2: not a JSON line"),
    ('["a"]', "row 2: not an explain record"),
    ('{"clip": "x", "answer": "happy", "members": {}, "judge": {"candidates": []}}', "row 2, clip x: \"answer\" must be a list of words"),
    ('{"clip": "x", "answer": [], "members": {}, "judge": {"candidates": [{"word": "a", "score": "high", "kept": true}]}}',
     "row 2, clip x: candidate 'a': score must be a number or null"),
])
def test_malformed_explain_lines_name_the_file_and_row(made, tmp_path, capsys, bad, message):
    _, sub, explain, _ = made
    broken = tmp_path / "broken.jsonl"
    broken.write_text(explain.read_text().splitlines()[0] + "\n" + bad + "\n")
    out = tmp_path / "page.html"
    assert cli(["analyze", "--pred", str(sub), "--explain", str(broken), "--gold", str(GOLD), "--out", str(out)]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(f"error: {broken}, {message}")
    assert not out.exists()


def test_the_page_may_not_overwrite_an_input(made, capsys):
    _, sub, explain, _ = made
    before = sub.read_bytes()
    assert cli(["analyze", "--pred", str(sub), "--explain", str(explain), "--gold", str(GOLD), "--out", str(sub)]) == 1
    assert "output path is an input of this run" in capsys.readouterr().err
    assert sub.read_bytes() == before


def test_the_page_is_self_contained(made):
    text = made[3].read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)  # nothing fetched from a network
    assert "<svg" in text and "@import" not in text
    assert text.count("<script") == 2  # the embedded data and the inline script, nothing loaded


# ---- in a real browser -----------------------------------------------------------------------------
class Visible(HTMLParser):
    """The clip table's rows as a person sees them: per row its clip and its cells' text."""

    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self.shown = ""
        self.rendered = None
        self._in_clips = self._in_body = False
        self._cell: list[str] | None = None
        self._in_shown = False
        self.tags_in_cells: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "body":
            self.rendered = attrs.get("data-rendered")
        if tag == "table":
            self._in_clips = attrs.get("id") == "clips"
        if self._in_clips and tag == "tbody":
            self._in_body = True
        if self._in_body and tag == "tr":
            self.rows.append([])
        if self._in_body and tag == "td":
            self._cell = []
        elif self._cell is not None:
            self.tags_in_cells.append(tag)
        if attrs.get("id") == "shown":
            self._in_shown = True

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None
        if tag == "tbody":
            self._in_body = False
        if tag == "table":
            self._in_clips = False
        if tag == "span":
            self._in_shown = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_shown:
            self.shown += data


def browse(page: Path, fragment: str = "", screenshot: Path | None = None) -> Visible:
    """Load the page in headless chromium, let its script run, return what it shows."""
    profile = page.parent / "chromium-profile"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               "--virtual-time-budget=5000"]
    url = page.resolve().as_uri() + fragment
    if screenshot is not None:
        subprocess.run([*command, f"--screenshot={screenshot}", "--window-size=1400,1000", url],
                       check=True, capture_output=True, timeout=120)
    done = subprocess.run([*command, "--dump-dom", url], check=True, capture_output=True, timeout=120, text=True)
    visible = Visible()
    visible.feed(done.stdout)
    return visible


@needs_chromium
def test_the_browser_shows_every_gold_clip_sorted_by_name(made, analysis):
    visible = browse(made[3])
    assert visible.rendered == "200" and visible.shown == "200 of 200 clips shown"
    assert [row[0] for row in visible.rows] == sorted(row["clip"] for row in analysis.clips)
    first = next(row for row in analysis.clips if row["clip"] == visible.rows[0][0])
    assert visible.rows[0][1:4] == [f"{v:.3f}" if v not in (0, 1) else str(int(v)) for v in (first["p"], first["r"], first["f"])]
    assert visible.rows[0][6] == ", ".join(first["gold"]) and visible.rows[0][7] == ", ".join(first["answer"])


@needs_chromium
def test_the_browser_honours_a_sort_and_a_filter_in_the_address(made, analysis):
    visible = browse(made[3], "#" + "sort=r&dir=desc&filter=" + quote("recall<0.5"))
    expected = [row for row in analysis.clips if row["r"] is not None and row["r"] < 0.5]
    assert 0 < len(expected) < 200
    assert visible.rendered == str(len(expected)) and visible.shown == f"{len(expected)} of 200 clips shown"
    by_clip = {row["clip"]: row for row in analysis.clips}
    shown_r = [by_clip[row[0]]["r"] for row in visible.rows]
    assert shown_r == sorted(shown_r, reverse=True) and all(r < 0.5 for r in shown_r)
    assert {row[0] for row in visible.rows} == {row["clip"] for row in expected}
    # Text tokens and numeric ones together: a word of the answers.
    word = expected[0]["answer"][0] if expected[0]["answer"] else expected[0]["gold"][0]
    narrowed = browse(made[3], "#filter=" + quote(f"recall<0.5 {word}"))
    assert 0 < len(narrowed.rows) <= len(expected)
    assert all(word.lower() in " ".join(row).lower() for row in narrowed.rows)


# A page beside the analysis page that clicks and types into it as a person would, then shows
# what resulted; file pages may read each other only with --allow-file-access-from-files.
DRIVER = """<!DOCTYPE html><html><body><iframe id="page" src="page.html" width="1200" height="800"></iframe>
<pre id="out">not run</pre><script>
document.getElementById("page").addEventListener("load", () => {
  const doc = document.getElementById("page").contentDocument;
  const header = [...doc.querySelectorAll("#clips th")].find(th => th.dataset.key === "r");
  header.click();  // ascending; the header row is drawn anew, so find it again to click it once more
  [...doc.querySelectorAll("#clips th")].find(th => th.dataset.key === "r").click();
  const box = doc.getElementById("filter");
  box.value = "recall<0.5";
  box.dispatchEvent(new Event("input"));
  const rows = [...doc.querySelectorAll("#clips tbody tr")].map(tr => tr.dataset.clip);
  document.getElementById("out").textContent = JSON.stringify(
    {hash: doc.defaultView.location.hash, header: doc.querySelector('#clips th[data-key="r"]').className, rows});
});
</script></body></html>"""


@needs_chromium
def test_clicking_a_header_sorts_and_typing_in_the_box_filters(made, analysis, tmp_path):
    page = tmp_path / "page.html"
    shutil.copy(made[3], page)
    (tmp_path / "driver.html").write_text(DRIVER)
    profile = tmp_path / "chromium-profile"
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", "--allow-file-access-from-files",
         "--virtual-time-budget=10000", "--dump-dom", (tmp_path / "driver.html").as_uri()],
        check=True, capture_output=True, timeout=120, text=True)
    shown = re.search(r'<pre id="out">(.*?)</pre>', done.stdout, re.S).group(1)
    result = json.loads(shown.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
    assert result["hash"] == "#sort=r&dir=desc&filter=recall%3C0.5" and result["header"] == "sorted-desc"
    by_clip = {row["clip"]: row for row in analysis.clips}
    recalls = [by_clip[clip]["r"] for clip in result["rows"]]
    assert len(recalls) == sum(row["r"] is not None and row["r"] < 0.5 for row in analysis.clips) > 0
    assert recalls == sorted(recalls, reverse=True) and max(recalls) < 0.5


@needs_chromium
def test_words_from_files_are_shown_as_text_never_as_markup(tmp_path):
    """A clip name and words holding markup reach the page as the literal text."""
    clip, word = "clip<img src=x onerror=alert(1)>", "</script><b>bold</b>&amp;"
    gold, sub = tmp_path / "gold.csv", tmp_path / "sub.csv"
    gold.write_text(f'name,openset\n{clip},"[happy, {word}]"\n', encoding="utf-8")
    sub.write_text(f'name,openset\n{clip},"[{word}]"\n', encoding="utf-8")
    record = {"clip": clip, "answer": [word], "members": {"m<i>1</i>": {"labels": [word]}, "m2": {"error": "<b>bad</b>"}},
              "clusters": {}, "judge": {"type": "x", "score_meaning": "<u>votes</u>", "candidates": [
                  {"cluster": "c", "word": word, "voters": ["m<i>1</i>"], "score": 1.0, "kept": True, "detail": {"<p>": 0.5}}],
                  "detail": {}}}
    explain = tmp_path / "explain.jsonl"
    explain.write_text(json.dumps(record) + "\n", encoding="utf-8")
    page = tmp_path / "page.html"
    assert cli(["analyze", "--pred", str(sub), "--explain", str(explain), "--gold", str(gold), "--out", str(page),
                "--lexicon", LEXICON]) == 0
    assert "<b>bold" not in page.read_text() and "<img" not in page.read_text() and "<u>votes" not in page.read_text()
    visible = browse(page)
    assert visible.rendered == "1"
    (row,) = visible.rows
    assert row[0] == clip and row[7] == word
    assert "m<i>1</i>: " + word in row[9] and "error: <b>bad</b>" in row[9]
    assert "<p> 0.500" in row[8]
    # Only the page's own markup inside cells: a bold member name per member line, spans and divs.
    assert set(visible.tags_in_cells) <= {"span", "div", "b", "i"} and visible.tags_in_cells.count("b") == 2
    assert "i" not in visible.tags_in_cells  # every member here named a label ("no label" is in italics)
