"""A channel in a local directory: wheels per label, PEP 503 + PEP 691 indexes, a registry file.

    DIR/channel.json                 every file: labels, sha256, size, upload time, provenance
    DIR/<label>/files/<wheel>        the bytes (hard links between labels)
    DIR/<label>/simple/...           index.html + index.json per label and per project

Every change runs under a lock on ``DIR/.lock`` and rewrites what it touches atomically.
"""

from __future__ import annotations

import fcntl
import html
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smithy.channel.model import MAIN, ChannelFile, Provenance
from smithy.channel.wheel import Wheel
from smithy.errors import ChannelError
from smithy.fsutil import write_atomic
from smithy.recipe.model import normalize

REGISTRY = "channel.json"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


class LocalChannel:
    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.description = str(self.root)

    # reading ------------------------------------------------------------------------------

    def files(self, package: str | None = None) -> list[ChannelFile]:
        entries = self._read()
        if package is not None:
            entries = [f for f in entries if f.project == normalize(package)]
        return entries

    def download(self, file: ChannelFile) -> bytes:
        for label in file.labels:
            path = self.root / label / "files" / file.filename
            if path.is_file():
                return path.read_bytes()
        raise ChannelError(f"{file.filename} is missing from the channel's folders", file=self.root)

    def index_url(self, label: str = MAIN) -> str:
        return (self.root / label / "simple").as_uri() + "/"

    # writing ------------------------------------------------------------------------------

    def put(self, wheel: Wheel, *, labels: tuple[str, ...], provenance: Provenance) -> None:
        with self._locked() as entries:
            if any(f.filename == wheel.filename for f in entries):
                raise ChannelError(f"{wheel.filename} is already in the channel", file=self.root)
            for label in labels:
                _place(wheel.path, self.root / label / "files" / wheel.filename)
            entries.append(
                ChannelFile(
                    package=wheel.name,
                    version=wheel.version,
                    filename=wheel.filename,
                    sha256=wheel.sha256,
                    size=wheel.size,
                    labels=tuple(sorted(set(labels))),
                    upload_time=datetime.now(UTC).isoformat(timespec="seconds"),
                    provenance=provenance,
                    url=(self.root / labels[0] / "files" / wheel.filename).as_uri(),
                )
            )

    def delete(self, file: ChannelFile) -> None:
        with self._locked() as entries:
            entries[:] = [f for f in entries if f.filename != file.filename]
            for label in file.labels:
                (self.root / label / "files" / file.filename).unlink(missing_ok=True)

    def set_label(self, file: ChannelFile, label: str, *, present: bool) -> None:
        with self._locked() as entries:
            for i, entry in enumerate(entries):
                if entry.filename != file.filename:
                    continue
                labels = set(entry.labels)
                target = self.root / label / "files" / file.filename
                if present and label not in labels:
                    source = self.root / entry.labels[0] / "files" / file.filename
                    _place(source, target)
                    labels.add(label)
                elif not present and label in labels:
                    if len(labels) == 1:
                        raise ChannelError(
                            f"{file.filename} has no other label; remove the file instead",
                            file=self.root,
                        )
                    target.unlink(missing_ok=True)
                    labels.discard(label)
                ordered = tuple(sorted(labels))
                url = (self.root / ordered[0] / "files" / file.filename).as_uri()
                entries[i] = _replace(entry, labels=ordered, url=url)
                return
        raise ChannelError(f"{file.filename} is not in the channel", file=self.root)

    # storage ------------------------------------------------------------------------------

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

    @contextmanager
    def _locked(self) -> Iterator[list[ChannelFile]]:
        """Hold the channel's lock; write the registry and every index back on success."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = self._read()
            before = {f.filename: f for f in entries}
            yield entries
            entries.sort(key=lambda f: (f.project, f.filename))
            payload = {"format": 1, "files": [f.to_json() for f in entries]}
            write_atomic(self.root / REGISTRY, (json.dumps(payload, indent=1) + "\n").encode())
            changed = {f.project for f in entries if before.get(f.filename) != f}
            changed |= {f.project for f in before.values() if f not in entries}
            self._write_indexes(entries, changed)

    def _write_indexes(self, entries: list[ChannelFile], projects: set[str]) -> None:
        labels = {label for f in entries for label in f.labels} | self._label_dirs()
        for label in sorted(labels):
            in_label = [f for f in entries if label in f.labels]
            simple = self.root / label / "simple"
            names = sorted({f.project for f in in_label})
            write_atomic(simple / "index.html", _root_html(names).encode())
            write_atomic(simple / "index.json", _root_json(names).encode())
            for project in projects:
                files = [f for f in in_label if f.project == project]
                folder = simple / project
                if not files:
                    shutil.rmtree(folder, ignore_errors=True)
                    continue
                write_atomic(folder / "index.html", _project_html(project, files).encode())
                write_atomic(folder / "index.json", _project_json(project, files).encode())

    def _label_dirs(self) -> set[str]:
        return {p.parent.name for p in self.root.glob("*/simple") if p.is_dir()}


def _replace(file: ChannelFile, **changes: Any) -> ChannelFile:
    import dataclasses

    return dataclasses.replace(file, **changes)


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


def _link(f: ChannelFile) -> str:
    return f"../../files/{f.filename}#sha256={f.sha256}"


def _root_html(names: list[str]) -> str:
    links = "".join(f'<a href="{n}/">{html.escape(n)}</a><br>\n' for n in names)
    return f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n"


def _root_json(names: list[str]) -> str:
    return (
        json.dumps({"meta": {"api-version": "1.1"}, "projects": [{"name": n} for n in names]})
        + "\n"
    )


def _project_html(project: str, files: list[ChannelFile]) -> str:
    links = "".join(
        f'<a href="{html.escape(_link(f))}">{html.escape(f.filename)}</a><br>\n'
        for f in sorted(files, key=lambda f: f.filename)
    )
    head = f"<head><title>{project}</title></head>"
    return f"<!DOCTYPE html>\n<html>{head}<body>\n{links}</body></html>\n"


def _project_json(project: str, files: list[ChannelFile]) -> str:
    entries = [
        {
            "filename": f.filename,
            "url": _link(f).split("#")[0],
            "hashes": {"sha256": f.sha256},
            "size": f.size,
        }
        for f in sorted(files, key=lambda f: f.filename)
    ]
    return json.dumps({"meta": {"api-version": "1.1"}, "name": project, "files": entries}) + "\n"
