"""`run_ensemble.py extract`: turn a file of member descriptions into a `name,openset` label file.

    python run_ensemble.py extract --input DESCRIPTIONS --out LABELS.csv [--trust-pickle] [--member NAME]
        [type=rules|learned|llm] [extractor parameters as key=value, e.g. n_focus=1 state=fit.json]

Every clip of the input gets a row; a description that names no emotion gets "[]".
"""
from __future__ import annotations

import argparse
import logging

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from core.errors import InputError, brief, quoted
from core.factory import build
from core.files import check_output_path
from core.labels import write_label_csv
from core.settings import default_cache_dir, default_lexicon
from core.uses import PathUse, labelled
from members.readers import read_outputs

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, help="descriptions: npz (name2reason), JSONL or CSV")
    parser.add_argument("--out", required=True, help="label CSV to write (name,openset)")
    parser.add_argument("--trust-pickle", action="store_true", help="allow loading pickled description npz files")
    parser.add_argument("--member", default=None, help="member name (a feature of the learned extractor)")
    parser.add_argument("--data-root", help="data folder whose lexicon extractors read (default: $OVMER_DATA or ../shared/data)")


def extractor_config(overrides: list[str]) -> dict:
    """key=value overrides (omegaconf dotlist; an 'extractor.' prefix is allowed) -> extractor config."""
    for item in overrides:
        if "=" not in item:
            raise InputError(f"override {quoted(item)}: expected key=value")
    try:
        config = OmegaConf.to_container(OmegaConf.from_dotlist(list(overrides)), resolve=True)
    except (OmegaConfBaseException, ValueError) as error:
        raise InputError(f"overrides: {brief(error)}") from None
    return dict(config.pop("extractor", {}) or {}, **config)


def main(args: argparse.Namespace, overrides: list[str]) -> int:
    shared = {"lexicon": default_lexicon(args.data_root), "cache_dir": str(default_cache_dir())}
    extractor = build("extractor", extractor_config(overrides), shared)
    check_output_path(args.out, [PathUse(args.input, "--input"), *labelled("extractor", extractor.paths())])
    outputs = read_outputs(args.input, args.trust_pickle)
    if all(out.description is None for out in outputs.values()):
        raise InputError(f"{args.input}: holds labels, not descriptions; nothing to extract")
    descriptions = {name: out.description for name, out in outputs.items()}
    labels = extractor.extract_many(descriptions, args.member)
    empty = sum(1 for words in labels.values() if not words)
    write_label_csv(args.out, labels)
    log.info("extract: %d clips -> %s (%d with no emotion word)", len(labels), args.out, empty)
    return 0
