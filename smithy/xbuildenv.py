"""Pyodide cross-build environments (xbuildenvs): the metadata catalogue and the pick of one."""

from __future__ import annotations

import difflib
import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from smithy import console
from smithy.errors import NetworkError, XBuildEnvError
from smithy.paths import cache_dir

DEFAULT_METADATA_URL = (
    "https://pyodide.github.io/pyodide/api/v2/pyodide-cross-build-environments.json"
)
METADATA_URL_ENV_VAR = "PYODIDE_CROSS_BUILD_ENV_METADATA_URL"  # pyodide-build's own variable
CACHE_TTL_SECONDS = 3600
OFFLINE_SOURCE = "pinned default"


_RELEASE = r"[0-9]+(?:\.[0-9]+)*(?:(?:a|b|rc)[0-9]+)?(?:\.(?:post|dev)[0-9]+)?"
_SHAPES = {
    "version": re.compile(_RELEASE),
    "python_version": re.compile(r"[0-9]+\.[0-9]+\.[0-9]+(?:(?:a|b|rc)[0-9]+)?"),
    "emscripten_version": re.compile(r"[0-9]+\.[0-9]+\.[0-9]+"),
    "url": re.compile(r"https://[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]+"),
    "sha256": re.compile(r"[0-9a-f]{64}"),
    "min_pyodide_build_version": re.compile(_RELEASE),
    "max_pyodide_build_version": re.compile(_RELEASE),
    "abi_version": re.compile(r"[0-9]{4}_[0-9]+"),
}


@dataclass(frozen=True, kw_only=True)
class XBuildEnv:
    """One xbuildenv release, as Pyodide's metadata describes it."""

    version: str
    python_version: str
    emscripten_version: str
    url: str
    sha256: str | None = None
    min_pyodide_build_version: str | None = None
    max_pyodide_build_version: str | None = None
    abi_version: str | None = None  # when the metadata names it; else smithy.platform knows it

    def __post_init__(self) -> None:
        """Each value reaches generated CI, and one copy comes from a feedstock's own
        manifest: only the shapes Pyodide's metadata has ever had get in (ValueError else)."""
        for name, pattern in _SHAPES.items():
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and pattern.fullmatch(value)):
                raise ValueError(f"xbuildenv {name} {str(value)[:60]!r} has an unexpected form")

    @property
    def python_short(self) -> str:
        """``3.14`` for Python 3.14.2: what the host Python must match."""
        major, minor, *_ = self.python_version.split(".")
        return f"{major}.{minor}"

    @property
    def prerelease(self) -> bool:
        from packaging.version import Version

        return Version(self.version).is_prerelease

    @property
    def npm_version(self) -> str:
        """The npm ``pyodide`` version of this release (``315.0.0a2`` -> ``315.0.0-alpha.2``)."""
        from packaging.version import Version

        v = Version(self.version)
        base = ".".join(str(p) for p in v.release)
        if v.pre is None:
            return base
        kind = {"a": "alpha", "b": "beta", "rc": "rc"}[v.pre[0]]
        return f"{base}-{kind}.{v.pre[1]}"

    def abi_breaking_from(self, other: XBuildEnv) -> bool:
        """Moving from ``other`` to this one needs a rebuild: Pyodide's ABI changed (see
        smithy.platform: the ABI Pyodide published, never a formula)."""
        from smithy.platform import same_abi

        return not same_abi(self, other)


# Used when the metadata cannot be reached, so that ``init`` works offline.
PINNED_DEFAULT = XBuildEnv(
    version="314.0.5",
    python_version="3.14.2",
    emscripten_version="5.0.3",
    url="https://github.com/pyodide/pyodide/releases/download/314.0.5/xbuildenv-314.0.5.tar.gz",
    sha256="77bde42a27695e28525fe19933c2ff13ba63598c536060fa60143726a284acdd",
    min_pyodide_build_version="0.26.0",
)


