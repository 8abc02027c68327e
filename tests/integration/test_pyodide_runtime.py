"""A real Pyodide (npm ``pyodide``) in Node.js, offline from Pyodide's CDN: micropip installs
wheels from a package index served on 127.0.0.1.

The runtime is installed once per machine into ``.cache/pyodide-runtime`` at the top of the
checkout (or ``$PYODIDE_SMITHY_TEST_RUNTIME``); the first install needs the npm registry and
PyPI, later runs reuse it.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import re
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import pytest

from smithy.pyodide_runtime import PyodideRuntime, PyodideRuntimeError, install_runtime

Format = Literal["html", "json"]
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


# a package index on 127.0.0.1 --------------------------------------------------------------


@dataclass
class Index:
    """PEP 503 (HTML) or PEP 691 (JSON) simple pages for ``projects``, files under /files/."""

    format: Format
    absolute: bool = True  # file URLs in JSON pages: absolute, or relative to the page
    files: dict[str, bytes] = field(default_factory=dict)
    projects: dict[str, list[str]] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    base: str = ""

    def add(self, project: str, filename: str, body: bytes) -> None:
        self.files[filename] = body
        self.hashes[filename] = hashlib.sha256(body).hexdigest()
        self.projects.setdefault(project, []).append(filename)

    def page(self, project: str) -> tuple[bytes, str]:
        names = self.projects[project]
        if self.format == "html":
            links = "".join(
                f'<a href="../../files/{html.escape(name)}#sha256={self.hashes[name]}">'
                f"{html.escape(name)}</a><br>\n"
                for name in names
            )
            body = f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n"
            return body.encode(), "text/html"
        prefix = f"{self.base}/files/" if self.absolute else "../../files/"
        files = [
            {"filename": n, "url": prefix + n, "hashes": {"sha256": self.hashes[n]}} for n in names
        ]
        page = {"meta": {"api-version": "1.1"}, "name": project, "files": files}
        return json.dumps(page).encode(), JSON_TYPE


def _handler(index: Index) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = re.sub("/+", "/", self.path)  # micropip asks for {index_url}/{name}/
            index.hits.append(path)
            page = re.fullmatch(r"/simple/([^/]+)/", path)
            file = re.fullmatch(r"/files/([^/]+)", path)
            if page and page[1] in index.projects:
                self._send(200, *index.page(page[1]))
            elif file and file[1] in index.files:
                self._send(200, index.files[file[1]], "application/octet-stream")
            else:
                self._send(404, b"not found", "text/plain")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


Serve = Callable[[Index], Index]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """``serve(index)`` starts ``index`` on an ephemeral loopback port until the test ends."""
    servers: list[ThreadingHTTPServer] = []

    def start(index: Index) -> Index:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(index))
        index.base = f"http://127.0.0.1:{httpd.server_address[1]}"
        threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(httpd)
        return index

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def make_wheel(
    dist: str, version: str, files: dict[str, str], *, requires: tuple[str, ...] = ()
) -> tuple[str, bytes]:
    """A pure-Python wheel: ``files`` plus METADATA, WHEEL and a RECORD that lists them."""
    name = re.sub(r"[-_.]+", "_", dist).lower()
    info = f"{name}-{version}.dist-info"
    meta = [
        "Metadata-Version: 2.1",
        f"Name: {dist}",
        f"Version: {version}",
        *(f"Requires-Dist: {r}" for r in requires),
    ]
    contents = {
        **{path: text.encode() for path, text in files.items()},
        f"{info}/METADATA": ("\n".join(meta) + "\n").encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = [f"{path},sha256={_record_hash(data)},{len(data)}" for path, data in contents.items()]
    record.append(f"{info}/RECORD,,")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in contents.items():
            zf.writestr(path, data)
        zf.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return f"{name}-{version}-py3-none-any.whl", buffer.getvalue()


def _record_hash(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


TINY = {"tiny_pkg/__init__.py": 'GREETING = "hello from tiny-pkg"\n'}


# tests -------------------------------------------------------------------------------------


def test_python_314_starts_offline(pyodide_runtime: PyodideRuntime) -> None:
    started = time.perf_counter()
    proc = pyodide_runtime.run("import sys\nprint(sys.version)\nprint(sys.platform)")
    elapsed = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr
    version, platform = proc.stdout.splitlines()
    assert version.startswith("3.14.")
    assert platform == "emscripten"
    assert proc.stderr == ""  # Pyodide's "Loading micropip" messages are silenced
    print(f"one Pyodide run (Node start-up, micropip, the script): {elapsed:.1f} s")


@pytest.mark.parametrize("fmt", ["html", "json"])
def test_micropip_installs_a_wheel_from_a_loopback_index(
    pyodide_runtime: PyodideRuntime, serve: Serve, fmt: Format
) -> None:
    index = serve(Index(fmt))
    index.add("tiny-pkg", *make_wheel("tiny-pkg", "1.0", TINY))
    script = f"""
