"""What ``test`` runs with, installed once and reused offline.

- npm's ``pyodide`` of the feedstock's xbuildenv in ``cache_dir()/pyodide-runtime/<version>``
  (``$PYODIDE_SMITHY_RUNTIME_DIR``: one runtime folder to use instead, as ``install_runtime``
  lays it out; an install there of another version is used as it is if its ABI is the
  xbuildenv's, so tests can share one; an empty folder gets the xbuildenv's version);
- the test runner: a virtual environment of its own with pytest 8 and pytest-pyodide (which
  does not work under pytest 9, while pyodide-smithy's own environment may have it), plus the
  pure-Python wheels pytest-pyodide loads inside Pyodide, all pinned, in
  ``cache_dir()/test-runner/<hash of the pins>`` (``$PYODIDE_SMITHY_TEST_RUNNER_DIR`` replaces
  ``cache_dir()/test-runner``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from smithy import console
from smithy.fsutil import exclusive
from smithy.paths import cache_dir
from smithy.pyodide_runtime import PyodideRuntime, call, install_runtime, pip_download_command
from smithy.testing.report import PyodideTestError
from smithy.xbuildenv import XBuildEnv

RUNTIME_DIR_ENV = "PYODIDE_SMITHY_RUNTIME_DIR"
RUNNER_DIR_ENV = "PYODIDE_SMITHY_TEST_RUNNER_DIR"

PYTEST_VERSION = "8.4.2"  # the newest pytest 8: pytest-pyodide 0.59 breaks under pytest 9
PYTEST_PYODIDE_VERSION = "0.59.2"
TBLIB_VERSION = "3.2.2"  # pickles tracebacks out of Pyodide: the same on both sides
# The runner's own environment, installed with pip from the configured index.
RUNNER_BYTES = 250_000_000  # the runner's venv on disk (pytest-pyodide pulls in selenium, etc.)
RUNNER_PINS = (
    f"pytest=={PYTEST_VERSION}",
    f"pytest-pyodide=={PYTEST_PYODIDE_VERSION}",
    f"tblib=={TBLIB_VERSION}",
)
# Loaded into Pyodide by pytest-pyodide: pytest of the runner's version (its assertion
# rewriting runs on both sides) with its dependencies, and tblib. Versions as Pyodide ships.
PYODIDE_PINS = (
    f"pytest=={PYTEST_VERSION}",
    "pluggy==1.6.0",
    "iniconfig==2.3.0",
    "packaging==26.1",
    "pygments==2.20.0",
    f"tblib=={TBLIB_VERSION}",
)
_COMPLETE = ".pyodide-smithy-complete"


def runtime_for(xbuildenv: XBuildEnv) -> PyodideRuntime:
    """npm's ``pyodide`` for ``xbuildenv``, installed on first use (then offline)."""
    from smithy.platform import abi_of

    wanted = xbuildenv.npm_version
    override = os.environ.get(RUNTIME_DIR_ENV)
    if not override:
        return install_runtime(cache_dir() / "pyodide-runtime" / wanted, npm_version=wanted)
    root = Path(override)
    installed = _installed_version(root / "node_modules" / "pyodide")
    if installed is None:
        return install_runtime(root, npm_version=wanted)
    runtime = install_runtime(root, npm_version=installed)
    found = runtime_abi(runtime)
    if found != abi_of(xbuildenv):
        raise PyodideTestError(
            f"the Pyodide runtime in ${RUNTIME_DIR_ENV} is {installed} (ABI {found}); "
            f"xbuildenv {xbuildenv.version} needs ABI {abi_of(xbuildenv)}",
            file=root,
        )
    if installed != wanted:
        console.info(f"using Pyodide {installed} from ${RUNTIME_DIR_ENV} (same ABI as {wanted})")
    return runtime


def runtime_abi(runtime: PyodideRuntime) -> str:
    lock = json.loads((runtime.package_dir / "pyodide-lock.json").read_text(encoding="utf-8"))
    return str(lock["info"].get("abi_version", ""))


