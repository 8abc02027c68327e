"""A local channel's PEP 503 (HTML) and PEP 691 (JSON) pages, made from its registry alone."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from smithy.channel.model import ChannelFile

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def pages(
    simple: Path, label: str, entries: list[ChannelFile], projects: set[str] | None
) -> Iterator[tuple[str, Path, bytes]]:
    """``(project, path, bytes)`` of a label's project list ("" as its project) and of the
    pages of ``projects`` that have files there (every project when ``None``)."""
    by_project: dict[str, list[ChannelFile]] = {}
    for f in entries:
        if label in f.labels:
            by_project.setdefault(f.project, []).append(f)
    names = sorted(by_project)
    yield "", simple / "index.html", _root_html(names).encode()
    yield "", simple / "index.json", _root_json(names).encode()
    for project in names if projects is None else sorted(projects & set(names)):
        files = by_project[project]
        yield project, simple / project / "index.html", _project_html(project, files).encode()
        yield project, simple / project / "index.json", _project_json(project, files).encode()


def listing_order(files: list[ChannelFile]) -> list[ChannelFile]:
    """A project's files as its pages list them: newest version first and, within a version,
    the highest build first (PEP 427: a file without a build tag sorts below build 0).

    micropip 0.11 ignores build tags: among files of one version it keeps the first one with
    the best tag (``transaction._find_best_wheel`` replaces its pick only on a strictly better
    tag), so the order of this page is what makes it install the newest build. pip sorts by
    build itself and is indifferent to the order.
    """
    from smithy.platform import InvalidWheelName, parse_wheel_name

    def key(f: ChannelFile) -> tuple[int, Any]:
        try:
            return 0, parse_wheel_name(f.filename).sort_key()
        except InvalidWheelName:  # not from upload; listed after every wheel
            return -1, ()

    by_name = sorted(files, key=lambda f: f.filename)
    return sorted(by_name, key=key, reverse=True)


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
        for f in listing_order(files)
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
        for f in listing_order(files)
    ]
    return json.dumps({"meta": {"api-version": "1.1"}, "name": project, "files": entries}) + "\n"
