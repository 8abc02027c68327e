"""The feedstock's CI lints before it builds: a step of the build job (the status check branch
protection requires), with no value of the recipe in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import load_yaml, render_recipe

WORKFLOW = ".github/workflows/build.yml"


@pytest.mark.parametrize("name", ["attrs", "numpy", "libzlib", "duckdb"])
def test_build_job_lints_before_fetching_anything(recipes_root: Path, name: str) -> None:
    flow = load_yaml(render_recipe(recipes_root / name)[WORKFLOW])
    assert "pull_request" in flow["on"]
    steps = flow["jobs"]["build"]["steps"]
    runs = [step.get("run", "") for step in steps]
    lint = runs.index("pyodide-smithy lint")
    install = next(i for i, run in enumerate(runs) if run.startswith("python -m pip install"))
    build = runs.index("pyodide-smithy build --output dist/")
    assert install < lint < build
    assert all("xbuildenv install" not in run for run in runs[:lint])
    assert set(steps[lint]) == {"name", "run"}  # no env, no if: nothing from the recipe
    for job in ("test", "upload"):
        assert all(
            "lint" not in step.get("run", "") for step in flow["jobs"].get(job, {}).get("steps", [])
        )
