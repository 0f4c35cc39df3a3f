"""The command line and the pipeline that runs members, the vocabulary and the judge on clips."""

__version__ = "0.1.0"
