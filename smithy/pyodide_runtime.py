"""A real Pyodide in Node.js, installed from npm and run offline from Pyodide's CDN.

``install_runtime`` puts npm's ``pyodide`` package in a private folder (Pyodide in Node writes
wheels it fetches into its own folder, so the copy must not be shared with anything else) and
downloads PyPI's micropip wheel beside it. ``PyodideRuntime.run`` starts Node, loads Pyodide
from that folder, installs micropip with ``pyodide.loadPackage("/path/to/micropip-….whl")``
(a path is read from disk, with no lock look-up and no CDN fallback) and runs a Python script.

Nothing is fetched from the CDN: ``packageBaseUrl`` is the local folder, which Node then also
uses instead of the CDN for a package of the lock whose wheel is not there (so loading one
fails), and as a backstop the runner's ``fetch`` refuses the CDN's address.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from smithy import console
from smithy.errors import SmithyError

DEFAULT_NPM_VERSION = "314.0.7"
RUNTIME_BYTES = 14_000_000  # npm's pyodide package on disk: the runtime, its lock, no wheels
CDN_PREFIX = "https://cdn.jsdelivr.net/"

# Files without which ``node_modules/pyodide`` cannot start (an interrupted install lacks some).
_REQUIRED_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip")


class PyodideRuntimeError(SmithyError):
    """Node.js, npm or pip missing, or the Pyodide runtime could not be installed or run."""

    exit_code = 14


# Runs in Node as an ES module. argv: the pyodide package folder, the micropip wheel.
# Standard input: JSON {"driver", "script", "env", "cdn"}. Exit code: the driver's result.
_RUNNER = r"""
import { readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, micropipWheel] = process.argv.slice(-2);
const request = JSON.parse(readFileSync(0, "utf8"));
const realFetch = globalThis.fetch;
globalThis.fetch = (resource, init) => {
  const url = String(resource?.url ?? resource);
  if (url.startsWith(request.cdn)) {
    return Promise.reject(new Error(`refusing to fetch ${url}: Pyodide runs offline here`));
  }
  return realFetch(resource, init);
};
const write = (fd) => ({
  write: (buffer) => {
    writeSync(fd, buffer);
    return buffer.length;
  },
});
// Anything logged in JavaScript goes to stderr: stdout is Python's alone.
console.log = console.info = console.debug = console.warn = console.error;
let code = 1;
try {
  const { loadPyodide } = await import(pathToFileURL(join(pyodideDir, "pyodide.mjs")).href);
  const pyodide = await loadPyodide({
    indexURL: pyodideDir,
    packageBaseUrl: request.packageBaseUrl ?? pyodideDir,
    ...(request.lockFileURL ? { lockFileURL: request.lockFileURL } : {}),
    env: request.env,
    stdout: (line) => writeSync(1, line + "\n"),
    stderr: (line) => writeSync(2, line + "\n"),
  });
  pyodide.setStdout(write(1));
  pyodide.setStderr(write(2));
  await pyodide.loadPackage(micropipWheel, {
    messageCallback: () => {},
    errorCallback: (message) => writeSync(2, message + "\n"),
  });
  // Messages of a later loadPackage (from Python, or micropip's for a package of the lock) go
  // to stderr too, not into Python's stdout.
  const loadPackage = pyodide.loadPackage;
  const toStderr = (message) => writeSync(2, message + "\n");
  pyodide.loadPackage = (names, options) =>
    loadPackage.call(pyodide, names, { messageCallback: toStderr, ...options });
  await pyodide.runPythonAsync(request.driver, { filename: "<pyodide-smithy driver>" });
  code = await pyodide.globals.get("_smithy_main")(request.script);
} catch (error) {
  writeSync(2, `pyodide-smithy runner: ${error?.stack ?? error}\n`);
}
process.exit(code);
"""

# Runs inside Pyodide: compiles the script with top-level await allowed, runs it as __main__
# and turns its outcome into an exit code, printing a traceback without the driver's frames.
_DRIVER = r"""
import ast
import sys
import traceback
from pathlib import Path


