"""WordNet 3.0 for nltk, built from Debian's files with no `nltk.download`.

Debian's `wordnet-base` and `wordnet-sense-index` put WordNet 3.0 in /usr/share/wordnet.
nltk's reader needs two things Debian lacks: a `lexnames` file (the 45 lexicographer file
names of WordNet 3.0, numbered 0..44 as in the lexnames(5) man page) and the files copied
into an `nltk_data/corpora/wordnet/` folder. `prepare_wordnet` makes that folder once;
`load_wordnet` returns a ready `WordNetCorpusReader`.

    python -m vocab.wordnet --prepare [--cache-dir DIR]
"""
from __future__ import annotations

import argparse
import functools
import logging
import shutil
import sys
import warnings
from pathlib import Path

from core.errors import InputError
from core.settings import cache_dir_or_default

log = logging.getLogger(__name__)

DEBIAN_WORDNET = Path("/usr/share/wordnet")
INSTALL_HINT = "apt-get install wordnet-base wordnet-sense-index"
# Senses looked at per word and part of speech: later senses are rarely the emotional one.
N_SENSES = 2

# The lexicographer files of WordNet 3.0, in file-number order, with their syntactic category
# (1 noun, 2 verb, 3 adjective, 4 adverb), as documented in lexnames(5).
LEXNAMES = (
    ("adj.all", 3), ("adj.pert", 3), ("adv.all", 4),
    ("noun.Tops", 1), ("noun.act", 1), ("noun.animal", 1), ("noun.artifact", 1),
    ("noun.attribute", 1), ("noun.body", 1), ("noun.cognition", 1), ("noun.communication", 1),
    ("noun.event", 1), ("noun.feeling", 1), ("noun.food", 1), ("noun.group", 1),
    ("noun.location", 1), ("noun.motive", 1), ("noun.object", 1), ("noun.person", 1),
    ("noun.phenomenon", 1), ("noun.plant", 1), ("noun.possession", 1), ("noun.process", 1),
    ("noun.quantity", 1), ("noun.relation", 1), ("noun.shape", 1), ("noun.state", 1),
    ("noun.substance", 1), ("noun.time", 1),
    ("verb.body", 2), ("verb.change", 2), ("verb.cognition", 2), ("verb.communication", 2),
    ("verb.competition", 2), ("verb.consumption", 2), ("verb.contact", 2), ("verb.creation", 2),
    ("verb.emotion", 2), ("verb.motion", 2), ("verb.perception", 2), ("verb.possession", 2),
    ("verb.social", 2), ("verb.stative", 2), ("verb.weather", 2),
    ("adj.ppl", 3),
)

# Files nltk's WordNetCorpusReader opens (lexnames is written here, not copied).
WORDNET_FILES = (
    "cntlist.rev", "index.sense",
    "index.adj", "index.adv", "index.noun", "index.verb",
    "data.adj", "data.adv", "data.noun", "data.verb",
    "adj.exc", "adv.exc", "noun.exc", "verb.exc",
)


def lexnames_text() -> str:
    return "".join(f"{index:02d}\t{name}\t{category}\n" for index, (name, category) in enumerate(LEXNAMES))


def wordnet_dir(cache_dir: str | Path | None = None) -> Path:
    """Where the prepared folder lives: <cache>/nltk_data/corpora/wordnet."""
    return cache_dir_or_default(cache_dir) / "nltk_data" / "corpora" / "wordnet"


def prepare_wordnet(cache_dir: str | Path | None = None, source: str | Path = DEBIAN_WORDNET) -> Path:
    """Copy Debian's WordNet into an nltk folder and write `lexnames`; idempotent.

    Raises InputError when Debian's WordNet is not installed.
    """
    source = Path(source)
    missing = [name for name in WORDNET_FILES if not (source / name).is_file()]
    if missing:
        raise InputError(
            f"{source}: WordNet 3.0 files missing ({', '.join(missing[:3])}"
            f"{', ...' if len(missing) > 3 else ''}); install them with: {INSTALL_HINT}"
        )
    target = wordnet_dir(cache_dir)
    target.mkdir(parents=True, exist_ok=True)
    for name in WORDNET_FILES:
        destination = target / name
        # Copies, not symlinks: nltk's path pointers do not follow links reliably.
        if not destination.is_file() or destination.stat().st_size != (source / name).stat().st_size:
            shutil.copyfile(source / name, destination)
    lexnames = target / "lexnames"
    if not lexnames.is_file() or lexnames.read_text() != lexnames_text():
        lexnames.write_text(lexnames_text())
    log.debug("WordNet prepared in %s", target)
    return target


@functools.lru_cache(maxsize=2)
def load_wordnet(cache_dir: str | None = None, source: str = str(DEBIAN_WORDNET)):
    """A WordNetCorpusReader over the prepared folder (prepared first if needed)."""
    root = prepare_wordnet(cache_dir, source)
    import nltk.data  # nltk loads lazily
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    # nltk only reads corpora under its data path (what NLTK_DATA would name).
    data_root = str(root.parent.parent)
    if data_root not in nltk.data.path:
        nltk.data.path.append(data_root)

    with warnings.catch_warnings():
        # No Open Multilingual WordNet here; only English lemmas are used.
        warnings.simplefilter("ignore", UserWarning)
        return WordNetCorpusReader(str(root), None)


def first_senses(wordnet, key: str) -> list:
    """The first N_SENSES synsets of each part of speech of a word or phrase, in WordNet order."""
    kept, by_pos = [], {}
    for synset in wordnet.synsets(key.replace(" ", "_")):
        by_pos[synset.pos()] = by_pos.get(synset.pos(), 0) + 1
        if by_pos[synset.pos()] <= N_SENSES:
            kept.append(synset)
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vocab.wordnet", description=__doc__.split("\n")[0])
    parser.add_argument("--prepare", action="store_true", help="build the nltk WordNet folder")
    parser.add_argument("--cache-dir", default=None, help="cache root (default: $OVMER_CACHE, else the user cache folder)")
    parser.add_argument("--source", default=str(DEBIAN_WORDNET), help="Debian WordNet folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        target = prepare_wordnet(args.cache_dir, args.source)
        reader = load_wordnet(str(args.cache_dir) if args.cache_dir else None, args.source)
        log.info("WordNet ready in %s (check: 'happiness' -> %s)", target, reader.synsets("happiness")[0].name())
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