import micropip
await micropip.install("tiny-pkg", index_urls=["{index.base}/simple/"])
import tiny_pkg
print(tiny_pkg.GREETING)
print(micropip.list()["tiny-pkg"].version)
"""
    proc = pyodide_runtime.run(script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["hello from tiny-pkg", "1.0"]
    assert index.hits == ["/simple/tiny-pkg/", "/files/tiny_pkg-1.0-py3-none-any.whl"]


def test_micropip_needs_absolute_file_urls_in_a_json_index(
    pyodide_runtime: PyodideRuntime, serve: Serve
) -> None:
    """PEP 691 allows URLs relative to the page, but micropip 0.11 does not resolve them in
    JSON (it does in HTML): a channel's JSON pages must carry absolute URLs."""
    index = serve(Index("json", absolute=False))
    index.add("tiny-pkg", *make_wheel("tiny-pkg", "1.0", TINY))
    proc = pyodide_runtime.run(
        f'import micropip\nawait micropip.install("tiny-pkg", index_urls=["{index.base}/simple"])'
    )
    assert proc.returncode == 1
    assert "Cannot download from a non-remote location: '../../files/" in proc.stderr
    assert index.hits == ["/simple/tiny-pkg/"]


def test_a_failing_import_exits_1_with_the_traceback(pyodide_runtime: PyodideRuntime) -> None:
    proc = pyodide_runtime.run('print("before")\nimport not_a_module_anywhere\nprint("after")\n')
    assert proc.returncode == 1
    assert proc.stdout == "before\n"
    assert proc.stderr.startswith("Traceback (most recent call last):\n")
    assert "line 2, in <module>\n    import not_a_module_anywhere\n" in proc.stderr
    assert proc.stderr.endswith("ModuleNotFoundError: No module named 'not_a_module_anywhere'\n")
    assert "_pyodide" not in proc.stderr  # the runner's own frames are left out


def test_sys_exit_and_environment(pyodide_runtime: PyodideRuntime) -> None:
    script = 'import os, sys\nprint(os.environ["SMITHY_TEST"], end="")\nsys.exit(3)\n'
    proc = pyodide_runtime.run(script, env={"SMITHY_TEST": "value"})
    assert (proc.returncode, proc.stdout) == (3, "value")  # unterminated output is flushed


def test_a_dependency_comes_from_the_same_index(
    pyodide_runtime: PyodideRuntime, serve: Serve
) -> None:
    index = serve(Index("json"))
    index.add("tiny-pkg", *make_wheel("tiny-pkg", "1.0", TINY))
    app = {"app_pkg/__init__.py": "from tiny_pkg import GREETING\n\nMESSAGE = GREETING.upper()\n"}
    index.add("app-pkg", *make_wheel("app-pkg", "2.0", app, requires=("tiny-pkg>=1.0",)))
    script = f"""
import micropip
await micropip.install("app-pkg", index_urls=["{index.base}/simple/"])
import app_pkg
print(app_pkg.MESSAGE)
print(sorted(name for name in micropip.list() if name.endswith("-pkg")))
"""
    proc = pyodide_runtime.run(script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["HELLO FROM TINY-PKG", "['app-pkg', 'tiny-pkg']"]
    assert set(index.hits) == {
        "/simple/app-pkg/",
        "/simple/tiny-pkg/",
        "/files/app_pkg-2.0-py3-none-any.whl",
        "/files/tiny_pkg-1.0-py3-none-any.whl",
    }


def test_micropip_refuses_a_wheel_whose_hash_the_index_misstates(
    pyodide_runtime: PyodideRuntime, serve: Serve
) -> None:
    index = serve(Index("html"))
    filename, body = make_wheel("tiny-pkg", "1.0", TINY)
    index.add("tiny-pkg", filename, body)
    index.hashes[filename] = hashlib.sha256(b"something else").hexdigest()
    proc = pyodide_runtime.run(
        f'import micropip\nawait micropip.install("tiny-pkg", index_urls=["{index.base}/simple/"])'
    )
    assert proc.returncode == 1
    assert "Invalid checksum" in proc.stderr


def test_a_package_only_the_cdn_has_is_not_downloaded(pyodide_runtime: PyodideRuntime) -> None:
    """``packaging`` is in Pyodide's lock but its wheel lives on the CDN: loading it fails
    locally, and nothing is fetched or written into the runtime's folder."""
    before = sorted(p.name for p in pyodide_runtime.package_dir.iterdir())
    script = """
import pyodide_js
await pyodide_js.loadPackage("packaging")
import packaging
"""
    proc = pyodide_runtime.run(script)
    assert proc.returncode == 1
    assert f"attempting to load from {pyodide_runtime.package_dir}/" in proc.stderr
    assert "cdn.jsdelivr.net" not in proc.stderr
    assert "ModuleNotFoundError: No module named 'packaging'" in proc.stderr
    assert sorted(p.name for p in pyodide_runtime.package_dir.iterdir()) == before


def test_without_node_a_one_line_error_names_what_to_install(
    pyodide_runtime: PyodideRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(PyodideRuntimeError, match=r"^`node` was not found on PATH: install Node"):
        install_runtime(tmp_path / "runtime")
    # An installed runtime is reused without npm, but running it needs Node.
    assert install_runtime(pyodide_runtime.root) == pyodide_runtime
    with pytest.raises(PyodideRuntimeError, match="`node` was not found") as caught:
        pyodide_runtime.run("pass")
    assert caught.value.exit_code == 14
