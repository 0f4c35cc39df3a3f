"""The error-analysis page: one self-contained HTML file (inline CSS, JS and SVG; no network).

The clip table is drawn in the browser from the analysis embedded as JSON (so it sorts and
filters); the members table is written here; the plots are matplotlib SVG. Every text that
comes from a file (clip names, words, member names, errors) is escaped: `html.escape` for what
is written here, JSON with `<`, `>` and `&` escaped for the embedded data, and the script puts
text into the page only through `textContent`.

The page honours a URL fragment, `#sort=KEY&dir=asc|desc&filter=TEXT` (KEY: clip, p, r, f,
n_pred, n_gold), and keeps it up to date as the reader sorts and filters, so a view can be shared.
"""
from __future__ import annotations

import html
import io
import json

from ensemble.analysis import Analysis

# More rows than this are not drawn at once (the filter narrows them): a browser slows down
# with many thousand rows of 30 members each.
MAX_ROWS = 2000


def _embedded_json(data) -> str:
    """JSON that cannot end the <script> element holding it nor open markup."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _number(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _svg(figure) -> str:
    """A matplotlib figure as an inline <svg> element (text kept as text; the same bytes every run)."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "ovmer-analysis", "font.size": 10})
    return plt


def histogram_svg(histogram: dict) -> str:
    """Clips per label count, the submission's bars beside gold's."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6.4, 3.2))
    counts = histogram["counts"]
    width = 0.4
    axes.bar([c - width / 2 for c in counts], histogram["submission"], width, label="submission", color="#3b6fb6")
    axes.bar([c + width / 2 for c in counts], histogram["gold"], width, label="gold", color="#e0a030")
    axes.set_xlabel("labels per clip")
    axes.set_ylabel("clips")
    axes.set_xticks(counts if len(counts) <= 16 else counts[::2])
    axes.legend(frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


def pr_svg(curves: dict, chosen: dict) -> str:
    """The threshold and top-k precision-recall curves, and the submission's own point."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6.4, 4.4))
    for f in (0.5, 0.6, 0.7, 0.8):  # iso-F lines: where precision and recall give the same F
        r = [x / 200 for x in range(1, 201) if x / 200 > f / 2]
        p = [f * x / (2 * x - f) for x in r]
        keep = [(x, y) for x, y in zip(r, p) if y <= 1]
        axes.plot([x for x, _ in keep], [y for _, y in keep], color="#dddddd", linewidth=0.8, zorder=0)
        axes.annotate(f"F={f}", keep[-1], color="#aaaaaa", fontsize=8)
    if curves["threshold"]:
        axes.plot([pt["r"] for pt in curves["threshold"]], [pt["p"] for pt in curves["threshold"]], "o-",
                  markersize=3, color="#3b6fb6", label="score ≥ t, one point per threshold t")
    if curves["top_k"]:
        axes.plot([pt["r"] for pt in curves["top_k"]], [pt["p"] for pt in curves["top_k"]], "s--",
                  markersize=3, color="#7a9a3a", label="each clip's k best-scored candidates")
    axes.plot([chosen["r"]], [chosen["p"]], "*", markersize=16, color="#c0392b",
              label=f"submission (P {chosen['p']:.3f}, R {chosen['r']:.3f})")
    axes.set_xlabel("EW-L1 recall")
    axes.set_ylabel("EW-L1 precision")
    axes.set_xlim(0, 1.02)
    axes.set_ylim(0, 1.02)
    axes.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=1)
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


