"""Messages for people, on stderr; silenced by ``--quiet`` (warnings and errors still show)."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

_quiet = False
MB = 1_000_000


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


def showing_progress() -> bool:
    """Progress bars only for a person at a terminal: not in CI logs, not under ``--quiet``."""
    return sys.stderr.isatty() and not _quiet


@contextmanager
def filling(folder: Path, *, expected: int, what: str, label: str) -> Iterator[None]:
    """Say ``what`` is being set up and its size; while the block runs (a download, an install
    into ``folder``), a bar named ``label`` of how much of the ``expected`` bytes it holds."""
    info(f"{what} (about {expected // MB} MB on disk, once)")
    if not showing_progress():
        yield
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeElapsedColumn

    columns = ("{task.description}", BarColumn(), DownloadColumn(), TimeElapsedColumn())
    done = threading.Event()
    with Progress(*columns, transient=True, console=_rich_console()) as bar:
        task = bar.add_task(label, total=expected)

        def watch() -> None:
            while not done.wait(0.5):
                bar.update(task, completed=min(_size(folder), expected))

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join()


@contextmanager
def counting(total: int, what: str) -> Iterator[Callable[[], None]]:
    """A bar of ``total`` steps on a terminal; yields the function that advances it."""
    if total <= 1 or not showing_progress():
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(transient=True, console=_rich_console()) as bar:
        task = bar.add_task(what, total=total)
        yield lambda: bar.advance(task)


def _rich_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def _size(folder: Path) -> int:
    total = 0
    for base, _, files in os.walk(folder):
        for name in files:
            try:
                total += (Path(base) / name).lstat().st_size
            except OSError:
                continue
    return total


@contextmanager
def hushed() -> Iterator[None]:
    """Information off for the block, warnings still on: for a command that runs another's
    chatty steps many times over (``bot import`` runs ``init`` once per recipe)."""
    before = _quiet
    set_quiet(True)
    try:
        yield
    finally:
        set_quiet(before)


@contextmanager
def stepping(total: int, what: str, *, enabled: bool = True) -> Iterator[Callable[[str], None]]:
    """Progress through ``total`` items, on stderr: one updating line on a terminal, a plain
    line per item otherwise (CI logs), nothing under ``--quiet`` or when not ``enabled`` (e.g.
    ``--json``). Yields ``step(label)``, called once per item as it is done."""
    if not enabled or _quiet or total <= 0:
        yield lambda _label: None
        return
    if not sys.stderr.isatty():
        done = 0

        def line(label: str) -> None:
            nonlocal done
            done += 1
            print(f"{what} {done}/{total}: {label}", file=sys.stderr, flush=True)

        yield line
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.table import Column

    label = TextColumn(
        "{task.description}", markup=False, table_column=Column(no_wrap=True, overflow="ellipsis")
    )
    columns = (BarColumn(), MofNCompleteColumn(), label)
    with Progress(*columns, transient=True, console=_rich_console()) as bar:
        task = bar.add_task(what, total=total)
        yield lambda label: bar.update(task, advance=1, description=f"{what}: {label}")
