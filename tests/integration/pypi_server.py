"""A fake package index served over real HTTP on 127.0.0.1, and archives to fill it.

Project pages answer as PyPI's simple API does, read in its server (pypi/warehouse):
- JSON (PEP 691) or HTML (PEP 503) by the request's ``Accept``, the highest quality winning and
  ties going to HTML, which is also the answer to no ``Accept`` at all
  (``warehouse/api/simple.py``, ``_select_content_type``), with ``Vary: Accept``;
- an ETag on every 200, the md5 of the body in unpadded base64 as webob's ``md5_etag()`` makes
  it, and 304 with no body to an ``If-None-Match`` that matches
  (``warehouse/cache/http.py``, ``conditional_http_tween_factory``; pip's real exchange with
  ``pypi.org/simple/pathspec/``, ETag ``"6j7jYrx+Voyo/1POxZg3AQ"`` answered 304, is quoted in
  pypi/warehouse#14457);
- no Last-Modified: the simple views set none, so ``If-Modified-Since`` alone is answered 200.
  ``FakeIndex(last_modified=True)`` sends one and honours ``If-Modified-Since`` (when no
  ``If-None-Match`` is sent, as RFC 9110 13.1.3 orders them), like a mirror served by nginx;
- yanked files (PEP 592: ``yanked`` / ``data-yanked``) and metadata files (PEP 658/714:
  ``core-metadata`` / ``data-core-metadata`` and ``data-dist-info-metadata``) in both forms.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import io
import json
import random
import re
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
# Warehouse's offers, in its order: ties in quality go to the first.
PAGE_TYPES = ("text/html", HTML_TYPE, JSON_TYPE)


@dataclass
class Served:
    body: bytes
    content_type: str = "application/octet-stream"
    ranges: bool = True
    html: bytes | None = None  # a project page's PEP 503 form, for clients that ask for HTML
    last_modified: float | None = None  # sent (and honoured) when the index sends Last-Modified


@dataclass
class Hit:
    path: str
    range: str | None
    status: int
    sent: int
    accept: str | None = None
    if_none_match: str | None = None
    if_modified_since: str | None = None


@dataclass
class FakeIndex:
    routes: dict[str, Served] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    base: str = ""
    last_modified: bool = False  # PyPI sends none; a static mirror does
    delay: float = 0.0  # seconds each project page waits before its answer: a network's latency

    def add_project(
        self, name: str, files: list[dict[str, Any]], *, absolute: bool = False
    ) -> None:
        """``files``: dicts with filename, body and optional metadata, ranges, extra JSON keys."""
        entries = []
        for spec in files:
            filename, body = spec["filename"], spec["body"]
            self.routes[f"/files/{filename}"] = Served(body, ranges=spec.get("ranges", True))
            url = f"{self.base}/files/{filename}" if absolute else f"../../files/{filename}"
            entry = {"filename": filename, "url": url, "hashes": {"sha256": sha256(body)}}
            if spec.get("size", True):
                entry["size"] = len(body)
            if (metadata := spec.get("metadata")) is not None:
                self.routes[f"/files/{filename}.metadata"] = Served(metadata)
                entry["core-metadata"] = {"sha256": sha256(metadata)}
            entry.update(spec.get("json", {}))
            entries.append(entry)
        page = {"meta": {"api-version": "1.1"}, "name": name, "files": entries}
        path = f"/simple/{name}/"
        # HTTP dates count seconds: a page changed within the second of its last change is
        # stamped a second later, so If-Modified-Since never takes it for unchanged.
        before = self.routes[path].last_modified if path in self.routes else None
        stamp = max(float(int(time.time())), (before or 0.0) + 1.0)
        self.routes[path] = Served(
            json.dumps(page).encode(),
            JSON_TYPE,
            html=html_page(name, entries),
            last_modified=stamp if self.last_modified else None,
        )

    def pages_served(self, name: str) -> list[Hit]:
        """Requests for project ``name``'s page, in order (200s, 304s and 404s alike)."""
        return [hit for hit in self.hits if hit.path == f"/simple/{name}/"]

    def requests_for(self, filename: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.path == f"/files/{filename}"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def html_page(name: str, entries: list[dict[str, Any]]) -> bytes:
    """The PEP 503 page of the same files (PEP 592 yanks, PEP 658/714 metadata attributes)."""
    links = []
    for entry in entries:
        href = f"{entry['url']}#sha256={entry['hashes']['sha256']}"
        attrs = [f'href="{html.escape(href)}"']
        if requires := entry.get("requires-python"):
            attrs.append(f'data-requires-python="{html.escape(requires)}"')
        if yanked := entry.get("yanked"):
            reason = yanked if isinstance(yanked, str) else ""
            attrs.append(f'data-yanked="{html.escape(reason)}"')
        if isinstance(metadata := entry.get("core-metadata"), dict):
            value = f"sha256={metadata['sha256']}"
            attrs += [f'data-dist-info-metadata="{value}"', f'data-core-metadata="{value}"']
        links.append(f"    <a {' '.join(attrs)}>{html.escape(entry['filename'])}</a><br />")
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        "  <head>",
        '    <meta name="pypi:repository-version" content="1.1">',
        f"    <title>Links for {html.escape(name)}</title>",
        "  </head>",
        "  <body>",
        f"    <h1>Links for {html.escape(name)}</h1>",
        *links,
        "  </body>",
        "</html>",
    ]
    return ("\n".join(lines) + "\n").encode()


def etag(body: bytes) -> str:
    """webob's ``md5_etag()``: the body's md5 in base64 without its padding, quoted."""
    return '"' + base64.b64encode(hashlib.md5(body).digest()).decode().rstrip("=") + '"'


