"""A fake PEP 691 package index served over real HTTP on 127.0.0.1, and archives to fill it."""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


@dataclass
class Served:
    body: bytes
    content_type: str = "application/octet-stream"
    ranges: bool = True


@dataclass
class Hit:
    path: str
    range: str | None
    status: int
    sent: int


@dataclass
class FakeIndex:
    routes: dict[str, Served] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    base: str = ""

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
        self.routes[f"/simple/{name}/"] = Served(json.dumps(page).encode(), JSON_TYPE)

    def requests_for(self, filename: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.path == f"/files/{filename}"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_handler(index: FakeIndex) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served = index.routes.get(self.path)
            range_header = self.headers.get("Range")
            if served is None:
                self._send(404, b"not found", "text/plain")
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

        def _send(
            self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
        ) -> None:
            index.hits.append(Hit(self.path, self.headers.get("Range"), status, len(body)))
            self.send_response(status)
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
    else:
        with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
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
