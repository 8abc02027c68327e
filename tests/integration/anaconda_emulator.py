"""An Anaconda.org emulator on 127.0.0.1: the API, S3-style storage and the PyPI index.

Layout under one port: ``/api/...`` (api_url), ``/storage`` (the stage answers' post_url, and
where ``/download`` redirects) and ``/pypi/{owner}/[label/{label}/]simple/...`` (index_url).
Each behaviour cites its source (anaconda-client's code, captured responses; the names CLIENT
and FIXTURE are spelled out in ``anaconda_store``) where it is written.
"""

from __future__ import annotations

import email
import html
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from tests.integration.anaconda_store import (
    ATTRS_KEPT,
    ApiError,
    Store,
    normalize,
    s3_error,
    user_json,
)

Reply = tuple[int, bytes, dict[str, str]]
JSON = {"Content-Type": "application/json"}
CORS = {"Access-Control-Allow-Origin": "*"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
SEG = r"([^/]+)"
API_ROUTES = [
    (name, re.compile("/api" + rx))
    for name, rx in [
        ("root", r"/?"),
        ("me", r"/user"),
        ("user", rf"/user/{SEG}"),
        ("packages", rf"/packages/{SEG}"),
        ("package", rf"/package/{SEG}/{SEG}"),
        ("release", rf"/release/{SEG}/{SEG}/{SEG}"),
        ("dist", rf"/dist/{SEG}/{SEG}/{SEG}/{SEG}"),
        ("stage", rf"/stage/{SEG}/{SEG}/{SEG}/{SEG}"),
        ("commit", rf"/commit/{SEG}/{SEG}/{SEG}/{SEG}"),
        ("download", rf"/download/{SEG}/{SEG}/{SEG}/{SEG}"),
        ("copy", rf"/copy/package/{SEG}/{SEG}/{SEG}/([^/]*)"),
        ("channels", rf"/channels/{SEG}"),
        ("label", rf"/channels/{SEG}/{SEG}"),
    ]
]
INDEX = re.compile(rf"/pypi/{SEG}(?:/label/{SEG})?/simple(?:/{SEG}(?:/{SEG}/{SEG})?)?/?")


@dataclass
class Faults:
    """Misbehaviour to inject; mutable while the server runs (path regexes use ``re.search``).

    ``drop`` closes the connection before the request is handled; ``lose_answer`` handles it
    (the server's state changes) and then closes the connection without answering, as a
    network that cuts a connection on the way back does; ``redirect`` answers
    ``(method, path, status, location)`` with a redirect, as a misconfigured or hostile server
    might (no source says api.anaconda.org redirects API calls: the product must not follow
    one anywhere its token should not go); ``throttle`` answers ``(method, path, retry_after)``
    with 429 Too Many Requests, with a ``Retry-After`` header unless it is None (Anaconda's
    servers answer 429 when they rate-limit: conda/conda#14007, #13238; whether
    api.anaconda.org sends Retry-After no source shows, so both are injectable).

    Switches for what no source settles: ``delete_empties`` (deleting a release's last file
    deletes the release and package: the 2024 trap, scientific-python/upload-nightly-action#64);
    ``attrs_kept`` ("all", "flat" or "known", see ``anaconda_store.kept_attrs``).
    """

    latency: float = 0.0
    fail: list[tuple[str, str, int]] = field(default_factory=list)
    drop: list[tuple[str, str]] = field(default_factory=list)
    lose_answer: list[tuple[str, str]] = field(default_factory=list)
    redirect: list[tuple[str, str, int, str]] = field(default_factory=list)
    throttle: list[tuple[str, str, str | None]] = field(default_factory=list)
    delete_empties: bool = True
    attrs_kept: str = "all"


def json_reply(status: int, payload: Any) -> Reply:
    return status, json.dumps(payload).encode(), dict(JSON)


def not_found() -> Reply:
    """The index's 404: plain text and, like the real one, no CORS header."""
    return 404, b"Not Found", {"Content-Type": "text/plain"}


def parse_form(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    """``multipart/form-data`` fields in order, parsed with the stdlib email package."""
    message = email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    if not message.is_multipart():
        return []
    parts: list[Any] = list(message.get_payload())
    return [
        (str(part.get_param("name", header="content-disposition")), part.get_payload(decode=True))
        for part in parts
    ]


def html_page(title: str, links: list[tuple[str, str]]) -> bytes:
    rows = "".join(f'    <a href="{html.escape(h)}">{html.escape(t)}</a><br/>\n' for h, t in links)
    title = html.escape(title)
    return (
        f"<!DOCTYPE html>\n<html>\n  <head><title>{title}</title></head>\n  <body>\n"
        f"    <h1>{title}</h1>\n{rows}  </body>\n</html>\n"
    ).encode()


class AnacondaEmulator:
    """Anaconda.org on an ephemeral loopback port; every request is logged in ``requests``."""

    def __init__(self, *, sha256_fragments: bool = False) -> None:
        self.faults = Faults()
        self.requests: list[tuple[str, str]] = []
        self.with_token: list[tuple[str, str]] = []  # requests that carried an Authorization
        self.sha256_fragments = sha256_fragments
        self.lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.api_url, self.index_url, self.storage_url = (
            f"{base}/api",
            f"{base}/pypi",
            f"{base}/storage",
        )
        self.store = Store(self.api_url)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )

    # test-facing helpers ----------------------------------------------------------------------

    def add_owner(self, login: str, token: str) -> None:
        """A user whose token may write to its packages (call again to share a token with an org)."""
        with self.lock:
            self.store.add_owner(login, token)

    def count(self, method: str, path_regex: str) -> int:
        with self.lock:
            return sum(
                m == method.upper() and bool(re.fullmatch(path_regex, p)) for m, p in self.requests
            )

    def file_bytes(self, owner: str, package: str, version: str, basename: str) -> bytes:
        with self.lock:
            try:
                return self.store.file(owner, package, version, basename).data
            except ApiError as error:
                raise KeyError(f"{owner}/{package}/{version}/{basename}") from error

    def files(self, owner: str) -> list[dict[str, Any]]:
        with self.lock:
            if owner not in self.store.owners:
                return []
            return [self.store.file_json(owner, f) for f in self.store.all_files(owner)]

    def packages(self, owner: str) -> list[str]:
        """The owner's package names, spelled as created."""
        with self.lock:
            return sorted(self.store.owners.get(owner, {}))

    def seed_legacy_file(
        self,
        owner: str,
        package: str,
        version: str,
        path: Any,
        *,
        labels: tuple[str, ...] = ("main",),
        attrs: dict[str, Any] | None = None,
        md5: bool = True,
        description: str | None = None,
    ) -> None:
        """Put ``path`` (a wheel) on the channel as an old upload left it: ``"sha256": "None"``."""
        from pathlib import Path

        wheel = Path(path)
        with self.lock:
            self.store.seed_legacy(
                owner,
                package,
                version,
                wheel.name,
                wheel.read_bytes(),
                labels=list(labels),
                attrs=attrs or {"packagetype": "bdist_wheel"},
                md5=md5,
                description=description,
            )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # request handling -------------------------------------------------------------------------

    def before(self, method: str, path: str, headers: Any = None) -> str | int | Reply | None:
        """Log the request, sleep the latency; "drop", "lose", an injected reply, or None."""
        with self.lock:
            self.requests.append((method, path))
            if headers is not None and headers.get("Authorization"):
                self.with_token.append((method, path))
            fault = self._take(self.faults.drop, method, path) and "drop"
            fault = fault or (self._take(self.faults.lose_answer, method, path) and "lose")
            if not fault and (status := self._take(self.faults.fail, method, path)):
                fault = status[2]
            if not fault and (redirect := self._take(self.faults.redirect, method, path)):
                fault = (redirect[2], b"", {"Location": redirect[3]})
            if not fault and (throttle := self._take(self.faults.throttle, method, path)):
                status, payload, headers = json_reply(429, {"error": "Too many requests"})
                if throttle[2] is not None:
                    headers["Retry-After"] = throttle[2]
                fault = (status, payload, headers)
            if self.faults.attrs_kept not in ATTRS_KEPT:
                raise ValueError(f"attrs_kept must be one of {ATTRS_KEPT}")
            self.store.attrs_kept = self.faults.attrs_kept
            latency = self.faults.latency
        time.sleep(latency)
        return fault or None

    @staticmethod
    def _take(faults: list[Any], method: str, path: str) -> Any:
        """Remove and return the first fault matching the request, else None."""
        for i, fault in enumerate(faults):
            if fault[0].upper() in (method, "*") and re.search(fault[1], path):
                return faults.pop(i)
        return None

    def dispatch(self, method: str, path: str, headers: Any, body: bytes) -> Reply:
        if path in ("/storage", "/storage/") and method == "POST":
            return self.storage(headers, body)
        if path.startswith("/storage/download/") and method in ("GET", "HEAD"):
            parts = [unquote(p) for p in path.removeprefix("/storage/download/").split("/")]
            with self.lock:
                try:
                    data = self.store.file(*parts).data if len(parts) == 4 else None
                except ApiError:
                    data = None
            if data is None:
                return 404, s3_error("NoSuchKey", "The specified key does not exist.").encode(), {}
            return 200, data, {"Content-Type": "application/octet-stream", **CORS}
        if path == "/" and method in ("GET", "HEAD"):
            return json_reply(200, {})
        if (match := INDEX.fullmatch(path)) and method in ("GET", "HEAD"):
            owner, label, project, version, basename = (
                unquote(g) if g else g for g in match.groups()
            )
            with self.lock:
                return self.index(owner or "", label or "main", project, version, basename)
        auth = str(headers.get("Authorization") or "")
        token = auth[len("token ") :].strip() if auth.lower().startswith("token ") else None
        for name, rx in API_ROUTES:
            if match := rx.fullmatch(path):
                try:
                    payload = json.loads(body or b"{}")
                except ValueError:
                    return json_reply(400, {"error": "the body is not JSON"})
                args = [unquote(g) for g in match.groups()]
                with self.lock:
                    try:
                        return self.api(method, name, args, token, payload)
                    except ApiError as error:
                        return json_reply(error.status, {"error": error.message})
        return json_reply(404, {"error": f"no route for {method} {path}"})

    def api(  # noqa: PLR0912 (one branch per route, as in the doc's table)
        self, method: str, route: str, a: list[str], token: str | None, body: Any
    ) -> Reply:
        """One API call, with the lock held; raises ApiError for 4xx answers."""
        s = self.store
        body = body if isinstance(body, dict) else {}
        o, n, v, f = [*a, "", "", "", ""][:4]  # owner, name (or label), version, basename
        if method not in ("GET", "HEAD") and route not in ("root", "me", "user", "download"):
            s.check_write(token, str(body.get("to_owner") or o) if route == "copy" else o)
        match method, route:
            case ("GET" | "HEAD", "root"):
                return json_reply(200, {"ok": 1})
            case ("GET", "me"):
                return json_reply(200, user_json(s.login_for(token)))
            case ("GET", "user"):
                s.packages_of(o)
                return json_reply(200, user_json(o))
            case ("GET", "packages"):
                return json_reply(200, [s.package_json(o, p) for p in s.packages_of(o).values()])
            case ("GET", "package"):
                return json_reply(200, s.package_json(o, s.package(o, n)))
            case ("POST", "package"):
                return json_reply(200, s.package_json(o, s.create_package(o, n, body)))
            case ("PATCH", "package"):
                s.package(o, n).public_attrs.update(body.get("public_attrs") or {})
                return json_reply(200, s.package_json(o, s.package(o, n)))
            case ("DELETE", "package"):
                del s.packages_of(o)[s.package(o, n).name]
                return json_reply(201, {})
            case ("GET", "release"):
                return json_reply(200, s.release_json(o, s.package(o, n), s.release(o, n, v)))
            case ("POST", "release"):
                release = s.create_release(o, n, v, body)
                return json_reply(200, s.release_json(o, s.package(o, n), release))
            case ("PATCH", "release"):
                s.release(o, n, v).attrs.update(body.get("public_attrs") or {})
                return json_reply(200, s.release_json(o, s.package(o, n), s.release(o, n, v)))
            case ("DELETE", "release"):
                del s.package(o, n).releases[s.release(o, n, v).version]
                return json_reply(201, {})
            case ("GET", "dist"):
                return json_reply(200, s.file_json(o, s.file(o, n, v, f)))
            case ("DELETE", "dist"):
                removed = s.delete_file(o, n, v, f, empties=self.faults.delete_empties)
                return json_reply(200, s.file_json(o, removed))
            case ("POST", "stage"):
                staged = s.stage(o, n, v, f, body)
                form = {
                    "key": staged.key,
                    "acl": "public-read",
                    "success_action_status": "201",
                    "Content-Type": "application/octet-stream",
                    "AWSAccessKeyId": "EMULATOR",
                    "policy": "eyJlbXVsYXRvciI6IHRydWV9",
                    "signature": "emulator",
                }
                dist_id = staged.key.split("/")[1]
                return json_reply(
                    200, {"post_url": self.storage_url, "form_data": form, "dist_id": dist_id}
                )
            case ("POST", "commit"):
                committed = s.commit(o, n, v, f, str(body.get("dist_id")))
                info = s.file_json(o, committed)
                return json_reply(200, {**info, "url": info["download_url"]})
            case ("GET" | "HEAD", "download"):
                # 302 to storage, as anaconda-client's Binstar.download expects (CLIENT
                # __init__.py: 302 means "download from s3", fetched without the API headers).
                s.file(o, n, v, f)
                where = "/".join(quote(x, safe="") for x in (o, n, v, f))
                return 302, b"", {"Location": f"{self.storage_url}/download/{where}"}
            case ("POST" | "PUT" | "PATCH", "copy"):
                copied = s.copy(o, n, v, f, body=body, mode=method)
                owner = str(body.get("to_owner") or o)
                return json_reply(200, [s.file_json(owner, x) for x in copied])
            case ("GET", "channels"):
                return json_reply(200, s.channels(o))
            case ("GET", "label"):
                files = [s.file_json(o, x) for x in s.all_files(o) if n in x.labels]
                if not files:
                    raise ApiError(404, f"label {n} does not exist")
                return json_reply(200, {"name": n, "is_locked": False, "files": files})
            case ("POST" | "DELETE", "label"):
                s.set_label(o, n, body, add=method == "POST")
                return json_reply(201, {})
        raise ApiError(405, f"{method} is not allowed here")

    def storage(self, headers: Any, body: bytes) -> Reply:
        """The S3-style POST form upload: fields, then ``file``; fields after it are ignored."""
        xml = {"Content-Type": "application/xml"}
        if headers.get("Authorization"):
            return 400, s3_error("InvalidArgument", "Only one auth mechanism allowed").encode(), xml
        fields: dict[str, bytes] = {}
        data = None
        for name, value in parse_form(str(headers.get("Content-Type") or ""), body):
            if name == "file":
                data = value
                break
            fields[name] = value
        if data is None:
            message = "POST requires exactly one file upload per request."
            return 400, s3_error("InvalidArgument", message).encode(), xml
        with self.lock:
            error = self.store.receive(fields, data)
        if error is not None:
            return (403 if "AccessDenied" in error else 400), error.encode(), xml
        key = html.escape(fields["key"].decode())
        ok = f"<PostResponse><Bucket>emulator</Bucket><Key>{key}</Key></PostResponse>"
        return 201, ok.encode(), xml

    def index(
        self, owner: str, label: str, project: str | None, version: str | None, basename: str | None
    ) -> Reply:
        """PEP 503 HTML only (no PEP 691); names are looked up PEP 503-normalised.

        Packages whose spellings normalise alike (``scipy_openblas64``, ``scipy-openblas64``)
        share one project page here: no source shows what pypi.anaconda.org does with them.
        Files are listed release by release in upload order: no source shows the order
        pypi.anaconda.org lists them in (it decides which of two builds of one version
        micropip installs: the first listed of equal tags).
        """
        s = self.store
        if owner not in s.owners:
            return not_found()
        prefix = urlsplit(self.index_url).path + f"/{quote(owner)}"
        prefix += "/simple" if label == "main" else f"/label/{quote(label)}/simple"
        if project is None:
            names = sorted({normalize(f.package) for f in s.all_files(owner) if label in f.labels})
            links = [(f"{prefix}/{quote(n)}/", n) for n in names]
            return 200, html_page("Simple Index", links), {**HTML, **CORS}
        packages = [p for p in s.owners[owner].values() if normalize(p.name) == normalize(project)]
        if not packages:
            return not_found()
        if version is not None and basename is not None:
            for package in packages:
                found = package.releases.get(version)
                if found is not None and basename in found.files:
                    data = found.files[basename].data
                    return 200, data, {"Content-Type": "application/octet-stream", **CORS}
            return not_found()
        links = []
        for package in packages:
            for release in package.releases.values():
                for f in release.files.values():
                    if label in f.labels:
                        href = f"{prefix}/{quote(package.name)}/{quote(f.version, safe='')}/"
                        href += quote(f.basename, safe="")
                        href += f"#sha256={f.sha256}" if self.sha256_fragments else ""
                        links.append((href, f.basename))
        if not links:
            return not_found()
        package = packages[0]
        page = html_page(f"Links for {package.name}", links)
        return 200, page, {**HTML, **CORS}


def _make_handler(emu: AnacondaEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 1 << 16  # one write per answer: no Nagle and delayed-ACK stalls
        timeout = 120

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            body = self._read_body()
            fault = emu.before(self.command, path, self.headers)
            if fault == "drop":
                self.close_connection = True
                return
            if isinstance(fault, int):
                status, payload, headers = json_reply(fault, {"error": "injected"})
            elif isinstance(fault, tuple):
                status, payload, headers = fault
            else:
                try:
                    status, payload, headers = emu.dispatch(self.command, path, self.headers, body)
                except Exception as error:  # an emulator bug: answer as a server error would
                    status, payload, headers = json_reply(500, {"error": repr(error)})
                if fault == "lose":  # handled, and the answer never arrives
                    self.close_connection = True
                    return
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_emulator(*, sha256_fragments: bool = False) -> Iterator[AnacondaEmulator]:
    """Serve an empty Anaconda.org on 127.0.0.1 for the duration of the block."""
    emu = AnacondaEmulator(sha256_fragments=sha256_fragments)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()
