"""A Python package index through its simple API: PEP 691 file lists and the pick of a source.

Only what any mirror serves is used, so ``PIP_INDEX_URL``-style settings work.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from smithy import http
from smithy.errors import NetworkError, RecipeNotFoundError, UsageError

DEFAULT_INDEX_URL = "https://pypi.org/simple/"
JSON_ACCEPT = "application/vnd.pypi.simple.v1+json"
SPEC = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:==\s*(\S+))?\s*$")


@dataclass(frozen=True, kw_only=True)
class IndexFile:
    filename: str
    url: str
    sha256: str
    version: Version
    wheel: bool
    pure: bool = False
    requires_python: str | None = None
    yanked: bool = False
    metadata: bool = False  # a PEP 658 ``.metadata`` file is advertised
    metadata_sha256: str | None = None
    size: int | None = None


def index_url_from_env() -> str:
    """``PYODIDE_SMITHY_INDEX_URL``, else ``PIP_INDEX_URL``, else PyPI; ends with a slash."""
    url = (
        os.environ.get("PYODIDE_SMITHY_INDEX_URL", "").strip()
        or os.environ.get("PIP_INDEX_URL", "").strip()
        or DEFAULT_INDEX_URL
    )
    return url if url.endswith("/") else url + "/"


def parse_spec(spec: str) -> tuple[str, str | None]:
    match = SPEC.match(spec)
    if match is None:
        raise UsageError(f"expected NAME or NAME==VERSION, got {spec!r}")
    if match[2] is not None:
        try:
            Version(match[2])
        except InvalidVersion as exc:
            raise UsageError(f"invalid version {match[2]!r} in {spec!r}") from exc
    return match[1], match[2]


def redact(url: str) -> str:
    """``url`` without the user:password it may carry (``PIP_INDEX_URL`` often does)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


def project_files(index: str, name: str) -> list[IndexFile]:
    page = f"{index}{canonicalize_name(name)}/"
    what = f"the index page of {name}"
    try:
        response = http.get(page, what=what, headers={"Accept": JSON_ACCEPT})
    except NetworkError as exc:
        if exc.key == "404":
            message = f"no project {name!r} on the package index {redact(index)}"
            raise RecipeNotFoundError(message) from exc
        raise
    try:
        data = response.json()
        entries = data["files"]
    except (ValueError, KeyError, TypeError) as exc:
        message = f"{redact(page)} did not answer with PEP 691 JSON (the simple API)"
        raise NetworkError(message) from exc
    return parse_files(entries, response.url or page)


def parse_files(entries: list[dict[str, Any]], page_url: str) -> list[IndexFile]:
    """The wheels and sdists of a PEP 691 ``files`` list (with a sha256); others are ignored."""
    files = []
    for entry in entries:
        filename = str(entry.get("filename", ""))
        sha256 = (entry.get("hashes") or {}).get("sha256")
        if not sha256 or "url" not in entry:
            continue
        try:
            if wheel := filename.endswith(".whl"):
                _, version, _, tag_set = parse_wheel_filename(filename)
                tags = {str(tag) for tag in tag_set}
            else:
                version, tags = parse_sdist_filename(filename)[1], set()
        except ValueError:  # the Invalid*Filename and InvalidVersion errors, other file types
            continue
        metadata = entry.get("core-metadata", entry.get("data-dist-info-metadata", False))
        size = entry.get("size")
        files.append(
            IndexFile(
                filename=filename,
                url=urldefrag(urljoin(page_url, entry["url"]))[0],
                sha256=sha256.lower(),
                version=version,
                wheel=wheel,
                pure="py3-none-any" in tags and all(t.endswith("-none-any") for t in tags),
                requires_python=entry.get("requires-python") or None,
                yanked=bool(entry.get("yanked", False)),
                metadata=bool(metadata),
                metadata_sha256=metadata.get("sha256") if isinstance(metadata, dict) else None,
                size=size if isinstance(size, int) else None,
            )
        )
    return files


def supports(file: IndexFile, python: Version) -> bool:
    try:
        spec = SpecifierSet(file.requires_python or "")
    except InvalidSpecifier:
        return True
    return spec.contains(python, prereleases=True)


def choose_version(
    files: list[IndexFile], *, name: str, pinned: str | None, python: Version
) -> Version:
    """The pinned version, else the newest final (else pre-) release for ``python``, not yanked."""
    if pinned is not None:
        wanted = Version(pinned)
        if any(f.version == wanted for f in files):
            return wanted
        newest = sorted({f.version for f in files if not f.yanked}, reverse=True)[:5]
        listed = ", ".join(map(str, newest)) or "none"
        raise RecipeNotFoundError(f"{name} has no version {pinned} on the index; newest: {listed}")
    usable = {f.version for f in files if not f.yanked and supports(f, python)}
    if not usable:
        raise RecipeNotFoundError(f"{name} has no release that supports Python {python}")
    return max({v for v in usable if not v.is_prerelease} or usable)


def choose_source(
    files: list[IndexFile], *, name: str, version: Version, python: Version
) -> IndexFile:
    """The release's pure wheel, else its ``.tar.gz`` sdist, else its ``.zip`` one."""
    release = [f for f in files if f.version == version and supports(f, python)]
    if not release:
        raise RecipeNotFoundError(f"{name} {version} does not support Python {python}")
    release = [f for f in release if not f.yanked] or release
    if candidates := [f for f in release if f.pure] or [f for f in release if not f.wheel]:
        return min(candidates, key=lambda f: (f.filename.endswith(".zip"), f.filename))
    raise RecipeNotFoundError(
        f"{name} {version} has neither a pure Python wheel (py3-none-any) nor an sdist on the "
        "index; a recipe needs one of them as its source"
    )


def wheel_rank(file: IndexFile) -> tuple[int, str]:
    """Smallest wheel first: little more than its central directory is read."""
    return (file.size if file.size is not None else 1 << 62, file.filename)
