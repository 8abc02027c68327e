"""``test``'s core end to end: a feedstock, its dist/, a local channel, a real Pyodide in Node.

The runtime is the ``pyodide_runtime`` session fixture's install (same ABI as the feedstock's
xbuildenv), named by ``$PYODIDE_SMITHY_RUNTIME_DIR``; the runner's environment lives in
``.cache/test-runner`` (``$PYODIDE_SMITHY_TEST_RUNNER_DIR``) and is made once per machine.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from smithy.build import run_build
from smithy.channel.local import LocalChannel
from smithy.channel.model import Provenance
from smithy.channel.wheel import read_wheel
from smithy.errors import NetworkError, UsageError
from smithy.feedstock.init import run_init
from smithy.recipe.load import load_recipe
from smithy.testing import PyodideTestError, TestReport, format_report, run_test
from smithy.testing.environment import (
    RUNNER_DIR_ENV,
    RUNTIME_DIR_ENV,
    ensure_runner,
    pyodide_wheels,
    runner_root,
)
from smithy.xbuildenv import PINNED_DEFAULT
from tests.helpers import write_recipe
from tests.integration.pypi_server import FakeIndex, Served, sdist, serve, sha256
from tests.wheels import make_wheel

RECIPE = """\
package:
  name: tiny-pkg
  version: 1.2.0
  top-level:
    - tiny_pkg
source:
  url: https://files.example/tiny_pkg-1.2.0.tar.gz
  sha256: {sha}
requirements:
  run:
    - helper-pkg
test:
  imports:
    - tiny_pkg
    - tiny_pkg.sub
about:
  summary: A tiny package for the tests
  license: MIT
""".format(sha="ab" * 32)

PASSING = """\
from pytest_pyodide import run_in_pyodide


@run_in_pyodide(packages=["tiny-pkg"])
def test_versions(selenium):
    import extra_pkg
    import helper_pkg
    import tiny_pkg

    assert tiny_pkg.VERSION == "1.2.0"
    assert helper_pkg.VERSION == "0.5"
    assert extra_pkg.VERSION == "2.0"
"""

FAILING = """\
from pytest_pyodide import run_in_pyodide


@run_in_pyodide(packages=["tiny-pkg"])
def test_answer(selenium):
    import tiny_pkg

    assert tiny_pkg.answer() == 42