def negotiate(accept: str | None) -> str:
    """The page type Warehouse answers ``accept`` with (highest quality, ties to the first
    offer; HTML when nothing matches)."""
    best, best_q = "text/html", 0.0
    for offer in PAGE_TYPES:
        q = _quality(accept or "*/*", offer)
        if q > best_q:
            best, best_q = offer, q
    return best


def _quality(accept: str, offer: str) -> float:
    found: dict[int, float] = {}  # specificity -> q: type/subtype beats type/* beats */*
    for part in accept.split(","):
        media, *params = [piece.strip() for piece in part.split(";")]
        q = next((float(p[2:]) for p in params if p.startswith("q=")), 1.0)
        media = media.lower()
        if media == offer:
            found[2] = q
        elif media.endswith("/*") and offer.startswith(media[:-1]):
            found.setdefault(1, q)
        elif media == "*/*":
            found.setdefault(0, q)
    return found[max(found)] if found else 0.0


def _not_modified(served: Served, tag: str, headers: Any) -> bool:
    if (match := headers.get("If-None-Match")) is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return "*" in tags or tag in tags
    since = headers.get("If-Modified-Since")
    if since is None or served.last_modified is None:
        return False
    try:
        return int(served.last_modified) <= parsedate_to_datetime(since).timestamp()
    except (TypeError, ValueError):
        return False


def make_handler(index: FakeIndex) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served = index.routes.get(self.path)
            range_header = self.headers.get("Range")
            if served is None:
                self._send(404, b"not found", "text/plain")
                return
            if served.html is not None:  # a project page: negotiated and conditional
                self._page(served)
                return
            body, status, extra = served.body, 200, {}
            if range_header and served.ranges:
                match = re.fullmatch(r"bytes=(\d*)-(\d*)", range_header)
                assert match is not None, range_header
                if match[1]:
                    first = int(match[1])
                    last = min(int(match[2]) if match[2] else len(body) - 1, len(body) - 1)
                else:
                    first, last = max(0, len(body) - int(match[2])), len(body) - 1
                if first >= len(body) or first > last:
                    self._send(416, b"", "text/plain")
                    return
                body, status = body[first : last + 1], 206
                extra["Content-Range"] = f"bytes {first}-{last}/{len(served.body)}"
            self._send(status, body, served.content_type, extra)

        def _page(self, served: Served) -> None:
            time.sleep(index.delay)
            kind = negotiate(self.headers.get("Accept"))
            assert served.html is not None
            body = served.body if kind == JSON_TYPE else served.html
            tag = etag(body)
            extra = {"ETag": tag, "Vary": "Accept", "Cache-Control": "max-age=600, public"}
            if served.last_modified is not None:
                extra["Last-Modified"] = formatdate(served.last_modified, usegmt=True)
            if _not_modified(served, tag, self.headers):
                self._send(304, b"", "", extra)
                return
            self._send(200, body, kind, extra)

        def _send(
            self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
        ) -> None:
            headers = self.headers
            index.hits.append(
                Hit(
                    self.path,
                    headers.get("Range"),
                    status,
                    len(body),
                    headers.get("Accept"),
                    headers.get("If-None-Match"),
                    headers.get("If-Modified-Since"),
                )
            )
            self.send_response(status)
            if status != 304:  # a 304 has no body, so no Content-Type or Content-Length
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


# archives -------------------------------------------------------------------------------------


def metadata(name: str, version: str, *headers: str) -> bytes:
    lines = ["Metadata-Version: 2.4", f"Name: {name}", f"Version: {version}", *headers]
    return ("\n".join(lines) + "\n\nThe long description.\n").encode()


def noise(size: int) -> bytes:
    """Incompressible bytes, to make an archive bigger than the first range request."""
    return random.Random(size).randbytes(size)


def wheel(
    dist: str,
    version: str,
    tag: str,
    files: dict[str, bytes],
    meta: bytes,
    *,
    top_level: str | None = None,
) -> dict[str, Any]:
    buffer = io.BytesIO()
    info = f"{dist}-{version}.dist-info"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr(f"{info}/METADATA", meta)
        zf.writestr(f"{info}/WHEEL", f"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {tag}\n")
        zf.writestr(f"{info}/RECORD", "")
        if top_level is not None:
            zf.writestr(f"{info}/top_level.txt", top_level)
    return {"filename": f"{dist}-{version}-{tag}.whl", "body": buffer.getvalue()}


def sdist(
    dist: str, version: str, files: dict[str, bytes], *, zip_: bool = False
) -> dict[str, Any]:
    root = f"{dist}-{version}"
    buffer = io.BytesIO()
    if zip_:
        with zipfile.ZipFile(buffer, "w") as zf:
            for name, data in files.items():
                zf.writestr(f"{root}/{name}", data)
    else:  # gzip's header time fixed: the same files make the same bytes, as a release does
        with (
            gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz,
            tarfile.open(fileobj=gz, mode="w") as tf,
        ):
            for name, data in files.items():
                member = tarfile.TarInfo(f"{root}/{name}")
                member.size = len(data)
                tf.addfile(member, io.BytesIO(data))
    return {"filename": f"{root}.{'zip' if zip_ else 'tar.gz'}", "body": buffer.getvalue()}


@contextmanager
def serve(index: FakeIndex) -> Iterator[FakeIndex]:
    """Serve ``index`` on an ephemeral loopback port for the duration of the block."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(index))
    index.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield index
    finally:
        httpd.shutdown()
        httpd.server_close()
