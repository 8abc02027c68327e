"""Step 2: the recipe's own ``test_*.py`` files, run by pytest-pyodide against Pyodide in Node.

pytest-pyodide's ``--dist-dir`` must hold Pyodide's runtime files and a ``pyodide-lock.json``
naming every wheel the tests load: npm's lock lists packages that live only on the CDN, so a
fresh folder gets npm's files without its lock, and ``run_lock`` writes one (same ``info``)
for the built wheels, their dependencies from the channel, and the pure-Python wheels
pytest-pyodide needs inside Pyodide (pytest of the runner's version, its dependencies, tblib),
copying every wheel beside it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from smithy.channel.local import LocalChannel
from smithy.channel.model import MAIN, Channel, Provenance
from smithy.channel.wheel import read_wheel
from smithy.platform import abi_of
from smithy.pyodide_runtime import PyodideRuntime
from smithy.testing.environment import PYTEST_VERSION, TBLIB_VERSION, TestRunner, runtime_abi
from smithy.testing.report import PyodideTestError
from smithy.xbuildenv import XBuildEnv

TIMEOUT = 3600
# Variables of the caller's environment that would change what the runner's pytest does.
_DROPPED = ("PYTHONPATH", "PYTHONHOME", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "VIRTUAL_ENV")


def prepare_dist_dir(
    folder: Path,
    *,
    runtime: PyodideRuntime,
    requests: Sequence[str],
    wheels: Sequence[Path],
    channel: Channel,
    xbuildenv: XBuildEnv,
) -> Path:
    """Fill ``folder`` for ``--dist-dir``: Pyodide's files and a lock of ``requests`` (plus
    pytest and tblib) resolved over ``wheels`` (dist/'s, the runner's pure ones, those micropip
    took from the package index), then ``channel``."""
    from smithy.lock.build import run_lock

    if runtime_abi(runtime) != abi_of(xbuildenv):
        # A lock of another ABI crashes Node, and pytest-pyodide then waits out a timeout.
        raise PyodideTestError(
            f"Pyodide {runtime.version} has ABI {runtime_abi(runtime)}, "
            f"xbuildenv {xbuildenv.version} ABI {abi_of(xbuildenv)}",
            file=runtime.package_dir,
        )
    folder.mkdir(parents=True, exist_ok=True)
    for path in runtime.package_dir.iterdir():
        if path.is_file() and path.name != "pyodide-lock.json":
            shutil.copyfile(path, folder / path.name)
    local = LocalChannel(folder.parent / f"{folder.name}-channel")
    seen: set[str] = set()
    for path in wheels:
        if path.name not in seen:
            seen.add(path.name)
            wheel = read_wheel(path)
            local.put(wheel, labels=(MAIN,), provenance=Provenance(sha256=wheel.sha256))
    run_lock(
        [*requests, f"pytest=={PYTEST_VERSION}", f"tblib=={TBLIB_VERSION}"],
        [local, channel],
        label=MAIN,
        xbuildenv=xbuildenv,
        output=folder / "pyodide-lock.json",
        copy=folder,
        unvendor=False,
    )
    return folder


# pytest-pyodide's `selenium` sits on a module-scoped runtime: Pyodide would start once per test
# file. This conftest (beside the copied recipe, so it overrides the plugin's fixture) makes
# that runtime one per session.
_SESSION_CONFTEST = '''"""Written by pyodide-smithy: one Pyodide for the whole run."""

import pytest
from pytest_pyodide.fixture import selenium_common


@pytest.fixture(scope="session")
def _pyodide_smithy_runtime(request, web_server_main):
    with selenium_common(request, "node", web_server_main, browsers={}) as runtime:
        yield runtime


@pytest.fixture(scope="module")
def selenium_module_scope(_pyodide_smithy_runtime):
    yield _pyodide_smithy_runtime
'''


def _not_copied(root: Path) -> Callable[[str, list[str]], set[str]]:
    """What the suite leaves out of the recipe folder: build outputs, and symlinks that lead
    outside it (copying follows a symlink, and a feedstock's files are untrusted)."""
    base = root.resolve()

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n in ("dist", "build", "__pycache__")}
        for name in names:
            path = Path(folder) / name
            if path.is_symlink() and not path.resolve().is_relative_to(base):
                skipped.add(name)
        return skipped

    return ignore


def run_pytest(
    runner: TestRunner, *, test_files: Sequence[Path], dist_dir: Path, workdir: Path
) -> tuple[int, str]:
    """``(exit code, output)`` of pytest-pyodide over ``test_files`` in Node.

    The recipe folder is copied into ``workdir/suite/`` beside a conftest that keeps one
    Pyodide for the whole run (pytest-pyodide starts one per test module); a settings file of
    its own keeps pytest settings of other folders out; nothing is written into the feedstock.
    """
    suite = workdir / "suite"
    recipe = suite / "recipe"
    shutil.copytree(test_files[0].parent, recipe, ignore=_not_copied(test_files[0].parent))
    (suite / "conftest.py").write_text(_SESSION_CONFTEST, encoding="utf-8")
    rootdir = suite
    config = workdir / "pytest.ini"
    config.write_text("[pytest]\n", encoding="utf-8")
    args = [
        str(runner.python),
        "-m",
        "pytest",
        *(f"recipe/{p.name}" for p in test_files),
        f"--dist-dir={dist_dir}",
        "--runtime=node",
        "-p",
        "no:cacheprovider",
        f"-c={config}",
        f"--rootdir={rootdir}",
    ]
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ in the feedstock's recipe/
    try:
        proc = subprocess.run(
            args,
            cwd=rootdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PyodideTestError(f"pytest did not finish within {TIMEOUT} s", file=rootdir) from exc
    return proc.returncode, proc.stdout
