"""File-system helpers: atomic writes, so a kill mid-way never leaves half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


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