"""

TINY = {
    "tiny_pkg/__init__.py": "import helper_pkg\nVERSION = '1.2.0'\n\ndef answer():\n    return 41\n",
    "tiny_pkg/sub.py": "X = 1\n",
}


pytestmark = pytest.mark.usefixtures("shared_test_runtime")


@pytest.fixture
def channel(tmp_path: Path) -> Path:
    """A local channel holding the run requirement, as `upload` leaves it."""
    folder = tmp_path / "channel"
    helper = read_wheel(make_wheel(tmp_path / "uploads", "helper-pkg", "0.5"))
    LocalChannel(folder).put(helper, labels=("main",), provenance=Provenance(sha256=helper.sha256))
    return folder


def feedstock(
    tmp_path: Path,
    tests: dict[str, str],
    files: dict[str, str] = TINY,
    requires: tuple[str, ...] = ("helper-pkg",),
) -> Path:
    """A feedstock made by ``init`` from a recipe with these test files; dist/ holds its wheel."""
    source = write_recipe(tmp_path / "src" / "tiny-pkg", RECIPE)
    for name, text in tests.items():
        (source / name).write_text(text)
    result = run_init(str(source / "meta.yaml"), output=tmp_path / "tiny-pkg-feedstock")
    make_wheel(result.feedstock / "dist", "tiny-pkg", "1.2.0", requires=requires, files=files)
    return result.feedstock


def test_wheel_and_recipe_tests_pass(
    tmp_path: Path, channel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """helper-pkg comes from the channel, extra-pkg (pure Python) from the package index."""
    extra = make_wheel(tmp_path / "pypi", "extra-pkg", "2.0")
    files = [{"filename": extra.name, "body": extra.read_bytes()}]
    root = feedstock(tmp_path, {"test_tiny.py": PASSING}, requires=("helper-pkg", "extra-pkg"))
    with serve(FakeIndex()) as index:
        index.add_project("extra-pkg", files, absolute=True)
        monkeypatch.setenv("PYODIDE_SMITHY_INDEX_URL", f"{index.base}/simple/")
        report = run_test(root, dist=root / "dist", channel=str(channel))
    assert report.installed == ("extra-pkg==2.0", "helper-pkg==0.5", "tiny-pkg==1.2.0")
    # micropip got it from the index, and the host fetched the same file for pytest-pyodide.
    assert len(index.requests_for(extra.name)) == 2
    assert report.install_error is None
    assert [(i.name, i.ok) for i in report.imports] == [("tiny_pkg", True), ("tiny_pkg.sub", True)]
    assert report.test_files == ("test_tiny.py",)
    assert report.pytest_exit == 0, report.pytest_output
    assert "1 passed" in report.pytest_output
    assert report.ok
    assert report.wheels == ("tiny_pkg-1.2.0-py3-none-any.whl",)
    data = json.loads(json.dumps(report.to_json()))
    assert data["ok"] is True
    assert data["imports"][0] == {"name": "tiny_pkg", "ok": True, "traceback": None}
    assert "result: passed" in format_report(report)
    # Nothing written into the feedstock's recipe/ (no __pycache__, no .pytest_cache).
    assert sorted(p.name for p in (root / "recipe").iterdir()) == ["meta.yaml", "test_tiny.py"]
    # The runner's environment: its own pytest 8 and pytest-pyodide, pinned.
    venv = runner_root() / "venv"
    assert next((venv / "lib").glob("python3.*/site-packages/pytest-8.4.2.dist-info"))
    assert next((venv / "lib").glob("python3.*/site-packages/pytest_pyodide-0.59.2.dist-info"))


def test_an_import_that_raises_is_named_with_its_traceback(tmp_path: Path, channel: Path) -> None:
    files = {
        "tiny_pkg/__init__.py": "import helper_pkg\nVERSION = '1.2.0'\n",
        "tiny_pkg/sub.py": "import os\n\nraise RuntimeError('sub cannot start in ' + os.name)\n",
    }
    root = feedstock(tmp_path, {}, files)
    report = run_test(root, dist=root / "dist", channel=str(channel))
    assert not report.ok
    assert report.pytest_exit is None
    assert report.imports[0].ok
    failed = report.imports[1]
    assert failed.name == "tiny_pkg.sub"
    assert not failed.ok
    assert failed.traceback is not None
    assert 'File "/lib/python3.14/site-packages/tiny_pkg/sub.py", line 3' in failed.traceback
    assert "RuntimeError: sub cannot start in posix" in failed.traceback
    text = format_report(report)
    assert "FAILED  import tiny_pkg.sub" in text
    assert "RuntimeError: sub cannot start in posix" in text
    assert "result: FAILED" in text


def test_a_missing_run_requirement_is_reported(tmp_path: Path) -> None:
    """helper-pkg is on no index: micropip says so, and the import check does not run."""
    root = feedstock(tmp_path, {"test_tiny.py": PASSING})
    empty = tmp_path / "empty-channel"
    empty.mkdir()
    report = run_test(root, dist=root / "dist", channel=str(empty))
    assert not report.ok
    assert report.install_error is not None
    assert "helper-pkg" in report.install_error
    assert report.imports == ()
    assert report.pytest_exit is None
    assert "micropip could not install" in format_report(report)


def test_a_failing_recipe_test_shows_the_assert(tmp_path: Path, channel: Path) -> None:
    root = feedstock(tmp_path, {"test_tiny.py": FAILING})
    report = run_test(root, dist=root / "dist", channel=str(channel))
    assert all(i.ok for i in report.imports)
    assert report.pytest_exit == 1
    assert not report.ok
    assert "assert 41 == 42" in report.pytest_output
    assert "test_tiny.py::test_answer" in report.pytest_output
    text = format_report(report)
    assert "FAILED (pytest exit 1)" in text
    assert "assert 41 == 42" in text


def test_no_node_on_path_is_one_clear_error(
    tmp_path: Path, channel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = feedstock(tmp_path, {})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    git = shutil.which("git")
    assert git is not None
    (bin_dir / "git").symlink_to(git)
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(PyodideTestError) as caught:
        run_test(root, dist=root / "dist", channel=str(channel))
    assert caught.value.exit_code == 17
    message = str(caught.value)
    assert "\n" not in message
    assert "`node` was not found on PATH: install Node.js" in message


def test_no_wheel_in_dist_and_no_channel_folder(tmp_path: Path, channel: Path) -> None:
    root = feedstock(tmp_path, {})
    shutil.rmtree(root / "dist")
    (root / "dist").mkdir()
    with pytest.raises(PyodideTestError, match="no wheel in dist/"):
        run_test(root, dist=root / "dist", channel=str(channel))
    make_wheel(root / "dist", "tiny-pkg", "1.2.0")
    with pytest.raises(UsageError, match="channel directory not found") as typo:
        run_test(root, dist=root / "dist", channel=str(tmp_path / "typo"))
    assert typo.value.key == "--channel"


SELF_CONTAINED = """\
from pytest_pyodide import run_in_pyodide


