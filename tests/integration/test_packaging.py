"""The wheel ships feedstock-template/ inside the package, and an installed copy finds it."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import METADATA, ROOT
from tests.helpers import write_recipe
from tests.integration.workflow_lint import tool

TEMPLATES = sorted(
    p.relative_to(ROOT / "feedstock-template").as_posix()
    for p in (ROOT / "feedstock-template").rglob("*.j2")
)

WHEEL_RECIPE = """\
package:
  name: tiny-pure
  version: 0.3.0
  top-level:
    - tiny_pure
source:
  url: https://files.example/tiny_pure-0.3.0-py3-none-any.whl
  sha256: {sha}
about:
  summary: A pure-Python wheel recipe for the packaging test
  license: MIT
extra:
  recipe-maintainers:
    - alice
""".format(sha="cd" * 32)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel pip builds from this checkout, as `pip install .` would."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(ROOT), "-w", str(out)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("pyodide_smithy-*.whl")
    return built


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sdist")
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("pyodide_smithy-*.tar.gz")
    return built


def fresh_venv(path: Path) -> Path:
    """A new venv that sees this test environment's dependencies but not its smithy.

    Its ``.pth`` names this environment's site-packages; a directory added by a ``.pth`` is
    not itself scanned for ``.pth`` files, so the editable install's path hook stays off.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (Path(site) / "test-dependencies.pth").write_text("".join(f"{p}\n" for p in ours))
    return python


def pip_install(python: Path, *args: str | Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps"]
        + [str(a) for a in args],
        check=True,
        capture_output=True,
    )


def outside_env(venv: Path) -> dict[str, str]:
    """The test's environment (metadata URL, cache, git identity) without this checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "PATH": f"{venv / 'bin'}:/usr/bin:/bin"}


def where_smithy(python: Path, cwd: Path, env: dict[str, str]) -> list[str]:
    script = (
        "import sys, smithy, smithy.paths\n"
        "print(smithy.__file__)\n"
        "print(smithy.paths.template_dir())\n"
        "print(any(p.rstrip('/') == sys.argv[1] for p in sys.path))\n"
    )
    return subprocess.run(
        [python, "-c", script, str(ROOT)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()


def test_wheel_ships_the_template_and_finds_it_installed(wheel: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    assert {f"smithy/feedstock-template/{name}" for name in TEMPLATES} <= names
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


def test_installed_wheel_makes_and_checks_a_feedstock_outside_the_checkout(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    python = fresh_venv(venv)
    pip_install(python, "--no-index", wheel)
    env = outside_env(venv)
    work = tmp_path / "work"
    work.mkdir()
    module, templates, checkout_on_path = where_smithy(python, work, env)
    assert Path(module).is_relative_to(venv), module
    assert Path(templates).is_relative_to(venv), templates
    assert checkout_on_path == "False"  # the editable install's .pth was not activated
    # Mark the installed copy of one template: the feedstock must show the mark.
    readme = Path(templates) / "README.md.j2"
    readme.write_text(readme.read_text() + "\n<!-- from the installed wheel -->\n")

    recipe = write_recipe(tmp_path / "recipes" / "tiny-pure", WHEEL_RECIPE)
    cli = venv / "bin" / "pyodide-smithy"
    init = subprocess.run(
        [
            cli,
            "init",
            recipe,
            "-o",
            work / "tiny-pure-feedstock",
            "--xbuildenv",
            "314.0.5",
            "--xbuildenv-metadata",
            METADATA,
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    feedstock = work / "tiny-pure-feedstock"
    assert "xbuildenv 314.0.5" in init.stdout
    assert "tiny-pure" in (feedstock / ".github" / "workflows" / "build.yml").read_text()
    assert "<!-- from the installed wheel -->" in (feedstock / "README.md").read_text()
    check = subprocess.run(
        [cli, "rerender", "--check"],
        cwd=feedstock,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "up to date (xbuildenv 314.0.5)" in check.stdout


def test_sdist_and_wheel_pass_twine_and_the_sdist_installs(
    wheel: Path, sdist: Path, tmp_path: Path
) -> None:
    twine = subprocess.run(
        [tool("twine"), "check", "--strict", wheel, sdist],
        capture_output=True,
        text=True,
        check=False,
    )
    assert twine.returncode == 0, twine.stdout + twine.stderr
    assert twine.stdout.count("PASSED") == 2, twine.stdout

    top = sdist.name.removesuffix(".tar.gz")
    with tarfile.open(sdist) as archive:
        members = set(archive.getnames())
    assert {f"{top}/feedstock-template/{name}" for name in TEMPLATES} <= members
    assert f"{top}/smithy/__init__.py" in members

    # Installing the sdist builds a wheel from it (hatchling from PyPI, as for `pip wheel`).
    venv = tmp_path / "venv"
    python = fresh_venv(venv)
    pip_install(python, sdist)
    module, templates, _ = where_smithy(python, tmp_path, outside_env(venv))
    assert Path(module).is_relative_to(venv), module
    installed = sorted(p.relative_to(templates).as_posix() for p in Path(templates).rglob("*.j2"))
    assert installed == TEMPLATES
