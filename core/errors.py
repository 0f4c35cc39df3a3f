"""The one exception type that the command line turns into a single clear error line."""


class InputError(ValueError):
    """Bad user input: a missing file, a malformed row, an unknown clip.

    The message names the file (and row or clip where it applies) so that the
    command line can print it as one line and exit non-zero.
    """


class OutputError(InputError, OSError):
    """A file could not be written (a read-only or full disk, a parent that is a file): one
    error line on the command line, and still an OSError to code that can do without the file
    (a cache)."""


def where(path, row: int | None = None, clip: str | None = None) -> str:
    """Format 'FILE[, row N][, clip C]' for error messages."""
    parts = [printable(path)]
    if row is not None:
        parts.append(f"row {row}")
    if clip is not None:
        parts.append(f"clip {printable(clip)}")
    return ", ".join(parts)


def printable(text) -> str:
    """`text` with every character that is not printable (NUL, newlines, other control bytes,
    lone surrogates of undecodable bytes) shown as its escape, so content put into an error or
    a log line can neither break the line nor reach the terminal raw."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii") for c in text)


def excerpt(text, limit: int = 40) -> str:
    """A short, clearly marked excerpt of content for an error message: «text», or «text…» with
    the length when cut. Newlines and other control characters are shown escaped, so an error
    stays one line whatever the content."""
    text = str(text)
    flat = printable(text)
    if len(flat) <= limit:
        return f"«{flat}»"
    return f"«{flat[:limit]}…» ({len(text)} characters)"


def quoted(text, limit: int = 60) -> str:
    """'text' for a short one-line name, else its marked excerpt."""
    text = str(text)
    return f"'{text}'" if len(text) <= limit and text.isprintable() else excerpt(text)


def brief(error, limit: int = 160) -> str:
    """An exception's (or text's) first line, cut to `limit` characters with a mark: parser
    messages may quote the content they failed on, which an error line must not echo whole."""
    lines = str(error).strip().splitlines()
    line = printable(lines[0]) if lines else type(error).__name__
    return line if len(line) <= limit else f"{line[:limit]}… (message cut)"
