"""Lint of a feedstock (its settings, its built wheel), what PATH may be, and the gate that
``init`` and ``rerender`` pass through."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from smithy.errors import LintError, UsageError
from smithy.lint.gate import refuse_errors
from smithy.lint.model import Level
from smithy.lint.run import LintOptions, run_lint
from smithy.paths import cache_dir
from smithy.recipe.load import load_recipe
from tests.helpers import write_recipe
from tests.unit.test_lint_checks import GOOD, SHA, WHEEL_URL, found, only, wheel_recipe
from tests.wheels import make_wheel

SETTINGS = "xbuildenv: 314.0.5\n"


def feedstock(tmp_path: Path, recipe: str = GOOD, settings: str = SETTINGS) -> Path:
    root = tmp_path / "example-feedstock"
    write_recipe(root / "recipe", recipe)
    (root / "pyodide-smithy.yml").write_text(settings)
    return root


def test_path_may_be_a_feedstock_a_recipe_folder_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = feedstock(tmp_path)
    monkeypatch.chdir(root)
    for path in (".", "pyodide-smithy.yml", "recipe", "recipe/meta.yaml"):
        assert run_lint(Path(path)).findings == (), path
    assert run_lint(Path()).path == "."


@pytest.mark.parametrize("name", ["nothing-here", "README.md", "empty"])
def test_anything_else_is_one_usage_error(tmp_path: Path, name: str) -> None:
    (tmp_path / "README.md").write_text("# hi\n")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError) as info:
        run_lint(tmp_path / name)
    assert info.value.file == str(tmp_path / name)
    assert "\n" not in str(info.value)


def test_invalid_settings_are_a_finding_with_a_line(tmp_path: Path) -> None:
    root = feedstock(tmp_path, settings=SETTINGS + "channel:\n  lable: x\n")
    finding = only(run_lint(root), "PS005")
    assert finding.file.endswith("pyodide-smithy.yml")
    assert (finding.key, finding.line) == ("channel.lable", 3)
    assert "did you mean 'label'?" in finding.message


def test_pure_python_on_a_recipe_that_cannot_be(tmp_path: Path) -> None:
    recipe = GOOD.replace("requirements:\n", "requirements:\n  host: [numpy]\n")
    root = feedstock(tmp_path, recipe, SETTINGS + "pure-python: true\n")
    finding = only(run_lint(root), "PS602")
    assert (finding.key, finding.line, finding.level) == ("pure-python", 2, Level.ERROR)
    assert "it has host requirements" in finding.message
    assert not found(
        run_lint(feedstock(tmp_path / "ok", GOOD, SETTINGS + "pure-python: true\n")), "PS602"
    )


def test_findings_are_in_file_order_meta_yaml_first(tmp_path: Path) -> None:
    recipe = GOOD.replace("  license: MIT\n", "").replace("https://files", "http://files")
    root = feedstock(tmp_path, recipe, SETTINGS + "bogus: 1\n")
    assert [(f.id, f.line) for f in run_lint(root).findings] == [
        ("PS201", 7),
        ("PS101", 12),
        ("PS005", 2),
    ]


# top-level against a built wheel ----------------------------------------------------------------


def built(folder: Path, files: dict[str, str]) -> Path:
    return make_wheel(folder, "example", "1.2.0", files=files)


def test_top_level_against_a_wheel_given(tmp_path: Path) -> None:
    write_recipe(tmp_path / "example", GOOD)
    wheel = built(tmp_path / "w", {"example/__init__.py": "", "example_cli.py": "", "_x.so": ""})
    result = run_lint(tmp_path / "example", LintOptions(wheel=wheel))
    assert [(f.id, f.level) for f in result.findings] == [("PS404", Level.HINT)]
    assert "example_cli" in result.findings[0].message  # _x: private, not asked for
    other = built(tmp_path / "v", {"sample/__init__.py": "", "tests/test_a.py": ""})
    result = run_lint(tmp_path / "example", LintOptions(wheel=other))
    assert [(f.id, f.key, f.line) for f in result.findings] == [
        ("PS404", "package.top-level", 4),
        ("PS403", "package.top-level[0]", 5),
    ]
    assert result.findings[1].message == (
        "package.top-level names example, but the wheel example-1.2.0-py3-none-any.whl holds sample"
    )


def test_a_wheel_given_that_is_missing_or_no_zip(tmp_path: Path) -> None:
    write_recipe(tmp_path / "example", GOOD)
    with pytest.raises(UsageError, match="no such wheel"):
        run_lint(tmp_path / "example", LintOptions(wheel=tmp_path / "gone.whl"))
    (tmp_path / "bad.whl").write_text("not a zip")
    with pytest.raises(UsageError, match="cannot read the wheel bad.whl"):
        run_lint(tmp_path / "example", LintOptions(wheel=tmp_path / "bad.whl"))


def test_the_feedstocks_built_wheel_is_found_in_dist(tmp_path: Path) -> None:
    root = feedstock(tmp_path)
    built(root / "dist", {"sample/__init__.py": ""})
    make_wheel(root / "dist", "example", "1.1.0", files={"example/__init__.py": ""})
    assert [f.id for f in run_lint(root).findings] == ["PS404", "PS403"]


def test_a_cached_wheel_source_is_used(tmp_path: Path) -> None:
    wheel = built(tmp_path / "w", {"sample/__init__.py": ""})
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    write_recipe(tmp_path / "example", wheel_recipe(WHEEL_URL).replace(SHA, digest))
    assert run_lint(tmp_path / "example").findings == ()  # not cached: nothing to compare
    (cache_dir() / "sources" / digest).mkdir(parents=True)
    shutil.copy(wheel, cache_dir() / "sources" / digest / wheel.name)
    assert [f.id for f in run_lint(tmp_path / "example").findings] == ["PS404", "PS403"]


# the gate of init and rerender ------------------------------------------------------------------


def test_gate_refuses_the_first_error_in_one_line(tmp_path: Path) -> None:
    text = GOOD.replace(SHA, "abc").replace(
        "https://files.example/example-1.2.0.tar.gz",
        ("https://github.com/o/example/archive/refs/heads/main.tar.gz"),
    )
    folder = write_recipe(tmp_path / "example", text)
    recipe = load_recipe(folder)  # pyodide-build and pyodide-smithy's loader accept it
    with pytest.raises(LintError) as info:
        refuse_errors(folder / "meta.yaml", recipe)
    err = info.value
    assert err.exit_code == 19
    assert (err.file, err.key) == (str(folder / "meta.yaml"), "source.url")
    assert err.message.startswith("PS202 unpinned-source: source.url ")
    assert "(fix: point it at a release, tag or commit archive" in err.message
    assert "\n" not in str(err)


def test_gate_lets_hints_pass(tmp_path: Path) -> None:
    text = GOOD.replace("  license: MIT\n", "").replace(
        "- alice", "- PUT_YOUR_GITHUB_USERNAME_HERE"
    )
    folder = write_recipe(tmp_path / "example", text)
    refuse_errors(folder / "meta.yaml", load_recipe(folder))