@run_in_pyodide(packages=["tiny-pkg"])
def test_answer(selenium):
    import tiny_pkg

    assert tiny_pkg.answer() == 41
"""
ALONE = {"tiny_pkg/__init__.py": "def answer():\n    return 41\n", "tiny_pkg/sub.py": ""}


@pytest.mark.parametrize("tests", [{}, {"test_tiny.py": SELF_CONTAINED}], ids=["imports", "files"])
def test_an_unreachable_feedstock_channel_warns_and_uses_the_index_alone(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tests: dict[str, str],
) -> None:
    """Offline, or before the channel exists: the same one warning with or without test files."""
    monkeypatch.setenv("PYODIDE_SMITHY_ANACONDA_API_URL", "http://127.0.0.1:9")
    root = feedstock(tmp_path, tests, ALONE, requires=())
    capsys.readouterr()  # init's own warning (no index here for upstream's wheels) is not test's
    report = run_test(root, dist=root / "dist")  # channel.url: anaconda://pyodide
    assert report.ok, format_report(report)
    assert (report.pytest_exit == 0) is bool(tests)
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "warning: the feedstock's channel http://127.0.0.1:9/pyodide cannot"
    )
    assert "package index only (pass --channel DIR" in warnings[0]


def test_an_unreachable_channel_given_on_the_command_line_fails_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the runtime is set up: no minutes of set-up for a typo in --channel."""
    from smithy.testing import run as run_module

    def no_setup(*_: object) -> None:
        raise AssertionError("the runtime was set up before the channel was checked")

    monkeypatch.setattr(run_module, "runtime_for", no_setup, raising=False)
    monkeypatch.setattr("smithy.testing.environment.runtime_for", no_setup)
    root = feedstock(tmp_path, {}, ALONE, requires=())
    with pytest.raises(NetworkError) as caught:
        run_test(root, dist=root / "dist", channel="http://127.0.0.1:9/api/someone")
    assert caught.value.key == "--channel"
    assert "127.0.0.1:9" in str(caught.value)