def members_table(analysis: Analysis) -> str:
    e = html.escape
    rows = [f"<tr class='ours'><td>the submission</td><td>{analysis.n_clips}</td><td>0</td>"
            f"<td>{_number(analysis.scores['p'])}</td><td>{_number(analysis.scores['r'])}</td>"
            f"<td>{_number(analysis.scores['f'])}</td></tr>"]
    for m in analysis.members:
        rows.append(f"<tr><td>{e(m['member'])}</td><td>{m['answered']}</td><td>{m['failed']}</td>"
                    f"<td>{_number(m['p'])}</td><td>{_number(m['r'])}</td><td>{_number(m['f'])}</td></tr>")
    return ("<table id='members'><thead><tr><th>member</th><th>clips answered</th><th>failed</th>"
            "<th>P</th><th>R</th><th>F</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; margin: 0 0 .3em; } h2 { font-size: 1.15em; margin: 1.6em 0 .4em; }
.summary { color: #444; } .note { color: #666; font-size: 12px; max-width: 70em; }
table { border-collapse: collapse; } th, td { border: 1px solid #ddd; padding: 3px 6px; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
#clips th { cursor: pointer; user-select: none; position: sticky; top: 0; }
#clips th.sorted-asc::after { content: " ▲"; } #clips th.sorted-desc::after { content: " ▼"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.low { background: #fbe3e0; } td.high { background: #e3f4e1; }
.kept { font-weight: 600; color: #1d6a2b; } .dropped { color: #888; text-decoration: line-through; }
.hit { background: #e3f4e1; } .miss { background: #fbe3e0; } .in-gold { border-bottom: 2px solid #e0a030; }
.members { max-height: 9em; overflow: auto; font-size: 12px; min-width: 18em; }
.error { color: #b02a1a; } .detail { font-size: 11px; color: #666; }
#filter { width: 32em; padding: 4px; } #shown { margin-left: 1em; color: #444; }
tr.ours td { font-weight: 600; background: #eef3fb; }
.plots { display: flex; flex-wrap: wrap; gap: 2em; } .plots figure { margin: 0; } figcaption { max-width: 38em; }
"""

SCRIPT = r"""
"use strict";
const DATA = JSON.parse(document.getElementById("analysis-data").textContent);
const MAX_ROWS = Number(document.getElementById("analysis-data").dataset.maxRows);
const COLUMNS = [
  {key: "clip", label: "clip", kind: "text"},
  {key: "p", label: "P", kind: "num"},
  {key: "r", label: "R", kind: "num"},
  {key: "f", label: "F", kind: "num"},
  {key: "n_pred", label: "# ours", kind: "num"},
  {key: "n_gold", label: "# gold", kind: "num"},
  {key: "gold", label: "gold", kind: "words"},
  {key: "answer", label: "judge's answer", kind: "words"},
  {key: "candidates", label: "candidates: score (✓ kept, struck: dropped)", kind: "candidates"},
  {key: "members", label: "members' words", kind: "members"},
];
const FIELDS = {p: "p", precision: "p", r: "r", recall: "r", f: "f", n: "n_pred", labels: "n_pred", ours: "n_pred", gold: "n_gold"};
const state = {sort: "clip", dir: "asc", filter: ""};

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (COLUMNS.some(c => c.key === params.get("sort") && c.kind !== "candidates" && c.kind !== "members")) state.sort = params.get("sort");
  if (params.get("dir") === "desc" || params.get("dir") === "asc") state.dir = params.get("dir");
  if (params.has("filter")) state.filter = params.get("filter");
}

function writeHash() {
  const params = new URLSearchParams({sort: state.sort, dir: state.dir, filter: state.filter});
  history.replaceState(null, "", "#" + params.toString());
}

function sortValue(row, key) {
  const value = row[key];
  if (Array.isArray(value)) return value.join(", ").toLowerCase();
  if (typeof value === "string") return value.toLowerCase();
  return value;
}

function compareRows(a, b) {
  const x = sortValue(a, state.sort), y = sortValue(b, state.sort);
  if (x === null && y === null) return a.clip < b.clip ? -1 : 1;
  if (x === null) return 1;   // clips without a score last, whatever the direction
  if (y === null) return -1;
  const order = x < y ? -1 : x > y ? 1 : (a.clip < b.clip ? -1 : a.clip > b.clip ? 1 : 0);
  return state.dir === "asc" ? order : -order;
}

function searchText(row) {
  if (row._text === undefined) {
    const parts = [row.clip, ...row.gold, ...row.answer, ...row.candidates.map(c => c.word)];
    for (const [member, said] of Object.entries(row.members)) {
      parts.push(member);
      if (Array.isArray(said)) parts.push(...said); else parts.push(said.error);
    }
    row._text = parts.join(" ").toLowerCase();
  }
  return row._text;
}

// "recall<0.5 happy": every token must hold; FIELD OP NUMBER compares, other tokens are searched for.
function makeFilter(text) {
  const tests = [];
  for (const token of text.trim().toLowerCase().split(/\s+/).filter(Boolean)) {
    const m = token.match(/^([a-z_]+)(<=|>=|<|>|=)(-?[0-9]*\.?[0-9]+)$/);
    if (m && FIELDS[m[1]]) {
      const key = FIELDS[m[1]], op = m[2], bound = Number(m[3]);
      tests.push(row => {
        const v = row[key];
        if (v === null) return false;
        return op === "<" ? v < bound : op === ">" ? v > bound : op === "<=" ? v <= bound : op === ">=" ? v >= bound : Math.abs(v - bound) < 1e-9;
      });
    } else {
      tests.push(row => searchText(row).includes(token));
    }
  }
  return row => tests.every(test => test(row));
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function fmt(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(3);
  if (Array.isArray(value)) return "[" + value.map(fmt).join(", ") + "]";
  if (typeof value === "object") return "{" + Object.entries(value).map(([k, v]) => k + ": " + fmt(v)).join(", ") + "}";
  return String(value);
}

function detailText(detail) {
  const entries = Object.entries(detail || {});
  return entries.length ? entries.map(([k, v]) => k + " " + fmt(v)).join("; ") : "";
}

function wordsCell(words, hits) {
  const td = el("td");
  words.forEach((word, i) => {
    if (i) td.appendChild(document.createTextNode(", "));
    const span = el("span", word);
    if (hits) span.className = hits[i] ? "hit" : "miss";
    td.appendChild(span);
  });
  return td;
}

function candidatesCell(row) {
  const td = el("td");
  const clipDetail = detailText(row.detail);
  if (clipDetail) td.appendChild(el("div", clipDetail, "detail"));
  // Kept first, then by score: the decision, then what came closest to it.
  const ordered = row.candidates.slice().sort((a, b) => (b.kept - a.kept) || ((b.score ?? -Infinity) - (a.score ?? -Infinity)));
  ordered.forEach((c, i) => {
    if (i) td.appendChild(document.createTextNode(", "));
    const span = el("span", c.word + " " + fmt(c.score) + (c.kept ? " ✓" : ""), c.kept ? "kept" : "dropped");
    if (c.in_gold) span.classList.add("in-gold");
    span.title = c.voters + " voters" + (detailText(c.detail) ? "; " + detailText(c.detail) : "");
    td.appendChild(span);
    const extra = detailText(c.detail);
    if (extra) td.appendChild(el("span", " (" + extra + ")", "detail"));
  });
  return td;
}

function membersCell(row) {
  const td = el("td");
  const box = el("div", null, "members");
  for (const [member, said] of Object.entries(row.members)) {
    const line = el("div");
    line.appendChild(el("b", member + ": "));
    if (Array.isArray(said)) line.appendChild(said.length ? document.createTextNode(said.join(", ")) : el("i", "no label"));
    else line.appendChild(el("span", "error: " + said.error, "error"));
    box.appendChild(line);
  }
  td.appendChild(box);
  return td;
}

function numberCell(value, isScore) {
  const td = el("td", isScore ? fmt(value) : String(value), "num");
  if (isScore && value !== null) td.classList.add(value < 0.5 ? "low" : value >= 0.8 ? "high" : "mid");
  return td;
}

function renderHead() {
  const tr = document.querySelector("#clips thead tr");
  tr.textContent = "";
  for (const column of COLUMNS) {
    const th = el("th", column.label);
    th.dataset.key = column.key;
    if (column.kind !== "candidates" && column.kind !== "members") {
      th.title = "sort by " + column.label;
      th.addEventListener("click", () => {
        state.dir = state.sort === column.key && state.dir === "asc" ? "desc" : "asc";
        state.sort = column.key;
        writeHash();
        render();
      });
      if (state.sort === column.key) th.className = "sorted-" + state.dir;
    }
    tr.appendChild(th);
  }
}

function render() {
  renderHead();
  const keep = makeFilter(state.filter);
  const rows = DATA.clips.filter(keep).sort(compareRows);
  const body = document.querySelector("#clips tbody");
  body.textContent = "";
  for (const row of rows.slice(0, MAX_ROWS)) {
    const tr = el("tr");
    tr.dataset.clip = row.clip;
    tr.appendChild(el("td", row.clip));
    tr.appendChild(numberCell(row.p, true));
    tr.appendChild(numberCell(row.r, true));
    tr.appendChild(numberCell(row.f, true));
    tr.appendChild(numberCell(row.n_pred, false));
    tr.appendChild(numberCell(row.n_gold, false));
    tr.appendChild(wordsCell(row.gold, null));
    tr.appendChild(wordsCell(row.answer, row.hits));
    tr.appendChild(candidatesCell(row));
    tr.appendChild(membersCell(row));
    body.appendChild(tr);
  }
  const shown = Math.min(rows.length, MAX_ROWS);
  document.getElementById("shown").textContent = shown + " of " + DATA.clips.length + " clips shown" +
    (rows.length > MAX_ROWS ? " (" + rows.length + " match; narrow the filter)" : "");
  document.body.dataset.rendered = String(shown);
}

readHash();
const box = document.getElementById("filter");
box.value = state.filter;
box.addEventListener("input", () => { state.filter = box.value; writeHash(); render(); });
render();
"""


def render_page(analysis: Analysis, title: str = "") -> str:
    """The whole page as one HTML text."""
    e = html.escape
    s = analysis.scores
    title = title or f"Error analysis: {analysis.submission}"
    curves_note = (
        "Each blue point keeps, on every clip, the candidates whose judge score is at least t (no floor, no cap); "
        "each green point keeps each clip's k best-scored candidates. The score is the judge's, from the explain file: "
        f"{e(analysis.score_meaning) or 'not described'}. The red star is the submission itself: the judge's own "
        "decisions (floors, caps, a chosen prefix) need not lie on either curve."
        if analysis.curves.get("threshold") else "The explain file holds no candidate scores: no curve can be drawn.")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{e(title)}</title>
<style>{STYLE}</style></head>
<body>
<h1>{e(title)}</h1>
<p class="summary">{analysis.n_clips} gold clips. EW-L1 <b>F {_number(s['f'])}</b> (P {_number(s['p'])}, R {_number(s['r'])}),
M-avg {s['m_avg']:.2f}. Judge: <code>{e(analysis.judge_type)}</code>; candidate score: {e(analysis.score_meaning) or 'not described'}.</p>
<p class="note">Precision (P) and recall (R) are the official emotion-wheel (EW) metric at level 1, in fractions:
a clip's P and R are the official code run on that clip alone, averaged over the five level-1 wheels that score it
(– when its gold maps onto none); the figures above are over all clips, as <code>evaluate</code> prints them.</p>

<h2>Clips</h2>
<p><input id="filter" type="search" placeholder="filter: words or clip names, and p&lt;0.5 recall&lt;0.5 f&gt;=0.8 labels&gt;3 gold=2"
 aria-label="filter clips"><span id="shown"></span></p>
<p class="note">Click a header to sort (again to reverse). Filter tokens must all hold: <code>recall&lt;0.5</code>,
<code>p&gt;=0.8</code>, <code>f&lt;0.3</code>, <code>labels&gt;3</code> (labels in the answer), <code>gold=2</code>
(gold labels), or any text (clip, word, member). In the answer, green words match gold and red ones do not (a word matches when, on some level-1 wheel,
it maps onto a category that the clip's gold maps onto); among the candidates, words that match gold are underlined
in orange, so a struck, underlined word is a gold emotion the judge dropped.
The view is kept in the address (<code>#sort=r&amp;dir=asc&amp;filter=recall%3C0.5</code>), so it can be shared.</p>
<table id="clips"><thead><tr></tr></thead><tbody></tbody></table>

<h2>Members</h2>
<p class="note">Each member's own EW-L1 precision and recall against gold, over the gold clips it answered.</p>
{members_table(analysis)}

<h2>Plots</h2>
<div class="plots">
<figure id="histogram">{histogram_svg(analysis.histogram)}
<figcaption>Labels per clip: how many clips have each number of labels in the submission and in gold.</figcaption></figure>
<figure id="pr-curve">{pr_svg(analysis.curves, s)}
<figcaption>Precision–recall on the gold clips. {curves_note}</figcaption></figure>
</div>
<script id="analysis-data" type="application/json" data-max-rows="{MAX_ROWS}">{_embedded_json(analysis.as_dict())}</script>
<script>{SCRIPT}</script>
</body></html>
"""
