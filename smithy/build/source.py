"""A recipe's source, fetched once and kept by sha256; from the package index when its URL fails.

    <cache_dir>/sources/<sha256>/<filename>

Many recipes name PyPI's short redirect URLs (``files.pythonhosted.org/packages/source/...``,
``.../packages/py3/...``), which a PyPI mirror or proxy may not serve. When the URL cannot be
fetched, the same file name is looked up on the configured package index (PEP 691) and taken
only if the index's sha256 is the recipe's.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from email.message import Message
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from smithy import console
from smithy.build.model import BuildError
from smithy.errors import NetworkError, RecipeNotFoundError
from smithy.paths import cache_dir

SOURCES = "sources"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


@dataclass(frozen=True, kw_only=True)
class FetchedSource:
    path: Path  # inside the cache: read it, never change it
    origin: str  # the URL the bytes came from, or "cache"


def url_filename(url: str) -> str:
    """The file name a URL serves (its last path segment, decoded)."""
    return unquote(PurePosixPath(urlsplit(url).path).name)


def fallback_project(filename: str) -> str | None:
    """The project a package index lists ``filename`` under; ``None`` if no index would."""
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        parse_sdist_filename,
        parse_wheel_filename,
    )
    from packaging.version import InvalidVersion

    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[0])
        if filename.endswith((".tar.gz", ".zip")):
            return str(parse_sdist_filename(filename)[0])
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None


def cached_source(sha256: str) -> Path | None:
    """The cached file with this digest, checked again (a damaged copy is dropped)."""
    folder = cache_dir() / SOURCES / sha256
    try:
        candidates = sorted(p for p in folder.iterdir() if p.is_file() and p.name[0] != ".")
    except FileNotFoundError:
        return None
    for path in candidates:
        if _file_sha256(path) == sha256:
            return path
        path.unlink(missing_ok=True)
    return None


def fetch_source(url: str, sha256: str, *, meta_path: Path) -> FetchedSource:
    """The recipe's source in the cache: from the cache, its URL, else the package index."""
    expected = sha256.strip().lower()
    if not _SHA256.match(expected):
        raise BuildError(
            f"source.sha256 is not a sha256 digest: {sha256!r}", file=meta_path, key="source.sha256"
        )
    filename = url_filename(url)
    if not _safe_name(filename):
        raise BuildError(
            f"no file name in source URL {url!r}: its last segment must be a plain file name",
            file=meta_path,
            key="source.url",
        )
    if (hit := cached_source(expected)) is not None:
        console.info(f"source: {hit.name} from the cache (sha256 {expected})")
        return FetchedSource(path=hit, origin="cache")
    try:
        path = _download(url, filename, expected, meta_path=meta_path)
    except NetworkError as exc:
        return _from_index(filename, expected, exc, meta_path=meta_path)
    console.info(f"source: {path.name} from {url}")
    return FetchedSource(path=path, origin=url)


def _from_index(
    filename: str, expected: str, failure: NetworkError, *, meta_path: Path
) -> FetchedSource:
    from smithy.recipe.pypi_index import index_url_from_env, project_files, redact

    project = fallback_project(filename)
    if project is None:
        raise NetworkError(failure.message, file=meta_path, key="source.url") from failure
    index = index_url_from_env()
    shown = redact(index)
    console.info(f"{failure.message}; looking {filename} up on the package index {shown}")
    try:
        files = project_files(index, project)
    except RecipeNotFoundError as exc:
        message = f"{failure.message}; and {shown} has no project {project!r}"
        raise NetworkError(message, file=meta_path, key="source.url") from exc
    except NetworkError as exc:
        message = f"{failure.message}; and the package index failed too: {exc.message}"
        raise NetworkError(message, file=meta_path, key="source.url") from exc
    found = next((f for f in files if f.filename == filename), None)
    if found is None:
        message = f"{failure.message}; and {shown} does not list {filename} either"
        raise NetworkError(message, file=meta_path, key="source.url")
    if found.sha256 != expected:
        raise BuildError(
            f"{filename} could not be fetched from the recipe's URL, and the package index "
            f"{shown} has it with sha256 {found.sha256}, not the recipe's {expected}: refused",
            file=meta_path,
            key="source.sha256",
        )
    path = _download(found.url, filename, expected, meta_path=meta_path, default_name=True)
    console.info(f"source: {filename} from {redact(found.url)} (package index, sha256 matches)")
    return FetchedSource(path=path, origin=found.url)


def _download(
    url: str, filename: str, expected: str, *, meta_path: Path, default_name: bool = False
) -> Path:
    """Stream ``url`` into the cache, checking its sha256 before it becomes visible there."""
    import requests

    from smithy import http

    response = http.get(url, what=f"the source {filename}", retries=1, stream=True)
    name = filename if default_name else _served_name(response.headers, filename)
    folder = cache_dir() / SOURCES / expected
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=folder)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as handle:
            try:
                for chunk in response.iter_content(_CHUNK):
                    digest.update(chunk)
                    handle.write(chunk)
            except requests.RequestException as exc:
                raise NetworkError(f"download of {url} broke off: {exc}") from exc
        got = digest.hexdigest()
        if got != expected:
            raise BuildError(
                f"sha256 mismatch for {name} from {url}: the recipe expects {expected}, got {got}",
                file=meta_path,
                key="source.sha256",
            )
        target = folder / name
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        response.close()
    return target


def _served_name(headers: object, default: str) -> str:
    """Content-Disposition's file name when safe (pyodide-build names the archive by it)."""
    value = getattr(headers, "get", lambda _key: None)("Content-Disposition")
    if not value:
        return default
    msg = Message()
    msg["Content-Disposition"] = value
    name = msg.get_filename()
    if name is None:
        return default
    name = PurePosixPath(name.replace("\\", "/")).name
    return name if _safe_name(name) else default


def _safe_name(name: str) -> bool:
    """A plain file name for the cache: not hidden, no separator (``%2F`` decodes to one) and
    no control character, so that it cannot name a file outside its folder."""
    return bool(name) and name[0] != "." and not re.search(r"[/\\\x00-\x1f\x7f]", name)


def _file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
