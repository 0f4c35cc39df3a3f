"""The official OV-MER emotion-wheel lexicon: word forms, synonym runs and the five wheels.

A lexicon folder holds `format.csv` (word forms -> base word), `synonym.xlsx` (eight
synonym runs per wheel word) and `wheel1.xlsx` .. `wheel5.xlsx` (three-level wheels).
`load_lexicon` reads it once into plain dictionaries; every later mapping is a lookup.
"""
from __future__ import annotations

import csv
import functools
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import InputError, where
from core.files import atomic_write_text
from core.settings import default_cache_dir

log = logging.getLogger(__name__)

N_WHEELS = 5
N_SYNONYM_RUNS = 8
LEXICON_FILES = ("format.csv", "synonym.xlsx") + tuple(f"wheel{k}.xlsx" for k in range(1, N_WHEELS + 1))


def clean(word) -> str:
    """Lower-case and strip a cell or label; None becomes ''."""
    return "" if word is None else str(word).strip().lower()


@dataclass
class Lexicon:
    """Lookup tables of one lexicon folder (all words lower-cased and stripped).

    format_mapping: surface form -> the base words of every format.csv row listing it.
    raw_mapping: word -> the wheel words it is a synonym of (a wheel word maps to itself).
    wheel_maps[(k, level)]: wheel-k word -> its level-1 or level-2 category.
    """

    path: Path
    format_mapping: dict[str, set[str]]
    raw_mapping: dict[str, set[str]]
    wheel_maps: dict[tuple[int, int], dict[str, str]]
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    # The mappings of the OV-MER emotion-wheel metric. Each returns None when the label is dropped:
    # M1 maps a form to its base word, M2 a base word to its wheel-word synonym, W<k>-L<level> a
    # wheel word to its category on wheel k.
    def map_m1(self, label: str) -> str | None:
        bases = self.format_mapping.get(label)
        return min(bases) if bases else None

    def map_m2(self, label: str) -> str | None:
        base = self.map_m1(label)
        if base is None:
            return None
        wheel_words = self.raw_mapping.get(base)
        return min(wheel_words) if wheel_words else None

    def map_wheel(self, label: str, wheel: int, level: int) -> str | None:
        key = (label, wheel, level)
        if key not in self._cache:
            self._cache[key] = self._map_wheel(label, wheel, level)
        return self._cache[key]

    def _map_wheel(self, label: str, wheel: int, level: int) -> str | None:
        bases = self.format_mapping.get(label)
        if not bases:
            return None
        candidates: set[str] = set()
        for base in bases:
            candidates |= self.raw_mapping.get(base, set())
        wheel_map = self.wheel_maps[(wheel, level)]
        for candidate in sorted(candidates):
            if candidate in wheel_map:
                return wheel_map[candidate]
        return None

    def metric_names(self) -> list[str]:
        """Names of the 12 mappings behind M-avg, in report order."""
        names = ["M1", "M2"]
        names += [f"W{k}-L{level}" for k in range(1, N_WHEELS + 1) for level in (1, 2)]
        return names

    def mapper(self, name: str):
        """The mapping function behind one metric name ('M1', 'M2', 'W3-L2', ...)."""
        if name == "M1":
            return self.map_m1
        if name == "M2":
            return self.map_m2
        wheel, level = name[1:].split("-L")
        return functools.partial(self.map_wheel, wheel=int(wheel), level=int(level))


def _read_format(path: Path) -> dict[str, set[str]]:
    mapping: dict[str, set[str]] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or [clean(h) for h in header[:2]] != ["name", "format"]:
            raise InputError(f"{path}: expected a header 'name,format', got {header!r}")
        for row_number, row in enumerate(reader, start=2):
            if len(row) < 2:
                raise InputError(f"{where(path, row_number)}: expected 2 columns, got {len(row)}")
            base = clean(row[0])
            mapping.setdefault(base, set()).add(base)
            for form in row[1].split(","):
                form = clean(form)
                if form:
                    mapping.setdefault(form, set()).add(base)
    return mapping


def _xlsx_rows(path: Path) -> list[tuple]:
    import openpyxl  # imported here: only lexicon loading needs it

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises several unrelated types for bad files
        raise InputError(f"{path}: cannot read as xlsx ({error})") from error
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    return rows