def test_default_places(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the overrides: one runtime per npm version and one runner per pins, in the cache."""
    from smithy.testing import environment

    monkeypatch.delenv(RUNNER_DIR_ENV)
    monkeypatch.delenv(RUNTIME_DIR_ENV)
    cache = Path(os.environ["PYODIDE_SMITHY_CACHE_DIR"])
    assert runner_root().parent == cache / "test-runner"
    calls: list[tuple[Path, str]] = []

    def fake_install(dest: Path, *, npm_version: str) -> str:
        calls.append((dest, npm_version))
        return "runtime"

    monkeypatch.setattr(environment, "install_runtime", fake_install)
    assert environment.runtime_for(PINNED_DEFAULT) == "runtime"  # type: ignore[comparison-overlap]
    assert calls == [(cache / "pyodide-runtime" / "314.0.5", "314.0.5")]
    assert TestReport(imports=(), test_files=(), pytest_exit=None, pytest_output="").ok


FIRST = """
from pytest_pyodide import run_in_pyodide


@run_in_pyodide
def test_leave_a_mark(selenium):
    open("/tmp/mark", "w").write("left by the first test file")
"""
SECOND = """
from pytest_pyodide import run_in_pyodide


@run_in_pyodide
def test_same_pyodide(selenium):
    import os

    assert os.path.exists("/tmp/mark"), "a new Pyodide was started for this file"
"""


def test_one_pyodide_for_all_test_files(tmp_path: Path, channel: Path) -> None:
    """Start-up is paid once per run, not once per test file."""
    root = feedstock(tmp_path, {"test_a.py": FIRST, "test_b.py": SECOND})
    report = run_test(root, dist=root / "dist", channel=str(channel))
    assert report.pytest_exit == 0, report.pytest_output
    assert "2 passed" in report.pytest_output


def test_a_real_recipe_passes_its_own_test(
    tmp_path: Path, channel: Path, recipes_root: Path
) -> None:
    """pyodide-recipes' packaging recipe end to end: ``build`` applies its patch to the real
    packaging 26.1 sources (the wheel the runner downloads for Pyodide, served as an sdist),
    then ``test`` runs the recipe's own test_packaging.py, which checks the tags the patch adds
    (unpatched, it fails)."""
    runner = ensure_runner(PINNED_DEFAULT)
    wheels = pyodide_wheels(runner, PINNED_DEFAULT.python_short)
    found = [w for w in wheels if w.name == "packaging-26.1-py3-none-any.whl"]
    assert found, f"the recipe's packaging 26.1 is no longer among PYODIDE_PINS: {wheels}"
    real = found[0]
    with zipfile.ZipFile(real) as wheel:
        files = {f"src/{n}": wheel.read(n) for n in wheel.namelist() if n.startswith("packaging/")}
    files["pyproject.toml"] = (
        b'[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        b'[project]\nname = "packaging"\nversion = "26.1"\ndescription = "test"\n'
        b'[tool.setuptools.packages.find]\nwhere = ["src"]\n'
    )
    archive = sdist("packaging", "26.1", files)
    recipe_dir = shutil.copytree(recipes_root / "packaging", tmp_path / "packaging")
    original = load_recipe(recipe_dir)
    assert original.source_url is not None
    assert original.sha256 is not None
    with serve(FakeIndex()) as index:
        index.routes[f"/files/{archive['filename']}"] = Served(archive["body"])
        url = f"{index.base}/files/{archive['filename']}"
        meta = (recipe_dir / "meta.yaml").read_text().replace(original.source_url, url)
        (recipe_dir / "meta.yaml").write_text(
            meta.replace(original.sha256, sha256(archive["body"]))
        )
        root = run_init(str(recipe_dir), output=tmp_path / "packaging-feedstock").feedstock
        config = root / "pyodide-smithy.yml"
        config.write_text(config.read_text().replace("pure-python: false", "pure-python: true"))
        run_build(root, output=root / "dist", isolation=False)
    report = run_test(root, dist=root / "dist", channel=str(channel))
    assert report.test_files == ("test_packaging.py",)
    assert report.pytest_exit == 0, report.pytest_output
    assert "recipe/test_packaging.py ." in report.pytest_output
    assert report.ok