def _installed_version(package_dir: Path) -> str | None:
    try:
        manifest = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = manifest.get("version")
    if not isinstance(version, str) or not (package_dir / "pyodide.asm.wasm").is_file():
        return None
    return version


@dataclass(frozen=True)
class TestRunner:
    """The runner's virtual environment and the wheels it gives Pyodide."""

    __test__ = False

    root: Path

    @property
    def python(self) -> Path:
        return self.root / "venv" / "bin" / "python"

    def wheels(self, python_short: str) -> Path:
        return self.root / f"wheels-py{python_short}"


def runner_root() -> Path:
    """``<cache>/test-runner/<hash>``: one folder per set of pins and host Python."""
    digest = hashlib.sha256(
        json.dumps(
            {
                "runner": RUNNER_PINS,
                "pyodide": PYODIDE_PINS,
                "python": os.path.realpath(sys.executable),
                "version": list(sys.version_info[:3]),
            }
        ).encode()
    ).hexdigest()[:16]
    base = os.environ.get(RUNNER_DIR_ENV)
    return (Path(base) if base else cache_dir() / "test-runner") / digest


def ensure_runner(xbuildenv: XBuildEnv) -> TestRunner:
    """Create the runner's environment and download Pyodide's wheels, unless already done."""
    runner = TestRunner(runner_root().absolute())
    runner.root.mkdir(parents=True, exist_ok=True)
    with exclusive(runner.root / ".lock"):  # one process creates the runner, others reuse it
        _ensure_venv(runner)
        _ensure_wheels(runner, xbuildenv.python_short)
    return runner


def pyodide_wheels(runner: TestRunner, python_short: str) -> list[Path]:
    """The downloaded wheels named by ``PYODIDE_PINS``."""
    found = [_find(runner.wheels(python_short), pin) for pin in PYODIDE_PINS]
    return [path for path in found if path is not None]


def _ensure_venv(runner: TestRunner) -> None:
    venv = runner.python.parent.parent
    marker = venv / _COMPLETE
    if marker.is_file() and runner.python.exists():
        return
    shutil.rmtree(venv, ignore_errors=True)
    what = f"creating the test runner's environment ({', '.join(RUNNER_PINS)}) in {venv}"
    with console.filling(venv, expected=RUNNER_BYTES, what=what, label="test runner"):
        _run([sys.executable, "-m", "venv", str(venv)], what="python -m venv", cwd=runner.root)
        _run(
            [str(runner.python), "-m", "pip", "install", *_PIP_QUIET, *RUNNER_PINS],
            what=f"pip install {' '.join(RUNNER_PINS)}",
            cwd=runner.root,
        )
    marker.write_text(json.dumps(RUNNER_PINS) + "\n", encoding="utf-8")


def _ensure_wheels(runner: TestRunner, python_short: str) -> None:
    folder = runner.wheels(python_short)
    missing = [pin for pin in PYODIDE_PINS if _find(folder, pin) is None]
    if not missing:
        return
    console.info(f"downloading {', '.join(missing)} for Pyodide into {folder}")
    _run(
        [*pip_download_command(str(runner.python), python_short, folder, missing), "--quiet"],
        what=f"pip download {' '.join(missing)}",
        cwd=runner.root,
    )
    still = [pin for pin in missing if _find(folder, pin) is None]
    if still:
        raise PyodideTestError(f"pip did not download {', '.join(still)}", file=folder)


def _find(folder: Path, pin: str) -> Path | None:
    from packaging.utils import canonicalize_name, parse_wheel_filename

    name, _, version = pin.partition("==")
    for path in sorted(folder.glob("*.whl")) if folder.is_dir() else []:
        try:
            found, found_version, _, _ = parse_wheel_filename(path.name)
        except ValueError:
            continue
        if found == canonicalize_name(name) and str(found_version) == version:
            return path
    return None


_PIP_QUIET = ("--disable-pip-version-check", "--no-input", "--quiet")


def _run(args: list[str], *, what: str, cwd: Path) -> None:
    call(args, cwd=cwd, what=what, error=PyodideTestError)
