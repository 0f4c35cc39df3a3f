#!/usr/bin/env python
"""Command line of the MER-OV ensemble: fetch-data, evaluate, tune, run (see README)."""
import sys

from ensemble.cli import main

if __name__ == "__main__":
    sys.exit(main())
