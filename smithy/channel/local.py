"""A channel in a local directory: wheels per label, PEP 503 + PEP 691 indexes, a registry file.

    DIR/channel.json            the truth: every file, its labels, sha256, size, upload time,
                                provenance
    DIR/<label>/files/<wheel>   the bytes (hard links between labels)
    DIR/<label>/simple/...      index.html + index.json per label and per project, rendered from
                                the registry alone
    DIR/.lock                   every change holds it (flock)
    DIR/.unfinished             there while a change runs, and after one was killed

A change takes these steps in this order, each one atomic (a rename, a link, an unlink):
create ``.unfinished``; place the new wheel files; write ``channel.json`` (the commit point);
rewrite the indexes of the projects that changed; unlink the files the registry no longer
lists; remove ``.unfinished``. So whenever a process dies, every file the registry lists under a
label is in that label's folder, and what a kill can leave behind is: wheel files the registry
does not list (an upload that never committed, or a removal that did), index pages that lag
the registry, and temporary files; always with ``.unfinished`` beside them.

Whoever next takes the lock and finds ``.unfinished`` heals before going on: every index page
rendered again from the registry (only those that differ are written), files the registry does
not list and temporary files removed. Every change heals, and so does every read through
``files()`` or ``index_url()`` when no change holds the lock: re-running a killed ``upload``
that finds its files there already leaves correct indexes. ``channel reindex`` (``reindex()``)
does the same for any channel, and repairs what no kill causes (channels written before this
order, files deleted by hand): a file missing from one label is linked again from another
label's copy with the recorded sha256, or else that label is taken off it in the registry; bytes
that differ from the recorded sha256 are reported, not changed.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import signal
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from smithy.channel.model import MAIN, ChannelFile, Provenance
from smithy.channel.simple_pages import pages
from smithy.channel.wheel import Wheel
from smithy.errors import ChannelError, UsageError
from smithy.fsutil import is_write_leftover, write_atomic
from smithy.recipe.model import normalize

REGISTRY = "channel.json"
UNFINISHED = ".unfinished"
KILL_AT_ENV = "PYODIDE_SMITHY_TEST_KILL_AT"


@dataclass(frozen=True)
class Repair:
    """One thing ``reindex`` found out of step with the registry, and what fixes it."""

    subject: str
    problem: str
    fix: str

    def line(self, *, fixed: bool) -> str:
        return f"{self.subject}: {self.problem}" + (f"; {self.fix}" if fixed else "")


@dataclass(frozen=True)
class Reindexed:
    repairs: tuple[Repair, ...]
    problems: tuple[str, ...]  # what reindex leaves to people: bytes that differ from the registry


@dataclass
class _Edit:
    """What a change does: the registry's entries edited in memory, and files to place."""

    entries: list[ChannelFile]
    places: list[tuple[Path, str, str]] = field(default_factory=list)  # source, label, name

    def place(self, source: Path, label: str, filename: str) -> None:
        self.places.append((source, label, filename))


