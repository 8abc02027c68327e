"""The wheel ships feedstock-template/ inside the package, and an installed copy finds it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT


def test_wheel_ships_the_template_and_finds_it_installed(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            str(ROOT),
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("pyodide_smithy-*.whl")
    shipped = {
        p.relative_to(ROOT / "feedstock-template").as_posix()
        for p in (ROOT / "feedstock-template").rglob("*.j2")
    }
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    assert {f"smithy/feedstock-template/{name}" for name in shipped} <= names
    package_data = {  # the admin repository's and the status page's templates
        p.relative_to(ROOT).as_posix() for p in (ROOT / "smithy").rglob("*.j2")
    }
    assert "smithy/admin/templates/.github/workflows/bot.yml.j2" in package_data
    assert "smithy/bot/status.html.j2" in package_data
    assert package_data <= names
    found = subprocess.run(
        [sys.executable, "-c", "from smithy.paths import template_dir; print(template_dir())"],
        env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.strip()
    assert found == str(tmp_path / "site" / "smithy" / "feedstock-template")
