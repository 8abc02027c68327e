"""Wheels micropip took from the package index, fetched on the host for step 2's lock."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from smithy.channel.model import Channel
from smithy.testing.imports import Installed
from smithy.testing.report import PyodideTestError


def index_wheels(
    installed: Iterable[Installed], *, channel: Channel, known: set[str]
) -> list[Path]:
    """The files of ``installed`` that are neither in ``known`` (dist/'s) nor on ``channel``:
    downloaded once into ``cache_dir()/wheels/<sha256>/`` and checked against micropip's hash."""
    out = []
    for item in installed:
        if item.filename in known:
            continue
        if any(f.filename == item.filename for f in channel.files(item.name)):
            continue
        out.append(_cached(item))
    return out


def _cached(item: Installed) -> Path:
    from smithy import http
    from smithy.fsutil import write_atomic
    from smithy.paths import cache_dir
    from smithy.recipe.pypi_index import redact

    if not item.sha256 or not item.filename.endswith(".whl"):
        raise PyodideTestError(
            f"micropip installed {item.name} {item.version} from {redact(item.url)}, "
            "which is not a wheel with a known sha256"
        )
    target = cache_dir() / "wheels" / item.sha256 / item.filename
    if target.is_file():
        return target
    data = http.get(item.url, what=f"{item.filename} (a dependency micropip installed)").content
    if hashlib.sha256(data).hexdigest() != item.sha256:
        raise PyodideTestError(
            f"{item.filename} downloaded on the host differs from what micropip installed",
            file=redact(item.url),
        )
    write_atomic(target, data)
    return target
