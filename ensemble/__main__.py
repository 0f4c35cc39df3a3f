"""`python -m ensemble SUBCOMMAND ...`: the same command line as `run-ensemble` (ensemble/cli.py)."""
import sys

from ensemble.cli import main

if __name__ == "__main__":
    sys.exit(main())
