"""`run_ensemble.py SUBCOMMAND ...`: one module per subcommand, imported only when used.

Every subcommand accepts omegaconf `key=value` overrides after its flags. Bad input ends
with one line `error: ...` on stderr and exit status 1.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from core.errors import InputError

# name -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "fetch-data": ("ensemble.commands.fetch_data", "download the official lexicon files and check their sha256"),
    "evaluate": ("ensemble.commands.evaluate", "score a prediction file with the MER-OV metrics"),
    "tune": ("ensemble.commands.tune", "choose judge parameters by cross-validation on gold clips"),
    "run": ("ensemble.commands.run", "write a submission CSV from a config"),
    "analyze": ("ensemble.commands.analyze", "write an error-analysis HTML page of a submission from its explain file and a gold file"),
    "extract": ("ensemble.commands.extract", "turn member descriptions into emotion labels (name,openset CSV)"),
    "convert": ("ensemble.commands.convert", "convert pickled description npz files (or a config's) into JSONL that needs no trust"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run_ensemble.py", description="MER-OV ensemble: members -> synonym clusters -> co-judgment -> submission")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, description=help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # Find the subcommand first, then let its module define its own flags.
    command = next((arg for arg in argv if arg in SUBCOMMANDS), None)
    if command is None:
        parser.parse_args(argv)  # prints help or the usage error, and exits
        return 2
    known = parser.parse_args(argv[: argv.index(command) + 1])
    module = importlib.import_module(SUBCOMMANDS[command][0])
    sub_parser = argparse.ArgumentParser(prog=f"run_ensemble.py {command}", description=SUBCOMMANDS[command][1])
    sub_parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    module.add_arguments(sub_parser)
    args, rest = sub_parser.parse_known_args(argv[argv.index(command) + 1 :])
    logging.basicConfig(
        level=logging.DEBUG if args.verbose or known.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(module.main(args, rest) or 0)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