def _read_synonyms(path: Path) -> dict[str, set[str]]:
    rows = _xlsx_rows(path)
    mapping: dict[str, set[str]] = {}
    for row in rows[1:]:
        for run in range(N_SYNONYM_RUNS):
            if 2 * run + 1 >= len(row):
                break
            word = clean(row[2 * run])
            if not word:
                continue
            mapping.setdefault(word, set()).add(word)
            for synonym in str(row[2 * run + 1] or "").split(","):
                synonym = clean(synonym)
                if synonym:
                    mapping.setdefault(synonym, set()).add(word)
    return mapping


def _read_wheel(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Return (word -> level-1 category, word -> level-2 category) for one wheel."""
    rows = _xlsx_rows(path)
    filled = []
    previous = ["", "", ""]
    for row in rows[1:]:
        cells = [clean(row[i]) if i < len(row) else "" for i in range(3)]
        if not any(cells):
            continue
        # Blank cells repeat the value above.
        cells = [cell or previous[i] for i, cell in enumerate(cells)]
        filled.append(cells)
        previous = cells
    level1: dict[str, str] = {}
    level2: dict[str, str] = {}
    children: dict[str, set[str]] = {}
    for l1, l2, l3 in filled:
        for word in (l1, l2, l3):
            level1[word] = l1
        level2[l3] = l2
        level2[l2] = l2
        children.setdefault(l1, set()).add(l2)
    for l1, kids in children.items():
        level2[l1] = min(kids)
    return level1, level2


def load_lexicon(folder: str | Path) -> Lexicon:
    """Read a lexicon folder once per process (every spelling of the same folder shares one copy).

    Raises InputError naming the first missing or bad file.
    """
    return _load_lexicon(Path(folder).resolve())


# Bump when the parsed tables change shape or meaning: old cache files are then ignored.
_CACHE_VERSION = "1"


def _cache_path(folder: Path) -> Path:
    """Where the parsed tables of this lexicon's exact files are cached (keyed by their content)."""
    digest = hashlib.sha256(_CACHE_VERSION.encode())
    for name in LEXICON_FILES:
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes())
    return default_cache_dir() / "lexicon" / f"{digest.hexdigest()[:24]}.json"


def _to_json(lexicon: Lexicon) -> str:
    return json.dumps({
        "format_mapping": {form: sorted(bases) for form, bases in lexicon.format_mapping.items()},
        "raw_mapping": {word: sorted(heads) for word, heads in lexicon.raw_mapping.items()},
        "wheel_maps": [[k, level, table] for (k, level), table in lexicon.wheel_maps.items()],
    })


def _from_json(folder: Path, text: str) -> Lexicon:
    data = json.loads(text)
    return Lexicon(
        path=folder,
        format_mapping={str(form): set(map(str, bases)) for form, bases in data["format_mapping"].items()},
        raw_mapping={str(word): set(map(str, heads)) for word, heads in data["raw_mapping"].items()},
        wheel_maps={(int(k), int(level)): {str(w): str(c) for w, c in table.items()} for k, level, table in data["wheel_maps"]},
    )


@functools.lru_cache(maxsize=4)
def _load_lexicon(folder: Path) -> Lexicon:
    if not folder.is_dir():
        raise InputError(f"{folder}: lexicon folder not found")
    for name in LEXICON_FILES:
        if not (folder / name).is_file():
            raise InputError(f"{folder / name}: lexicon file missing")
    # Parsing the xlsx files (and importing openpyxl) costs about half a second per process;
    # the parsed tables are cached as JSON, keyed by the files' content. A cache file that
    # cannot be read is ignored and rewritten.
    cache = _cache_path(folder)
    if cache.is_file():
        try:
            lexicon = _from_json(folder, cache.read_text(encoding="utf-8"))
            if len(lexicon.wheel_maps) == 2 * N_WHEELS:
                return lexicon
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            log.debug("lexicon cache %s unreadable (%s): reading the lexicon files", cache, error)
    lexicon = _parse_lexicon(folder)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cache, _to_json(lexicon))
    except OSError as error:
        log.debug("lexicon cache %s not written (%s)", cache, error)
    return lexicon


def _parse_lexicon(folder: Path) -> Lexicon:
    wheel_maps = {}
    for k in range(1, N_WHEELS + 1):
        wheel_maps[(k, 1)], wheel_maps[(k, 2)] = _read_wheel(folder / f"wheel{k}.xlsx")
    lexicon = Lexicon(
        path=folder,
        format_mapping=_read_format(folder / "format.csv"),
        raw_mapping=_read_synonyms(folder / "synonym.xlsx"),
        wheel_maps=wheel_maps,
    )
    log.debug("lexicon %s: %d forms", folder, len(lexicon.format_mapping))
    return lexicon
