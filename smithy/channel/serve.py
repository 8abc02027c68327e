"""``channel serve``: a local channel over HTTP, with CORS, for micropip in a browser or Node.

URLs mirror Anaconda.org's: ``/simple/`` is the main label, ``/label/<label>/simple/`` the
others. Project pages answer PEP 691 JSON when asked for it, PEP 503 HTML otherwise, and accept
names as written (``/simple/Tiny_Pkg/``).
"""

from __future__ import annotations

import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from smithy.channel.model import MAIN
from smithy.channel.simple_pages import JSON_TYPE
from smithy.recipe.model import normalize

_ROUTE = re.compile(r"^/(?:label/(?P<label>[^/]+)/)?(?P<kind>simple|files)(?:/(?P<rest>.*))?$")


def make_server(root: Path, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    root = root.absolute()

    class Handler(BaseHTTPRequestHandler):
        server_version = "pyodide-smithy"

        def do_GET(self) -> None:
            self._answer(body=True)

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_OPTIONS(self) -> None:
            self.send_response(204)
            self._cors()
            self.end_headers()

        def _answer(self, *, body: bool) -> None:
            found = _resolve(
                root, unquote(urlsplit(self.path).path), self.headers.get("Accept", "")
            )
            if found is None:
                self._send(404, b"not found\n", "text/plain", body=body)
                return
            path, content_type = found
            data = path.read_bytes()
            if content_type == JSON_TYPE:
                # micropip 0.11 does not resolve relative URLs in PEP 691 JSON: make them absolute.
                here = f"http://{self.headers.get('Host', 'localhost')}{urlsplit(self.path).path}"
                data = _absolute(data, here)
            self._send(200, data, content_type, body=body)

        def _send(self, status: int, data: bytes, content_type: str, *, body: bool) -> None:
            self.send_response(status)
            self._cors()
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            if body:
                self.wfile.write(data)

        def _cors(self) -> None:
            # On every answer, 404s included: micropip falls back to its next index only if it
            # may read the 404.
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Headers", "*")

        def log_message(self, format: str, *args: object) -> None:
            from smithy import console

            console.info(f"{self.address_string()} {format % args}")

    return ThreadingHTTPServer((host, port), Handler)


def _absolute(page: bytes, base: str) -> bytes:
    import json
    from urllib.parse import urljoin

    data = json.loads(page)
    for entry in data.get("files", []):
        entry["url"] = urljoin(base, entry["url"])
    return json.dumps(data).encode()


def _resolve(root: Path, path: str, accept: str) -> tuple[Path, str] | None:
    match = _ROUTE.match(path)
    if match is None:
        return None
    label = match["label"] or MAIN
    rest = [p for p in (match["rest"] or "").split("/") if p]
    if any(p in (".", "..") for p in [label, *rest]):
        return None
    base = root / label / match["kind"]
    if match["kind"] == "files":
        target = base.joinpath(*rest)
        return (target, "application/octet-stream") if rest and target.is_file() else None
    if len(rest) > 1:
        return None
    folder = base / normalize(rest[0]) if rest else base
    wants_json = JSON_TYPE in accept and "text/html" not in accept.split(JSON_TYPE, maxsplit=1)[0]
    page = folder / ("index.json" if wants_json else "index.html")
    if not page.is_file():
        return None
    return page, (JSON_TYPE if wants_json else "text/html; charset=utf-8")
