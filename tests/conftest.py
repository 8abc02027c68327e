"""Shared fixtures: real recipes from tests/data, an isolated git identity and cache."""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Real inputs kept in the repository: tests/data/README.md names their source and licence.
DATA = ROOT / "tests" / "data"
RECIPES_TARBALL = DATA / "pyodide-recipes.tar.gz"
METADATA = DATA / "pyodide-cross-build-environments.json"
GOLDEN = Path(__file__).resolve().parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/ and the generated docs from the current code",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Own cache, own git identity, no GitHub Actions annotations, never the real upstream."""
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test Maintainer\n\temail = test@example.invalid\n[init]\n\tdefaultBranch = main\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("PYODIDE_SMITHY_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("PYODIDE_CROSS_BUILD_ENV_METADATA_URL", str(METADATA))
    # An address nothing listens on: a test that forgets to choose a recipe source fails fast.
    monkeypatch.setenv("PYODIDE_SMITHY_RECIPES_URL", "http://127.0.0.1:9/pyodide-recipes.git")
    monkeypatch.setenv("PYODIDE_SMITHY_INDEX_URL", "http://127.0.0.1:9/simple/")
    for name in (
        "GITHUB_ACTIONS",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ):
        monkeypatch.delenv(name, raising=False)


def extract_recipes(dest: Path) -> Path:
    """Unpack the 332 real recipes with their real patches, extras and ``test_*.py`` files."""
    with tarfile.open(RECIPES_TARBALL) as tar:
        tar.extractall(dest, filter="data")
    return dest / "pyodide-recipes"


@pytest.fixture(scope="session")
def recipes_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pyodide-recipes/<name>/`` for all 332 recipes (read-only by convention)."""
    return extract_recipes(tmp_path_factory.mktemp("recipes"))


@pytest.fixture
def recipes_copy(tmp_path: Path) -> Path:
    """A private copy of the real recipes that a test may change."""
    return extract_recipes(tmp_path / "recipes")


@pytest.fixture
def chdir_tmp(tmp_path: Path) -> Iterator[Path]:
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)
