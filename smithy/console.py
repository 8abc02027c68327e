"""Messages for people, on stderr; silenced by ``--quiet`` (warnings and errors still show)."""

from __future__ import annotations

import os
import sys

_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet  # noqa: PLW0603 - one process-wide switch set once by the CLI
    _quiet = quiet


def is_quiet() -> bool:
    return _quiet


def info(message: str) -> None:
    if not _quiet:
        print(message, file=sys.stderr)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        print(f"::warning::{_escape(message)}", file=sys.stderr)


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 file``, ``2 files``: a number with its noun in the right number."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def _escape(text: str) -> str:
    """Escape a GitHub Actions workflow-command value."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_error(message: str, file: str | None) -> str:
    """The ``::error`` workflow command GitHub Actions turns into an annotation."""
    props = f" file={_escape(file).replace(',', '%2C').replace(':', '%3A')}" if file else ""
    return f"::error{props}::{_escape(message)}"
