"""A feedstock end to end, as its CI runs it: init -> build -> upload -> test in Pyodide."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import write_recipe
from tests.integration.conftest import Run, smithy
from tests.integration.pypi_server import FakeIndex, Served, serve, sha256
from tests.wheels import make_wheel

pytestmark = pytest.mark.usefixtures("shared_test_runtime")


def ci(feedstock: Path, channel: Path, env: dict[str, str] | None = None) -> tuple[Run, Run, Run]:
    """The three commands of the generated workflow, in the feedstock, against a local channel."""
    built = smithy("build", "--output", "dist", cwd=feedstock, env=env)
    assert built.code == 0, built.err
    wheels = sorted(str(p) for p in (feedstock / "dist").glob("*.whl"))
    uploaded = smithy(
        "upload", *wheels, "--channel", channel, "--label", "main", cwd=feedstock, env=env
    )
    assert uploaded.code == 0, uploaded.err
    tested = smithy("test", "--dist", "dist", "--channel", channel, cwd=feedstock, env=env)
    return built, uploaded, tested


@pytest.fixture
def index() -> Iterator[FakeIndex]:
    with serve(FakeIndex()) as fake:
        yield fake


def test_an_import_that_fails_in_pyodide_fails_the_test(tmp_path: Path, index: FakeIndex) -> None:
    wheel = make_wheel(
        tmp_path / "upstream",
        "broken-pkg",
        "1.0",
        files={
            "broken_pkg/__init__.py": "import js\nraise RuntimeError('no ' + 'luck in Pyodide')\n"
        },
    )
    index.routes[f"/files/{wheel.name}"] = Served(wheel.read_bytes())
    recipe = write_recipe(
        tmp_path / "recipes" / "broken-pkg",
        "package:\n  name: broken-pkg\n  version: '1.0'\n  top-level:\n    - broken_pkg\n"
        f"source:\n  url: {index.base}/files/{wheel.name}\n  sha256: {sha256(wheel.read_bytes())}\n"
        "about:\n  summary: Fails on import\n  license: MIT\n",
    )
    feedstock = tmp_path / "broken-pkg-feedstock"
    assert smithy("init", recipe, "-o", feedstock).code == 0
    built, _, tested = ci(feedstock, tmp_path / "channel", env={"NO_PROXY": "127.0.0.1"})
    assert "pure-wheel" in built.err
    assert tested.code == 1
    assert "broken_pkg" in tested.out
    assert "RuntimeError: no luck in Pyodide" in tested.out
    assert "FAILED" in tested.out


JOBLIB_NEEDS_NUMPY = pytest.mark.xfail(
    strict=True,
    reason="joblib's real test_joblib.py loads numpy, a package of Pyodide's own distribution, "
    "which the lock `test` builds for pytest-pyodide does not hold (only dist/, the channel and "
    "the runner's wheels)",
)


@pytest.mark.network
@pytest.mark.parametrize("name", ["attrs", pytest.param("joblib", marks=JOBLIB_NEEDS_NUMPY)])
def test_real_pure_recipes_build_upload_and_pass_in_pyodide(
    recipes_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """attrs takes a wheel as source, joblib an sdist (declared pure-python); both from PyPI."""
    monkeypatch.setenv("PYODIDE_SMITHY_INDEX_URL", "https://pypi.org/simple/")
    feedstock = tmp_path / f"{name}-feedstock"
    assert smithy("init", recipes_root / name, "-o", feedstock).code == 0
    if name == "joblib":
        config = feedstock / "pyodide-smithy.yml"
        config.write_text(config.read_text().replace("pure-python: false", "pure-python: true"))
        assert smithy("rerender", "--force", feedstock).code == 0
    _built, _uploaded, tested = ci(feedstock, tmp_path / "channel")
    assert tested.code == 0, tested.out + tested.err
    assert "result: passed" in tested.out
