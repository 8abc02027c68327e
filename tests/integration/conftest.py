"""Integration tests: real git, real HTTP servers on 127.0.0.1, real subprocesses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from smithy.pyodide_runtime import PyodideRuntime, install_runtime
from tests.conftest import ROOT
from tests.integration.github_standin import GitHubStandIn


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.integration)


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def smithy(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> Run:
    """Run the real command line in a new process, as a user would."""
    proc = subprocess.run(
        [sys.executable, "-m", "smithy", *map(str, args)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def pyodide_runtime() -> PyodideRuntime:
    """npm's pyodide (314.x) and PyPI's micropip, installed once per machine into .cache/."""
    default = ROOT / ".cache" / "pyodide-runtime"
    return install_runtime(Path(os.environ.get("PYODIDE_SMITHY_TEST_RUNTIME", default)))


@pytest.fixture
def private_runtime(pyodide_runtime: PyodideRuntime, tmp_path: Path) -> PyodideRuntime:
    """Pyodide in Node caches fetched wheels in its own folder: each test gets its own copy."""
    root = tmp_path / "runtime"
    shutil.copytree(pyodide_runtime.root, root, symlinks=True)
    return install_runtime(root)


@contextmanager
def serving(channel: Path) -> Iterator[str]:
    """A local channel's folder over HTTP on 127.0.0.1 (`channel serve`'s server); its URL."""
    from smithy.channel.serve import make_server

    server = make_server(channel, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def shared_test_runtime(pyodide_runtime: PyodideRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    """`test` reuses the session's runtime and one runner environment per machine."""
    from smithy.testing.environment import RUNNER_DIR_ENV, RUNTIME_DIR_ENV

    monkeypatch.setenv(RUNTIME_DIR_ENV, str(pyodide_runtime.root))
    monkeypatch.setenv(RUNNER_DIR_ENV, str(ROOT / ".cache" / "test-runner"))


GITHUB_ORG, GITHUB_LOGIN, GITHUB_TOKEN = (
    "pyodide-feedstocks",
    "smithy-bot",
    "ghp_bot-token-never-shown",
)


@pytest.fixture
def stand(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStandIn]:
    """The GitHub stand-in with one org and the bot's user; the client points at it."""
    from tests.integration.github_standin import running_github

    with running_github() as github:
        github.add_org(GITHUB_ORG)
        github.add_user(GITHUB_LOGIN, GITHUB_TOKEN)
        monkeypatch.setenv("PYODIDE_SMITHY_GITHUB_API_URL", github.base_url)
        monkeypatch.setenv("PYODIDE_SMITHY_GITHUB_THROTTLE", "0")
        monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
        monkeypatch.delenv("ANACONDA_API_TOKEN", raising=False)
        yield github


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout
