"""File-system helpers: atomic writes, so a kill mid-way never leaves half a file."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from smithy.errors import FeedstockError


def write_atomic(path: Path, content: bytes, *, mode: int | None = None) -> None:
    """Write ``content`` to ``path`` through a temporary file in the same folder and a rename.

    A killed process leaves the old file or the new one, never half of one (no fsync: the
    guarantee is against kills, not power loss, and 300 feedstocks must stay fast).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        Path(tmp).chmod(mode if mode is not None else 0o666 & ~umask())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def umask() -> int:
    """The process umask (read by setting it, so set it straight back)."""
    current = os.umask(0o022)
    os.umask(current)
    return current


def refuse_non_empty(target: Path) -> None:
    """Commands that create a repository write only into a new or empty directory."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FeedstockError("refusing to write into a non-empty directory", file=target)


@contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """A hidden sibling of ``target`` to build in, renamed into place when the block succeeds
    and removed when it fails: a new directory appears whole or not at all."""
    refuse_non_empty(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    )
    try:
        staging.chmod(0o777 & ~umask())
        yield staging
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
