"""The one exception type that the command line turns into a single clear error line."""


class InputError(ValueError):
    """Bad user input: a missing file, a malformed row, an unknown clip.

    The message names the file (and row or clip where it applies) so that the
    command line can print it as one line and exit non-zero.
    """


def where(path, row: int | None = None, clip: str | None = None) -> str:
    """Format 'FILE[, row N][, clip C]' for error messages."""
    parts = [str(path)]
    if row is not None:
        parts.append(f"row {row}")
    if clip is not None:
        parts.append(f"clip {clip}")
    return ", ".join(parts)
