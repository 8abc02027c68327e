"""Checks of ``source``: that it is pinned, checked, and the file the recipe says it is."""

from __future__ import annotations

import re
from collections.abc import Iterator

from smithy.lint import rules
from smithy.lint.model import Finding
from smithy.lint.subject import Subject, text
from smithy.recipe.fields import shown

_BRANCH = r"(?:main|master|develop|trunk|HEAD)"
# Archive URLs whose bytes change when a branch moves or a release is made: GitHub archives of
# branches, codeload and API tarballs, GitLab and Bitbucket archives, "latest" downloads.
_MOVING = re.compile(
    rf"/archive/refs/heads/|/archive/{_BRANCH}\.(?:zip|tar\.gz|tgz)$|/-/archive/{_BRANCH}/"
    rf"|/(?:tarball|zipball)/{_BRANCH}/?$|/(?:tar\.gz|zip)/(?:refs/heads/)?{_BRANCH}$"
    rf"|/get/{_BRANCH}\.(?:zip|tar\.gz)$|/releases/latest/download/|/latest\.(?:zip|tar\.\w+|tgz)$",
    re.IGNORECASE,
)
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def _url(s: Subject) -> str | None:
    return text(s.value("source.url"))


def _wheel_url(s: Subject) -> str | None:
    url = _url(s)
    return url if url is not None and url.split("?", 1)[0].endswith(".whl") else None


def http_source(s: Subject) -> Iterator[Finding]:
    url = _url(s)
    if url is not None and url.lower().startswith("http://"):
        yield rules.INSECURE_SOURCE.at(
            s.file,
            "source.url",
            "source.url is fetched over plain http: anyone on the way can refuse or delay it",
            "use the https:// URL of the same file; the sha256 stays the same",
        )


def unpinned_source(s: Subject) -> Iterator[Finding]:
    url = _url(s)
    if url is not None and _MOVING.search(url.split("?", 1)[0].split("#", 1)[0]):
        yield rules.MOVING_SOURCE.at(
            s.file,
            "source.url",
            "source.url names a branch or the latest release, not one fixed file: its bytes "
            "change and the sha256 check then fails every build",
            "point it at a release, tag or commit archive, and put that file's sha256",
        )


def sha256_format(s: Subject) -> Iterator[Finding]:
    digest = (s.written("source.sha256") or "").strip() or text(s.value("source.sha256"))
    if _url(s) is not None and digest is not None and not _SHA256.fullmatch(digest):
        yield rules.SHA256_FORMAT.at(
            s.file,
            "source.sha256",
            f"source.sha256 {shown(digest)} is not a sha256 digest (64 hexadecimal digits)",
            "put the file's digest: `sha256sum FILE`, or the sha256 PyPI shows for it",
        )


def version_not_in_url(s: Subject) -> Iterator[Finding]:
    from urllib.parse import unquote

    url, version = _url(s), text(s.value("package.version"))
    if url is None or version is None or _wheel_url(s) is not None:
        return
    if not _names_version(unquote(url), version):
        yield rules.VERSION_NOT_IN_URL.at(
            s.file,
            "source.url",
            f"source.url does not name version {version}: it may be another version's file, "
            "and a version update can easily leave it (and the sha256) behind",
            "use the release's own archive URL, which names its version",
        )


def _names_version(url: str, version: str) -> bool:
    """``1.12.1`` is named by ``.../1.12.1.tar.gz`` and by ``.../hdf5-1_12_1.tar.gz`` too."""
    parts = (re.escape(p) for p in re.split(r"[._-]", version))
    pattern = r"(?<![0-9])" + "[._-]".join(parts) + r"(?![.]?[0-9])"
    return re.search(pattern, url, re.IGNORECASE) is not None


def wheel_source(s: Subject) -> Iterator[Finding]:
    """A wheel as source must be this project, this version, and run in Pyodide."""
    from packaging.version import InvalidVersion, Version

    from smithy.build.source import url_filename
    from smithy.platform import InvalidWheelName, is_pyodide_platform, parse_wheel_name
    from smithy.recipe.model import normalize

    url = _wheel_url(s)
    if url is None:
        return
    filename = url_filename(url)
    try:
        wheel = parse_wheel_name(filename)
    except InvalidWheelName as exc:
        yield rules.WHEEL_NAME.at(
            s.file,
            "source.url",
            f"{shown(filename)} is not a wheel's file name: {exc}",
            "point source.url at the wheel file itself",
        )
        return
    name = text(s.value("package.name"))
    if name is not None and normalize(name) != wheel.project:
        yield rules.WHEEL_NAME.at(
            s.file,
            "package.name",
            f"package.name is {shown(name)} but the source wheel {filename} is {wheel.name}",
            "make package.name the wheel's project, or take that project's wheel as source",
        )
    version = text(s.value("package.version"))
    try:
        differs = version is not None and Version(version) != wheel.version
    except InvalidVersion:
        differs = False  # PS004 says why the version is refused
    if differs:
        yield rules.WHEEL_VERSION.at(
            s.file,
            "package.version",
            f"package.version is {version} but the source wheel {filename} is {wheel.version}",
            "make package.version the wheel's version, or point source.url at that version",
        )
    foreign = sorted(p for p in wheel.platforms if p != "any" and not is_pyodide_platform(p))
    if foreign:
        yield rules.WHEEL_PLATFORM.at(
            s.file,
            "source.url",
            f"the source wheel {filename} is for {', '.join(foreign)}, not Pyodide",
            "take a py3-none-any or pyemscripten_*_wasm32 wheel, or the sdist",
        )


def vendor_sharedlib_ignored(s: Subject) -> Iterator[Finding]:
    if _wheel_url(s) is not None and "vendor-sharedlib" in s.section("build"):
        yield rules.VENDOR_SHAREDLIB_WHEEL.at(
            s.file,
            "build.vendor-sharedlib",
            "build.vendor-sharedlib does nothing for a wheel source: pyodide-build never "
            "vendors libraries into a wheel it did not build",
            "remove build.vendor-sharedlib",
        )


CHECKS = (
    http_source,
    unpinned_source,
    sha256_format,
    version_not_in_url,
    wheel_source,
    vendor_sharedlib_ignored,
)