class LocalChannel:
    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.description = str(self.root)

    # reading ------------------------------------------------------------------------------

    def files(self, package: str | None = None) -> list[ChannelFile]:
        self._heal_if_idle()
        entries = self._read()
        if package is not None:
            entries = [f for f in entries if f.project == normalize(package)]
        return entries

    def download(self, file: ChannelFile) -> bytes:
        for label in file.labels:
            path = self._path(label, file.filename)
            if path.is_file():
                return path.read_bytes()
        raise ChannelError(f"{file.filename} is missing from the channel's folders", file=self.root)

    def index_url(self, label: str = MAIN) -> str:
        self._heal_if_idle()
        return (self.root / label / "simple").as_uri() + "/"

    # writing ------------------------------------------------------------------------------

    def put(self, wheel: Wheel, *, labels: tuple[str, ...], provenance: Provenance) -> None:
        with self._changing() as edit:
            if any(f.filename == wheel.filename for f in edit.entries):
                raise ChannelError(f"{wheel.filename} is already in the channel", file=self.root)
            for label in labels:
                edit.place(wheel.path, label, wheel.filename)
            edit.entries.append(
                ChannelFile(
                    package=wheel.name,
                    version=wheel.version,
                    filename=wheel.filename,
                    sha256=wheel.sha256,
                    size=wheel.size,
                    labels=tuple(sorted(set(labels))),
                    upload_time=datetime.now(UTC).isoformat(timespec="seconds"),
                    provenance=provenance,
                    url=self._path(labels[0], wheel.filename).as_uri(),
                )
            )

    def delete(self, file: ChannelFile) -> None:
        with self._changing() as edit:  # its files go once the registry no longer lists them
            edit.entries[:] = [f for f in edit.entries if f.filename != file.filename]

    def set_label(self, file: ChannelFile, label: str, *, present: bool) -> None:
        with self._changing() as edit:
            for i, entry in enumerate(edit.entries):
                if entry.filename != file.filename:
                    continue
                labels = set(entry.labels)
                if present and label not in labels:
                    edit.place(self._path(entry.labels[0], file.filename), label, file.filename)
                    labels.add(label)
                elif not present and label in labels:
                    if len(labels) == 1:
                        raise ChannelError(
                            f"{file.filename} has no other label; remove the file instead",
                            file=self.root,
                        )
                    labels.discard(label)
                edit.entries[i] = self._relabelled(entry, labels)
                return
        raise ChannelError(f"{file.filename} is not in the channel", file=self.root)

    def reindex(self, *, fix: bool = True) -> Reindexed:
        """Make the files folders and every index agree with the registry; say what differed.

        With ``fix=False`` only look. The registry changes only to take off a label whose file
        is gone and cannot be linked again from another label.
        """
        if not (self.root / REGISTRY).is_file():
            raise UsageError(f"not a local channel: it has no {REGISTRY}", file=self.root)
        with self._locked():
            entries = self._read()
            edit, repairs, problems = self._check_bytes(entries)
            if fix and (edit.places or edit.entries != entries):
                _step()
                (self.root / UNFINISHED).touch()
                self._apply(edit, write_registry=True)
            repairs += self._reconcile(edit.entries, fix=fix)
            if fix and (self.root / UNFINISHED).exists():
                _step()
                (self.root / UNFINISHED).unlink()
        return Reindexed(tuple(repairs), tuple(problems))

    # changing -----------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    @contextmanager
    def _changing(self) -> Iterator[_Edit]:
        """Hold the lock while the block edits; then apply the edit in the order above."""
        with self._locked():
            unfinished = self.root / UNFINISHED
            killed = unfinished.exists()
            edit = _Edit(self._read())
            before = {f.filename: f for f in edit.entries}
            yield edit
            after = {f.filename: f for f in edit.entries}
            changed = {f.project for n, f in after.items() if before.get(n) != f}
            changed |= {f.project for n, f in before.items() if after.get(n) != f}
            if not (changed or edit.places or killed):
                return
            if not killed:
                _step()
                unfinished.touch()
            edit.entries.sort(key=lambda f: (f.project, f.filename))
            self._apply(edit, write_registry=bool(changed))
            if killed:
                self._reconcile(edit.entries, fix=True)
            else:
                self._write_indexes(edit.entries, changed)
                for label, name in sorted(_placed(before.values()) - _placed(edit.entries)):
                    _step()
                    self._path(label, name).unlink(missing_ok=True)
            _step()
            unfinished.unlink()

    def _apply(self, edit: _Edit, *, write_registry: bool) -> None:
        """Place the edit's files, then commit its registry."""
        for source, label, name in edit.places:
            _step()
            _place(source, self._path(label, name))
        if write_registry:
            payload = {"format": 1, "files": [f.to_json() for f in edit.entries]}
            _step()
            write_atomic(self.root / REGISTRY, (json.dumps(payload, indent=1) + "\n").encode())

    def _heal_if_idle(self) -> None:
        """After a killed change, heal before reading, unless a change holds the lock (and will
        heal itself)."""
        unfinished = self.root / UNFINISHED
        if not unfinished.exists():
            return
        try:
            with (self.root / ".lock").open("a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if unfinished.exists():
                    self._reconcile(self._read(), fix=True)
                    _step()
                    unfinished.unlink()
        except OSError:  # busy, or a channel this user may only read: read it as it is
            return

    def _write_indexes(self, entries: list[ChannelFile], projects: set[str]) -> None:
        for label in sorted(self._labels(entries)):
            for _, path, data in pages(self.root / label / "simple", label, entries, projects):
                _step()
                write_atomic(path, data)
            present = {f.project for f in entries if label in f.labels}
            for project in sorted(projects - present):
                folder = self.root / label / "simple" / project
                if folder.is_dir():
                    _step()
                    shutil.rmtree(folder)

    # healing ------------------------------------------------------------------------------

    def _reconcile(self, entries: list[ChannelFile], *, fix: bool) -> list[Repair]:
        """Every index page rendered from ``entries``, then whatever they do not list removed
        from the files folders (with the temporary files of killed writes): what differed."""
        listed = _placed(entries)
        stale: dict[str, list[str]] = {}
        orphans: list[Path] = []
        for label in sorted(self._labels(entries)):
            for project in self._stale_pages(label, entries, fix=fix):
                stale.setdefault(project, []).append(label)
            folder = self.root / label / "files"
            for path in sorted(folder.iterdir()) if folder.is_dir() else []:
                if _is_leftover(path.name):
                    _remove(path, fix=fix)
                elif (label, path.name) not in listed and path.is_file():
                    orphans.append(path)
        for path in self.root.iterdir():
            if _is_leftover(path.name):
                _remove(path, fix=fix)
        repairs = [
            Repair(
                f"index of {project}" if project else "project list",
                f"out of date in {', '.join(labels)}",
                "rewritten",
            )
            for project, labels in sorted(stale.items())
        ]
        for path in orphans:
            _remove(path, fix=fix)
            shown = path.relative_to(self.root).as_posix()
            repairs.append(Repair(shown, "not in the registry", "removed"))
        return repairs

    def _stale_pages(self, label: str, entries: list[ChannelFile], *, fix: bool) -> set[str]:
        """The projects of ``label`` whose pages differ from the registry's ("": the project
        list), rewritten when ``fix``."""
        simple = self.root / label / "simple"
        stale = set()
        for project, path, data in pages(simple, label, entries, None):
            try:
                same = path.read_bytes() == data
            except OSError:
                same = False
            if not same:
                stale.add(project)
                if fix:
                    _step()
                    write_atomic(path, data)
        present = {f.project for f in entries if label in f.labels}
        for folder in sorted(simple.iterdir()) if simple.is_dir() else []:
            if folder.name not in present and folder.is_dir():
                stale.add(folder.name)
                if fix:
                    _step()
                    shutil.rmtree(folder)
            elif folder.is_dir():
                for path in folder.iterdir():
                    if is_write_leftover(path.name):
                        _remove(path, fix=fix)
            elif is_write_leftover(folder.name):
                _remove(folder, fix=fix)
        return stale

    def _check_bytes(self, entries: list[ChannelFile]) -> tuple[_Edit, list[Repair], list[str]]:
        """Hash every file the registry lists: what to link again or take off the registry,
        and which bytes differ from the recorded sha256."""
        digests: dict[tuple[int, int], str] = {}

        def digest(path: Path) -> str | None:
            try:
                info = path.stat()
                key = (info.st_dev, info.st_ino)
                if key not in digests:
                    with path.open("rb") as handle:
                        digests[key] = hashlib.file_digest(handle, "sha256").hexdigest()
            except OSError:
                return None
            return digests[key]

        edit = _Edit([])
        repairs: list[Repair] = []
        problems: list[str] = []
        for f in entries:
            kept = set()
            for label in f.labels:
                path = self._path(label, f.filename)
                shown = path.relative_to(self.root).as_posix()
                actual = digest(path)
                if actual is not None:
                    kept.add(label)
                    if actual != f.sha256:
                        problems.append(
                            f"{shown} differs from the sha256 recorded at upload: remove it, "
                            "or upload it again with --replace"
                        )
                    continue
                copy = next(
                    (o for o in f.labels if digest(self._path(o, f.filename)) == f.sha256), None
                )
                if copy is not None:
                    edit.place(self._path(copy, f.filename), label, f.filename)
                    kept.add(label)
                    repairs.append(Repair(shown, "missing", f"linked again from {copy}"))
                else:
                    repairs.append(
                        Repair(shown, "missing, and no other label has it", f"{label} taken off it")
                    )
            if kept == set(f.labels):
                edit.entries.append(f)
            elif kept:
                edit.entries.append(self._relabelled(f, kept))
            else:
                repairs.append(Repair(f.filename, "no label left", "taken off the registry"))
        return edit, repairs, problems

    # storage ------------------------------------------------------------------------------

    def _path(self, label: str, filename: str) -> Path:
        return self.root / label / "files" / filename

    def _relabelled(self, entry: ChannelFile, labels: set[str]) -> ChannelFile:
        ordered = tuple(sorted(labels))
        url = self._path(ordered[0], entry.filename).as_uri()
        return dataclasses.replace(entry, labels=ordered, url=url)

    def _labels(self, entries: list[ChannelFile]) -> set[str]:
        """The registry's labels and every label folder (one may have lost its last file)."""
        folders = {p.parent.name for p in self.root.glob("*/files") if p.is_dir()}
        folders |= {p.parent.name for p in self.root.glob("*/simple") if p.is_dir()}
        return {label for f in entries for label in f.labels} | folders

    def _read(self) -> list[ChannelFile]:
        path = self.root / REGISTRY
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise ChannelError(f"unreadable channel registry: {exc}", file=path) from exc
        out = []
        for raw in data.get("files", []):
            provenance = Provenance.from_dict(raw.pop("provenance", None))
            raw["labels"] = tuple(raw["labels"])
            out.append(ChannelFile(**raw, provenance=provenance))
        return out


_steps = 0


def _step() -> None:
    """Test hook, before every change to the channel's folder: with ``$PYODIDE_SMITHY_TEST_KILL_AT``
    set to N, the process SIGKILLs itself before its Nth change (see test_channel_local_kill)."""
    global _steps  # noqa: PLW0603 - one counter per process, read only by the kill test
    kill_at = os.environ.get(KILL_AT_ENV)
    if kill_at:
        _steps += 1
        if _steps == int(kill_at):
            os.kill(os.getpid(), signal.SIGKILL)


def _placed(entries: Iterable[ChannelFile]) -> set[tuple[str, str]]:
    return {(label, f.filename) for f in entries for label in f.labels}


def _is_leftover(name: str) -> bool:
    """A temporary file of a killed ``write_atomic`` or ``_place``."""
    return is_write_leftover(name) or (name.startswith(".") and name.endswith(".partial"))


def _remove(path: Path, *, fix: bool) -> None:
    if fix:
        _step()
        path.unlink(missing_ok=True)


def _place(source: Path, target: Path) -> None:
    """Put ``source``'s bytes at ``target`` (a hard link when it can), atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        os.link(source, partial)
    except OSError:
        shutil.copyfile(source, partial)
    partial.replace(target)
