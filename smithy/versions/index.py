"""The package index as the bot's version check asks it: one conditional request per project.

Each project page (the simple API, PEP 691 JSON preferred, PEP 503 HTML accepted) is kept on
disk with its validators; the next check sends them back (``If-None-Match``,
``If-Modified-Since``) and a 304 reuses the kept page, so a check of 300 feedstocks is 300
requests, mostly answered with no body.

What PyPI does (read in its server, pypi/warehouse): every GET answered 200 gets an ETag, the
md5 of the body (``warehouse/cache/http.py``, ``conditional_http_tween_factory``: webob's
``md5_etag()`` and ``conditional_response``), so a matching ``If-None-Match`` is answered 304;
simple pages set no Last-Modified, so ``If-Modified-Since`` alone gets a 200 there (mirrors
served as static files, e.g. by nginx, send Last-Modified too, hence both). The simple views
negotiate JSON or HTML on ``Accept`` and say ``Vary: Accept`` (``warehouse/api/simple.py``), so
the ETag is that of the representation asked for; pip's own exchange with a 304 from
``pypi.org/simple/pathspec/`` is quoted in pypi/warehouse#14457. A missing project is a plain
404.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smithy.errors import NetworkError, SmithyError
from smithy.recipe.pypi_index import (
    JSON_ACCEPT,
    IndexFile,
    index_url_from_env,
    parse_files,
    redact,
)

if TYPE_CHECKING:
    import requests

HTML_ACCEPT = "application/vnd.pypi.simple.v1+html"
# JSON first; HTML for indexes that have no JSON (pip asks the same way).
ACCEPT = f"{JSON_ACCEPT}, {HTML_ACCEPT};q=0.1, text/html;q=0.01"
CACHE_FORMAT = 1


@dataclass(frozen=True)
class _Page:
    """A project page as kept on disk: body and the validators it came with."""

    url: str  # where it was answered from (after redirects): relative file URLs resolve there
    content_type: str
    etag: str | None
    last_modified: str | None
    body: bytes


class IndexClient:
    """A package index's simple API for many projects at once, cached by validators.

    ``index_url`` defaults to ``PYODIDE_SMITHY_INDEX_URL``/``PIP_INDEX_URL``/PyPI; ``cache``
    to ``<cache dir>/index-pages``; ``jobs`` is how many requests run at once. ``requests``
    counts the HTTP requests made (pages, metadata files, downloads).
    """

    def __init__(
        self, index_url: str | None = None, *, cache: Path | None = None, jobs: int = 16
    ) -> None:
        from smithy.paths import cache_dir

        url = index_url or index_url_from_env()
        self.index = url if url.endswith("/") else url + "/"
        self.cache = cache if cache is not None else cache_dir() / "index-pages"
        self.jobs = max(1, jobs)
        self.requests = 0
        self._lock = threading.Lock()
        self._http: requests.Session | None = None
        self._read: dict[str, list[IndexFile] | None] = {}  # the pages this client read

    # pages --------------------------------------------------------------------------------

    def project(self, name: str) -> list[IndexFile] | None:
        """The files of project ``name``; None when the index has no such project (404)."""
        from packaging.utils import canonicalize_name

        page_url = f"{self.index}{canonicalize_name(name)}/"
        files = self._fetch(name, page_url)
        with self._lock:
            self._read[page_url] = files
        return files

    def seen(self, name: str) -> list[IndexFile] | None:
        """What :meth:`project` last answered for ``name`` through this client, asking the
        index only when it never did."""
        from packaging.utils import canonicalize_name

        page_url = f"{self.index}{canonicalize_name(name)}/"
        with self._lock:
            if page_url in self._read:
                return self._read[page_url]
        return self.project(name)

    def _fetch(self, name: str, page_url: str) -> list[IndexFile] | None:
        kept = self._read_cache(page_url)
        headers = {"Accept": ACCEPT}
        if kept is not None and kept.etag:
            headers["If-None-Match"] = kept.etag
        if kept is not None and kept.last_modified:
            headers["If-Modified-Since"] = kept.last_modified
        response = self._get(page_url, headers=headers, what=f"the index page of {name}")
        if response.status_code == 404:
            self._forget(page_url)
            return None
        if response.status_code == 304 and kept is not None:
            page = kept
        elif response.status_code == 200:
            page = _Page(
                url=response.url or page_url,
                content_type=response.headers.get("Content-Type", ""),
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                body=response.content,
            )
            self._write_cache(page_url, page)
        else:
            raise self._failure(name, f"answered HTTP {response.status_code}")
        return self._parse(page, name)

    def projects(
        self, names: Iterable[str], *, errors: dict[str, SmithyError] | None = None
    ) -> dict[str, list[IndexFile] | None]:
        """:meth:`project` of each name, ``jobs`` at a time; one request per project (names
        that normalize alike share it). A project that fails goes into ``errors`` when given
        (and is left out of the answer), else the first failure is raised once all are done."""
        from packaging.utils import canonicalize_name

        wanted = list(dict.fromkeys(names))
        unique = list(dict.fromkeys(canonicalize_name(n) for n in wanted))

        def one(name: str) -> list[IndexFile] | SmithyError | None:
            try:
                return self.project(name)
            except SmithyError as exc:
                return exc

        if not unique:
            return {}
        with ThreadPoolExecutor(max_workers=min(self.jobs, len(unique))) as pool:
            answers = dict(zip(unique, pool.map(one, unique), strict=True))
        out: dict[str, list[IndexFile] | None] = {}
        for name in wanted:
            answer = answers[canonicalize_name(name)]
            if isinstance(answer, SmithyError):
                if errors is None:
                    raise answer
                errors[name] = answer
            else:
                out[name] = answer
        return out

    # files --------------------------------------------------------------------------------

    def metadata(self, file: IndexFile) -> bytes | None:
        """The core metadata the index serves beside ``file`` (PEP 658/714: its URL plus
        ``.metadata``), checked against the hash the page gives; None when none is served."""
        if not file.metadata:
            return None
        url = file.url + ".metadata"
        response = self._get(url, headers={}, what=f"the metadata of {file.filename}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            status = response.status_code
            raise self._failure(file.filename, f"answered HTTP {status} for its metadata")
        if file.metadata_sha256 and _sha256(response.content) != file.metadata_sha256.lower():
            raise self._failure(file.filename, "served metadata that does not match its sha256")
        return response.content

    def download(self, file: IndexFile) -> bytes:
        """``file``'s bytes, checked against the sha256 the index gives."""
        response = self._get(file.url, headers={}, what=file.filename)
        if response.status_code != 200:
            raise self._failure(file.filename, f"answered HTTP {response.status_code}")
        if _sha256(response.content) != file.sha256:
            raise self._failure(file.filename, "served a file that does not match its sha256")
        return response.content

    # the one network call -------------------------------------------------------------------

    def _get(self, url: str, *, headers: dict[str, str], what: str) -> requests.Response:
        """GET ``url``; any answer comes back, a failure to get one is a NetworkError."""
        import requests

        from smithy import http

        with self._lock:
            self.requests += 1
        try:
            return self._session().get(url, headers=headers, timeout=http.TIMEOUT)
        except requests.RequestException as exc:
            raise NetworkError(
                f"cannot reach the package index {redact(self.index)} for {what}: "
                f"{http.reason(exc)}"
            ) from exc

    def _session(self) -> requests.Session:
        """The shared session's retry policy and headers, with a connection pool as large as
        ``jobs`` (the shared one keeps 10; more threads would open and drop connections)."""
        with self._lock:
            if self._http is None:
                import requests
                from requests.adapters import HTTPAdapter

                from smithy import http

                shared = http.session()
                adapter = HTTPAdapter(
                    max_retries=shared.get_adapter("https://").max_retries,  # type: ignore[attr-defined]
                    pool_maxsize=self.jobs,
                )
                session = requests.Session()
                session.headers.update(shared.headers)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                self._http = session
            return self._http

    def _failure(self, what: str, problem: str) -> NetworkError:
        return NetworkError(f"the package index {redact(self.index)} {problem} for {what}")

    # parsing ------------------------------------------------------------------------------

    def _parse(self, page: _Page, name: str) -> list[IndexFile]:
        kind = page.content_type.split(";", 1)[0].strip().lower()
        try:
            if "html" in kind:
                from smithy.versions.html_page import html_files

                entries = html_files(page.body.decode("utf-8", "replace"), page.url)
            else:
                data = json.loads(page.body)
                major = str(data.get("meta", {}).get("api-version", "1")).split(".", 1)[0]
                if major != "1":
                    raise self._failure(name, f"speaks simple API version {major}, not 1")
                entries = data["files"]
            return parse_files(entries, page.url)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise self._failure(
                name, "did not answer with a simple API page (PEP 691 JSON or PEP 503 HTML)"
            ) from exc

    # the cache on disk ----------------------------------------------------------------------

    def _cache_path(self, page_url: str) -> Path:
        return self.cache / (_sha256(f"{page_url}\n{ACCEPT}".encode())[:40] + ".page")

    def _read_cache(self, page_url: str) -> _Page | None:
        """The kept page, or None (absent, unreadable, of another format: asked afresh)."""
        try:
            raw = self._cache_path(page_url).read_bytes()
            header, _, body = raw.partition(b"\n")
            meta: dict[str, Any] = json.loads(header)
            if meta.get("format") != CACHE_FORMAT or meta.get("sha256") != _sha256(body):
                return None
            return _Page(
                url=meta.get("url") or page_url,
                content_type=str(meta["content_type"]),
                etag=meta.get("etag"),
                last_modified=meta.get("last_modified"),
                body=body,
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def _write_cache(self, page_url: str, page: _Page) -> None:
        """Keep ``page`` when it has a validator to send back; never a URL with credentials."""
        from urllib.parse import urlsplit

        from smithy.fsutil import write_atomic

        moved = None if page.url == page_url else page.url
        if not (page.etag or page.last_modified) or (moved and "@" in urlsplit(moved).netloc):
            self._forget(page_url)
            return
        meta = {
            "format": CACHE_FORMAT,
            "url": moved,
            "content_type": page.content_type,
            "etag": page.etag,
            "last_modified": page.last_modified,
            "sha256": _sha256(page.body),
        }
        # A cache that cannot be written costs a full page next time, nothing more.
        with contextlib.suppress(OSError):
            write_atomic(self._cache_path(page_url), json.dumps(meta).encode() + b"\n" + page.body)

    def _forget(self, page_url: str) -> None:
        with contextlib.suppress(OSError):
            self._cache_path(page_url).unlink(missing_ok=True)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
