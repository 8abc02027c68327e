"""One exception hierarchy; each class carries the exit code the CLI returns for it.

Exit codes: 0 success, 1 "something to do" (e.g. ``rerender --check``), 2 command-line usage
(typer's own), and one code per class below from 3 upwards.
"""

from __future__ import annotations

from pathlib import Path


class SmithyError(Exception):
    """Base of every error meant for people: a one-line message, a file and a key at fault."""

    exit_code = 10

    def __init__(self, message: str, *, file: str | Path | None = None, key: str | None = None):
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.key = key

    def where(self) -> str:
        """``file:key``, ``file`` or ``key``; empty when neither is known."""
        return ":".join(part for part in (self.file, self.key) if part)

    def __str__(self) -> str:
        where = self.where()
        return f"{self.message} ({where})" if where else self.message


class UsageError(SmithyError):
    """Options that contradict each other or a value the command cannot take."""

    exit_code = 2


class RecipeNotFoundError(SmithyError):
    """No recipe of that name in the chosen source."""

    exit_code = 3


class RecipeError(SmithyError):
    """A recipe that is invalid YAML, fails pyodide-build's schema or lacks a file it names."""

    exit_code = 4


class ConfigError(SmithyError):
    """An invalid ``pyodide-smithy.yml``."""

    exit_code = 5


class XBuildEnvError(SmithyError):
    """Unknown xbuildenv version or unreadable xbuildenv metadata."""

    exit_code = 6


class FeedstockError(SmithyError):
    """The feedstock directory is in a state the command refuses to touch."""

    exit_code = 7


class NetworkError(SmithyError):
    """A remote service could not be reached or answered with an error."""

    exit_code = 8


class GitError(SmithyError):
    """A git operation failed."""

    exit_code = 9


class TemplateError(SmithyError):
    """A template (shipped or overridden by the feedstock) failed to render."""

    exit_code = 11


class WheelError(SmithyError):
    """A wheel refused before upload: bad name, metadata that disagrees, wrong platform."""

    exit_code = 12


class ChannelError(SmithyError):
    """A channel refused an operation, or some files of a batch failed."""

    exit_code = 13


class LintError(SmithyError):
    """The recipe or feedstock has lint errors (``lint``), or an error-level finding stops
    ``init`` or ``rerender`` (the first one, by its id)."""

    exit_code = 19