async def _smithy_main(source):
    path = Path("/home/pyodide/script.py")
    path.write_text(source)
    namespace = {"__name__": "__main__", "__file__": str(path), "__builtins__": __builtins__}
    try:
        try:
            code = compile(
                source, str(path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
            )
        except SyntaxError as exc:
            traceback.print_exception(type(exc), exc, None)
            return 1
        try:
            result = eval(code, namespace)
            if result is not None:  # a coroutine when the script awaits at top level
                await result
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                return exc.code or 0
            print(exc.code, file=sys.stderr)
            return 1
        except BaseException as exc:
            traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)
            return 1
        return 0
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
"""


@dataclass(frozen=True)
class PyodideRuntime:
    """An installed runtime: ``root/node_modules/pyodide`` and a local micropip wheel."""

    root: Path
    micropip_wheel: Path
    version: str

    @property
    def package_dir(self) -> Path:
        return self.root / "node_modules" / "pyodide"

    def run(
        self,
        script: str,
        *,
        timeout: float = 120,
        env: dict[str, str] | None = None,
        lock_file_url: str | None = None,
        package_base_url: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a Python ``script`` inside Pyodide in Node; micropip is loaded first (from the
        local wheel, never the CDN). Top-level ``await`` works in ``script``. Python's stdout
        and stderr are captured in the result. Exit code 0 if the script finished, 1 with the
        Python traceback on stderr if it raised, ``n`` for ``sys.exit(n)``.

        ``env`` is the environment Python sees in ``os.environ`` inside Pyodide (which never
        sees the host's); Node itself inherits this process's environment. ``lock_file_url``
        and ``package_base_url`` replace the runtime's own lock and where its packages live.
        """
        node = _require("node", "Node.js 18 or newer")
        request = {
            "driver": _DRIVER,
            "script": script,
            "env": env or {},
            "cdn": CDN_PREFIX,
            "lockFileURL": lock_file_url,
            "packageBaseUrl": package_base_url,
        }
        args = [node, "--input-type=module", "-e", _RUNNER, "--"]
        args += [str(self.package_dir), str(self.micropip_wheel)]
        try:
            # Node's Pyodide caches wheels fetched over http under a path relative to the
            # working directory ("http:/host/…"): give it a scratch folder, not the caller's.
            with tempfile.TemporaryDirectory(prefix="pyodide-smithy-node-") as scratch:
                return subprocess.run(
                    args,
                    input=json.dumps(request),
                    capture_output=True,
                    text=True,
                    encoding="utf-8",
                    timeout=timeout,
                    check=False,
                    cwd=scratch,
                )
        except subprocess.TimeoutExpired as exc:
            raise PyodideRuntimeError(
                f"the Pyodide script did not finish within {timeout:g} s", file=self.root
            ) from exc


def install_runtime(dest: Path, *, npm_version: str = DEFAULT_NPM_VERSION) -> PyodideRuntime:
    """``npm install --ignore-scripts pyodide@npm_version`` into ``dest`` (once: a complete
    install of that version is reused) and PyPI's micropip wheel, the version Pyodide's lock
    pins, into ``dest/wheels``."""
    from smithy.fsutil import exclusive

    dest = dest.resolve()
    with exclusive(dest.parent / f".{dest.name}.lock"):  # two `test` runs: one installs
        return _install_runtime(dest, npm_version)


def _install_runtime(dest: Path, npm_version: str) -> PyodideRuntime:
    package_dir = dest / "node_modules" / "pyodide"
    if _installed_version(package_dir) != npm_version:
        _require("node", "Node.js 18 or newer")
        npm = _require("npm", "npm (it comes with Node.js)")
        dest.mkdir(parents=True, exist_ok=True)
        # Without a package.json here npm would install into the nearest folder above that has one.
        manifest = dest / "package.json"
        if not manifest.exists():
            manifest.write_text('{"name": "pyodide-smithy-runtime", "private": true}\n')
        npm_install = [
            npm,
            "install",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--save-exact",
            f"pyodide@{npm_version}",
        ]
        what = f"downloading Pyodide {npm_version} from npm into {dest}"
        folder = dest / "node_modules"
        with console.filling(folder, expected=RUNTIME_BYTES, what=what, label="Pyodide"):
            call(npm_install, cwd=dest, what=f"npm install pyodide@{npm_version}")
        if _installed_version(package_dir) != npm_version:
            raise PyodideRuntimeError(
                f"npm did not install pyodide {npm_version}", file=package_dir
            )
    lock = json.loads((package_dir / "pyodide-lock.json").read_text(encoding="utf-8"))
    micropip_version = lock["packages"]["micropip"]["version"]
    python = ".".join(lock["info"]["python"].split(".")[:2])
    wheels = dest / "wheels"
    wheel = wheels / f"micropip-{micropip_version}-py3-none-any.whl"
    if not wheel.is_file():
        if importlib.util.find_spec("pip") is None:
            raise PyodideRuntimeError(f"pip is missing from {sys.executable}: install pip")
        call(
            pip_download_command(sys.executable, python, wheels, [f"micropip=={micropip_version}"]),
            cwd=dest,
            what=f"pip download micropip=={micropip_version}",
        )
        if not wheel.is_file():
            raise PyodideRuntimeError(f"pip did not download {wheel.name}", file=wheels)
    return PyodideRuntime(root=dest, micropip_wheel=wheel, version=npm_version)


def pip_download_command(python: str, python_short: str, dest: Path, pins: list[str]) -> list[str]:
    """pip downloading pure wheels ``pins`` for Pyodide's Python ``python_short`` into ``dest``."""
    return [
        python,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--no-input",
        "--no-deps",
        "--only-binary=:all:",
        "--python-version",
        python_short,
        "--dest",
        str(dest),
        *pins,
    ]


def _installed_version(package_dir: Path) -> str | None:
    """The version of a complete ``node_modules/pyodide``, or None."""
    if not all((package_dir / name).is_file() for name in _REQUIRED_FILES):
        return None
    try:
        manifest = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = manifest.get("version")
    return version if isinstance(version, str) else None


def _require(tool: str, what: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise PyodideRuntimeError(f"`{tool}` was not found on PATH: install {what}")
    return path


def call(
    args: list[str],
    *,
    cwd: Path,
    what: str,
    error: type[SmithyError] = PyodideRuntimeError,
) -> None:
    """Run a set-up command (npm, pip); a failure is one ``error`` line with its last word."""
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        lines = [
            line
            for line in (proc.stderr or proc.stdout).strip().splitlines()
            if not line.startswith("WARNING: Location")  # pip's noise about absent find-links
        ]
        detail = lines[-1] if lines else f"exit code {proc.returncode}"
        raise error(f"{what} failed: {detail}", file=cwd)