@dataclass(frozen=True)
class Catalog:
    """The releases known from one metadata source."""

    releases: tuple[XBuildEnv, ...]
    source: str

    def latest(self, *, prereleases: bool = False) -> XBuildEnv:
        candidates = [r for r in self.releases if prereleases or not r.prerelease]
        if not candidates:
            raise XBuildEnvError("the xbuildenv metadata lists no stable release", file=self.source)
        return max(candidates, key=_version_key)

    def previous_stable(self, release: XBuildEnv) -> XBuildEnv | None:
        """The newest stable release older than ``release``: what a migration to it moves from."""
        older = [
            r for r in self.releases if not r.prerelease and _version_key(r) < _version_key(release)
        ]
        return max(older, key=_version_key, default=None)

    def get(self, version: str) -> XBuildEnv:
        for release in self.releases:
            if release.version == version:
                return release
        if self.source == OFFLINE_SOURCE:
            raise XBuildEnvError(
                f"cannot check xbuildenv {version!r}: the metadata is unreachable and only the "
                f"pinned default {PINNED_DEFAULT.version} is known (try --xbuildenv-metadata FILE)"
            )
        close = difflib.get_close_matches(version, [r.version for r in self.releases], n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise XBuildEnvError(f"unknown xbuildenv version {version!r}{hint}", file=self.source)

    def resolve(self, wanted: str | None, *, prereleases: bool = False) -> XBuildEnv:
        """``None`` or ``latest`` -> the newest release; otherwise that exact version."""
        if wanted in (None, "latest"):
            return self.latest(prereleases=prereleases)
        return self.get(wanted)


def _version_key(release: XBuildEnv) -> Any:
    from packaging.version import Version

    return Version(release.version)


def parse_metadata(data: Any, source: str) -> Catalog:
    """Validate metadata with pyodide-build's own ``CrossBuildEnvMetaSpec``.

    The result is kept in the cache directory under a digest of the metadata and of both
    parsers' versions: importing and running pyodide-build's model costs ~0.15 s of ``init``,
    and the same metadata always parses the same.
    """
    import hashlib

    from pyodide_build import __version__ as pyodide_build_version

    from smithy import __version__

    text = json.dumps(data, sort_keys=True)
    digest = hashlib.sha256(f"{__version__} {pyodide_build_version} {text}".encode())
    parsed = cache_dir() / f"xbuildenv-parsed-{digest.hexdigest()[:24]}.json"
    try:
        rows = json.loads(parsed.read_text(encoding="utf-8"))
        return Catalog(tuple(XBuildEnv(**row) for row in rows), source)
    except (OSError, ValueError, TypeError):
        pass  # no cache, or a broken one: parse again
    from pyodide_build.xbuildenv_releases import CrossBuildEnvMetaSpec

    try:
        spec = CrossBuildEnvMetaSpec.from_dict(data)
    except Exception as exc:
        raise XBuildEnvError(f"invalid xbuildenv metadata: {exc}", file=source) from exc
    try:
        releases = tuple(
            XBuildEnv(
                version=r.version,
                python_version=r.python_version,
                emscripten_version=r.emscripten_version,
                url=r.url,
                sha256=r.sha256,
                min_pyodide_build_version=r.min_pyodide_build_version,
                max_pyodide_build_version=r.max_pyodide_build_version,
                abi_version=_raw_abi(data, r.version),
            )
            for r in spec.releases.values()
        )
    except ValueError as exc:
        raise XBuildEnvError(f"invalid xbuildenv metadata: {exc}", file=source) from exc
    _write_cache(parsed, [asdict(r) for r in releases])
    return Catalog(releases, source)


def _raw_abi(data: Any, version: str) -> str | None:
    """The release's ``abi_version`` if the metadata carries one (pyodide-build's model keeps
    only the fields it knows)."""
    try:
        value = data["releases"][version].get("abi_version")
    except (KeyError, TypeError, AttributeError):
        return None
    return str(value) if value else None


def _read_source(source: str, *, retries: int = 3) -> Any:
    if source.startswith(("http://", "https://")):
        from smithy import http

        response = http.get(source, what="the xbuildenv metadata", retries=retries)
        try:
            return response.json()
        except ValueError as exc:
            raise XBuildEnvError("xbuildenv metadata is not JSON", file=source) from exc
    path = Path(source.removeprefix("file://"))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise XBuildEnvError("xbuildenv metadata file not found", file=path) from None
    except (OSError, ValueError) as exc:
        raise XBuildEnvError(f"cannot read xbuildenv metadata: {exc}", file=path) from exc


def load_catalog(metadata: str | None = None) -> Catalog:
    """The xbuildenv catalogue.

    An explicit ``metadata`` (URL or file) must load. Otherwise pyodide-build's environment
    variable or the default URL is read, through a one-hour cache; when it cannot be reached,
    a stale cache or else the release pinned in this code is used, with a warning.
    """
    if metadata is not None:
        return parse_metadata(_read_source(metadata), metadata)
    source = os.environ.get(METADATA_URL_ENV_VAR) or DEFAULT_METADATA_URL
    if not source.startswith(("http://", "https://")):
        return parse_metadata(_read_source(source), source)
    cached = _cache_path(source)
    if cached.is_file() and time.time() - cached.stat().st_mtime < CACHE_TTL_SECONDS:
        try:
            return parse_metadata(json.loads(cached.read_text(encoding="utf-8")), source)
        except (ValueError, XBuildEnvError):
            pass
    try:
        data = _read_source(source, retries=0)  # a fallback exists: fail fast
        catalog = parse_metadata(data, source)
    except (NetworkError, XBuildEnvError) as exc:
        if cached.is_file():
            console.warn(f"{exc}; using the cached copy from {time.ctime(cached.stat().st_mtime)}")
            return parse_metadata(json.loads(cached.read_text(encoding="utf-8")), source)
        console.warn(f"{exc}; using the pinned default xbuildenv {PINNED_DEFAULT.version}")
        return Catalog((PINNED_DEFAULT,), OFFLINE_SOURCE)
    _write_cache(cached, data)
    return catalog


def _cache_path(url: str) -> Path:
    import hashlib

    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return cache_dir() / f"xbuildenv-metadata-{digest}.json"


def _write_cache(path: Path, data: Any) -> None:
    from smithy.fsutil import write_atomic

    try:
        write_atomic(path, json.dumps(data).encode())
    except OSError as exc:
        console.warn(f"cannot cache the xbuildenv metadata in {path}: {exc}")
