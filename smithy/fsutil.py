"""File-system helpers: atomic writes, so a kill mid-way never leaves half a file."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from smithy.errors import FeedstockError, SmithyError


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


def is_clean_relative(path: str) -> bool:
    """A path a feedstock may name for itself: relative, ``/``-separated and normalised (no
    empty, ``.`` or ``..`` part, no backslash or NUL), and not inside ``.git/``."""
    if not path or path.startswith("/") or "\\" in path or "\0" in path:
        return False
    parts = path.split("/")
    return all(p not in ("", ".", "..") for p in parts) and parts[0] != ".git"


def inside(root: Path, relative: str) -> Path:
    """``root / relative`` for a path the feedstock named, refusing one that is not clean or
    that passes through a symlink (a folder of the feedstock linked elsewhere would take a
    write or a delete outside it). The last part may be a symlink: replacing or unlinking it
    touches only the link."""
    if not is_clean_relative(relative):
        raise FeedstockError(f"{relative!r} is not a path inside the feedstock", file=root)
    current = root
    for part in relative.split("/")[:-1]:
        current = current / part
        if current.is_symlink():
            raise FeedstockError(
                "a folder of the feedstock is a symlink: refusing to write through it",
                file=current,
            )
    return root / relative


def read_regular(path: Path, *, limit: int, error: type[SmithyError]) -> bytes:
    """The bytes of ``path`` if it is a regular file (not a symlink, FIFO or device) of at most
    ``limit`` bytes; else ``error`` saying why. Missing files raise FileNotFoundError."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if path.is_symlink():
            raise error(
                f"{path.name} is a symlink: it must be a file of its own", file=path
            ) from None
        raise error(f"cannot read {path.name}: {exc.strerror}", file=path) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{path.name} is not a regular file", file=path)
        if info.st_size > limit:
            raise error(
                f"{path.name} is too large ({info.st_size} bytes; at most {limit})", file=path
            )
        return handle.read(limit + 1)[:limit]


def is_write_leftover(name: str) -> bool:
    """A temporary file ``write_atomic`` leaves in a folder when it is killed before its rename
    (``.NAME.XXXXXXXX.tmp``): whoever holds the folder's lock may remove it."""
    return name.startswith(".") and name.endswith(".tmp")


@contextmanager
def exclusive(lock: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``lock`` (created if missing): one process at a time sets
    something up in a shared folder; the others wait, then find it done."""
    import fcntl

    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
