"""Every real recipe becomes a feedstock whose rerender is a no-op; workflows lint clean."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from smithy.config import ChannelConfig
from smithy.feedstock.init import run_init
from smithy.feedstock.rerender import run_rerender
from tests.helpers import PURE_SDIST, render_recipe, write_recipe
from tests.integration.workflow_lint import assert_actionlint_clean, assert_zizmor_clean

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
    (out / "rerender.yml").write_bytes(variants["attrs"][".github/workflows/rerender.yml"])
    return root


def test_workflows_pass_actionlint(workflows: Path) -> None:
    files = sorted((workflows / ".github" / "workflows").glob("*.yml"))
    assert len(files) == 12
    assert_actionlint_clean(files)


def test_workflows_pass_zizmor(workflows: Path) -> None:
    assert_zizmor_clean(workflows)
