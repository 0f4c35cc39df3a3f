"""`run-ensemble SUBCOMMAND ...` (also `python -m ensemble`, `python run_ensemble.py`): one module
per subcommand, imported only when used.

Every subcommand accepts omegaconf `key=value` overrides after its flags. Bad input ends
with one line `error: ...` on stderr and exit status 1.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from core.errors import InputError, printable
from ensemble import __version__

# name -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "fetch-data": ("ensemble.commands.fetch_data", "download the official lexicon files and check their sha256"),
    "evaluate": ("ensemble.commands.evaluate", "score a prediction file with the MER-OV metrics"),
    "tune": ("ensemble.commands.tune", "choose judge parameters by cross-validation on gold clips"),
    "run": ("ensemble.commands.run", "write a submission (CSV, or the Codalab openset npz) from a config"),
    "analyze": ("ensemble.commands.analyze", "write an error-analysis HTML page of a submission from its explain file and a gold file"),
    "extract": ("ensemble.commands.extract", "turn member descriptions into emotion labels (name,openset CSV)"),
    "convert": ("ensemble.commands.convert", "convert pickled description npz files (or a config's) into JSONL that needs no trust"),
}


def epilog() -> str:
    """The overrides and environment variables, shown under every --help."""
    from core.progress import DEFAULT_INTERVAL
    from core.settings import DEFAULT_DATA_ROOT, default_cache_dir

    return (
        "overrides:\n"
        "  key=value ...        after the flags, set any config key (omegaconf dot-list, YAML values),\n"
        "                       e.g. judge.k=2 lexicon=/path/to/lexicon members.0.trust_pickle=true\n"
        "environment:\n"
        f"  OVMER_DATA           data root when --data-root is not given (default: {DEFAULT_DATA_ROOT},\n"
        "                       relative to the directory you run from)\n"
        "  OVMER_CACHE          cache root: embeddings, WordNet, tuning fits, answers of live members\n"
        f"                       (default now: {default_cache_dir()})\n"
        "  OVMER_PROGRESS_INTERVAL  seconds between progress lines when stderr is not a terminal\n"
        f"                       (default {DEFAULT_INTERVAL:g})"
    )


def prog_name(argv0: str | None = None) -> str:
    """What the user typed to start the command: `run-ensemble`, `python -m ensemble` or `run_ensemble.py`."""
    path = Path(argv0 if argv0 is not None else sys.argv[0])
    if path.name == "__main__.py":
        return "python -m ensemble"
    return path.name or "run-ensemble"


def add_common(parser: argparse.ArgumentParser, top: bool) -> None:
    """-v/-q on the top parser and on every subcommand's; --version on the top one."""
    if top:
        parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    loudness.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only (no progress)")


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or prog_name(), description="MER-OV ensemble: members -> synonym clusters -> co-judgment -> submission",
        epilog=epilog(), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, description=help_text)
    return parser


class EscapingFormatter(logging.Formatter):
    """Log lines with control characters escaped: a warning may quote a file's content (a clip
    name, a model's answer), which must not break the line or reach the terminal raw. The
    traceback of a logged exception keeps its lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return printable(super().formatMessage(record))


def log_level(*parsed: argparse.Namespace) -> int:
    if any(getattr(args, "verbose", False) for args in parsed):
        return logging.DEBUG
    if any(getattr(args, "quiet", False) for args in parsed):
        return logging.WARNING
    return logging.INFO


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = prog_name()
    parser = build_parser(prog)
    # Find the subcommand first, then let its module define its own flags.
    command = next((arg for arg in argv if arg in SUBCOMMANDS), None)
    if command is None:
        parser.parse_args(argv)  # prints help, the version or the usage error, and exits
        return 2
    known = parser.parse_args(argv[: argv.index(command) + 1])
    module = importlib.import_module(SUBCOMMANDS[command][0])
    sub_parser = argparse.ArgumentParser(
        prog=f"{prog} {command}", description=SUBCOMMANDS[command][1],
        epilog=epilog(), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common(sub_parser, top=False)
    module.add_arguments(sub_parser)
    sub_parser.usage = sub_parser.format_usage().removeprefix("usage: ").rstrip() + " [key=value ...]"
    args, rest = sub_parser.parse_known_args(argv[argv.index(command) + 1 :])
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EscapingFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=log_level(args, known), handlers=[handler])
    del args.verbose, args.quiet  # logging is set: the subcommand sees its own flags only
    try:
        return int(module.main(args, rest) or 0)
    except InputError as error:
        print(f"error: {printable(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
