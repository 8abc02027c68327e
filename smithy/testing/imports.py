"""Step 1: in one Pyodide start-up, micropip installs the built wheels, then each import runs.

micropip resolves from index URLs only: the wheels of ``dist/`` (a temporary local channel
served on 127.0.0.1), then the feedstock's channel, then the package index for pure-Python
dependencies. Pyodide starts with a lock that lists no packages, so micropip never falls back
to a package of Pyodide's own lock (those live on the CDN, which is never used). Each import
is tried on its own; the script prints every outcome as JSON on one marker line, with what
micropip installed and from which URL (step 2's lock lists the same wheels).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smithy.pyodide_runtime import PyodideRuntime
from smithy.testing.report import ImportOutcome, PyodideTestError

MARKER = "@@pyodide-smithy-test@@"
TIMEOUT = 600

_SCRIPT = """
import ctypes, importlib.metadata, json, sys, traceback
import micropip

requirements = json.loads({requirements!r})
index_urls = json.loads({index_urls!r})
names = json.loads({names!r})
libraries = json.loads({libraries!r})
result = {{"install_error": None, "imports": [], "installed": []}}
try:
    await micropip.install(requirements, index_urls=index_urls, keep_going=True)
except BaseException as exc:
    result["install_error"] = "".join(traceback.format_exception_only(exc)).strip()
else:
    for dist in importlib.metadata.distributions():
        url = dist.read_text("PYODIDE_URL")  # written by micropip
        if url:
            sha256 = (dist.read_text("PYODIDE_SHA256") or "").strip()
            entry = {{"name": dist.metadata["Name"], "version": dist.version}}
            result["installed"].append({{**entry, "url": url.strip(), "sha256": sha256}})
    for name in names:
        try:
            __import__(name)
        except BaseException as exc:
            # Without this frame: the traceback starts in the package itself.
            lines = traceback.format_exception(type(exc), exc, exc.__traceback__.tb_next)
            result["imports"].append({{"name": name, "ok": False, "traceback": "".join(lines)}})
        else:
            result["imports"].append({{"name": name, "ok": True, "traceback": None}})
    for library in libraries:  # by bare name, through LD_LIBRARY_PATH, as dependents do
        name = f"{{library}} (shared library)"
        try:
            ctypes.CDLL(library)
        except BaseException as exc:
            text = "".join(traceback.format_exception_only(exc))
            result["imports"].append({{"name": name, "ok": False, "traceback": text}})
        else:
            result["imports"].append({{"name": name, "ok": True, "traceback": None}})
sys.stdout.flush()
print()
print({marker!r} + json.dumps(result))
"""


@dataclass(frozen=True, kw_only=True)
class Installed:
    """A distribution micropip installed, and the file it came from."""

    name: str
    version: str
    url: str
    sha256: str

    @property
    def filename(self) -> str:
        from urllib.parse import unquote, urldefrag

        return unquote(urldefrag(self.url).url.rsplit("/", 1)[-1])


@dataclass(frozen=True, kw_only=True)
class ImportCheck:
    install_error: str | None  # micropip's error: then no import ran
    imports: tuple[ImportOutcome, ...]
    installed: tuple[Installed, ...]


def check_imports(
    runtime: PyodideRuntime,
    *,
    requirements: list[str],
    index_urls: list[str],
    names: tuple[str, ...],
    libraries: tuple[str, ...] = (),
) -> ImportCheck:
    """Install ``requirements`` from ``index_urls`` with micropip, then import each name and
    load each shared library by its bare name (``ctypes.CDLL("libx.so")``)."""
    script = _SCRIPT.format(
        requirements=json.dumps(requirements),
        index_urls=json.dumps([url.rstrip("/") for url in index_urls]),
        names=json.dumps(list(names)),
        libraries=json.dumps(list(libraries)),
        marker=MARKER,
    )
    with tempfile.TemporaryDirectory(prefix="pyodide-smithy-imports-") as tmp:
        lock = Path(tmp) / "pyodide-lock.json"
        lock.write_text(json.dumps(_empty_lock(runtime)), encoding="utf-8")
        run = runtime.run(script, timeout=TIMEOUT, lock_file_url=str(lock))
    result = _parse(run.stdout)
    if result is None:
        tail = "\n".join((run.stderr or run.stdout).strip().splitlines()[-15:])
        raise PyodideTestError(
            f"the import check in Pyodide ended (exit {run.returncode}) without a result:\n{tail}"
        )
    install_error = result.get("install_error")
    return ImportCheck(
        install_error=str(install_error) if install_error is not None else None,
        imports=tuple(
            ImportOutcome(name=str(i["name"]), ok=bool(i["ok"]), traceback=i["traceback"])
            for i in result.get("imports", [])
        ),
        installed=tuple(
            sorted(
                (
                    Installed(
                        name=str(i["name"]),
                        version=str(i["version"]),
                        url=str(i["url"]),
                        sha256=str(i["sha256"]),
                    )
                    for i in result.get("installed", [])
                ),
                key=lambda i: i.name.lower(),
            )
        ),
    )


def _empty_lock(runtime: PyodideRuntime) -> dict[str, Any]:
    """Pyodide's own lock ``info`` (its ABI check needs it) and no packages."""
    lock = json.loads((runtime.package_dir / "pyodide-lock.json").read_text(encoding="utf-8"))
    return {"info": lock["info"], "packages": {}}


def _parse(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            try:
                data = json.loads(line.removeprefix(MARKER))
            except ValueError:
                return None
            return data if isinstance(data, dict) else None
    return None
