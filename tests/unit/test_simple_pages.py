"""A local channel's index pages list a project's newest version first and, within a version,
its highest build first: micropip installs the first of equally good files it reads."""

from __future__ import annotations

import json
import re
from pathlib import Path

from smithy.channel.model import ChannelFile
from smithy.channel.simple_pages import pages

UPLOADED = [  # in the order they reached the channel
    "tiny_pkg-0.9-3-py3-none-any.whl",
    "tiny_pkg-1.0-py3-none-any.whl",
    "tiny_pkg-1.0-0-py3-none-any.whl",
    "tiny_pkg-1.0-10-py3-none-any.whl",
    "tiny_pkg-1.0-2-py3-none-any.whl",
    "tiny_pkg-1.0-2-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
    "tiny_pkg-1.0-1-py3-none-any.whl",
]
LISTED = [
    "tiny_pkg-1.0-10-py3-none-any.whl",
    "tiny_pkg-1.0-2-cp314-cp314-pyemscripten_2026_0_wasm32.whl",  # same build: by file name
    "tiny_pkg-1.0-2-py3-none-any.whl",
    "tiny_pkg-1.0-1-py3-none-any.whl",
    "tiny_pkg-1.0-0-py3-none-any.whl",
    "tiny_pkg-1.0-py3-none-any.whl",  # PEP 427: no build tag sorts below build 0
    "tiny_pkg-0.9-3-py3-none-any.whl",
]


def entry(filename: str) -> ChannelFile:
    return ChannelFile(
        package="tiny-pkg",
        version=filename.split("-")[1],
        filename=filename,
        sha256="ab" * 32,
        size=1,
        labels=("main",),
        upload_time="",
    )


def test_newest_version_then_highest_build_first() -> None:
    written = {
        path.name: data
        for project, path, data in pages(Path("simple"), "main", list(map(entry, UPLOADED)), None)
        if project == "tiny-pkg"
    }
    html = written["index.html"].decode()
    assert re.findall(r">([^<]+\.whl)<", html) == LISTED
    assert [f["filename"] for f in json.loads(written["index.json"])["files"]] == LISTED
