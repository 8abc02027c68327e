"""Recipes load through pyodide-build's MetaConfig; every error names the file and key at fault."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from smithy.errors import RecipeError
from smithy.recipe.load import load_recipe
from smithy.recipe.model import BuildKind
from tests.helpers import PURE_SDIST, write_recipe

HEAD = "package:\n  name: x\n  version: '1'\n"
URL = "source:\n  url: https://files.example/x-1.tar.gz\n  sha256: abc\n"


def error_for(tmp_path: Path, text: str) -> RecipeError:
    write_recipe(tmp_path / "x", text)
    with pytest.raises(RecipeError) as info:
        load_recipe(tmp_path / "x")
    return info.value


def test_every_real_recipe_loads_with_the_expected_mix(recipes_root: Path) -> None:
    kinds = Counter(load_recipe(d).kind for d in sorted(recipes_root.iterdir()))
    assert sum(kinds.values()) == 332
    assert kinds[BuildKind.PURE_WHEEL] == 119
    assert kinds[BuildKind.PREBUILT_WHEEL] == 7
    assert kinds[BuildKind.SHARED_LIBRARY] == 12
    assert kinds[BuildKind.STATIC_LIBRARY] == 26


def test_summary_of_a_recipe(tmp_path: Path) -> None:
    recipe = load_recipe(write_recipe(tmp_path / "example", PURE_SDIST))
    assert recipe.name == "example-pkg"
    assert recipe.version == "1.2.3"
    assert recipe.kind is BuildKind.COMPILED  # an sdist is compiled unless pure-python says not
    assert recipe.pure_blocker is None
    assert recipe.maintainers == ("alice", "bob")
    assert recipe.run_requirements == ("six",)
    assert recipe.import_names == ("example_pkg",)
    assert recipe.feedstock_name == "example-pkg-feedstock"


def test_numbers_as_versions_stay_text(tmp_path: Path) -> None:
    recipe = load_recipe(
        write_recipe(tmp_path / "x", "package:\n  name: x\n  version: 1.10\n" + URL)
    )
    assert recipe.version == "1.1"  # YAML reads 1.10 as a float, as pyodide-build does


def test_invalid_yaml_names_line_and_column(tmp_path: Path) -> None:
    err = error_for(tmp_path, HEAD + "source:\n  url: [unclosed\n")
    assert "invalid YAML" in err.message
    assert "line 6, column 1" in err.message
    assert err.file is not None
    assert err.file.endswith("meta.yaml")


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    err = error_for(tmp_path, HEAD + URL + "  patchs: []\n")
    assert err.key == "source.patchs"
    assert "did you mean 'patches'" in err.message


def test_unknown_top_level_section(tmp_path: Path) -> None:
    err = error_for(tmp_path, HEAD + URL + "requirement:\n  run: []\n")
    assert err.key == "requirement"
    assert "did you mean 'requirements'" in err.message


def test_missing_required_key(tmp_path: Path) -> None:
    err = error_for(tmp_path, "package:\n  version: '1'\n" + URL)
    assert err.key == "package.name"


def test_pyodide_build_rule_gives_its_key(tmp_path: Path) -> None:
    err = error_for(tmp_path, HEAD + "source:\n  url: https://files.example/x-1.tar.gz\n")
    assert err.key == "source.sha256"


def test_bad_literal_is_located(tmp_path: Path) -> None:
    err = error_for(tmp_path, HEAD + URL + "build:\n  type: lib\n")
    assert err.key == "build.type"
    assert err.message == (
        "invalid recipe: 'lib' is not one of package, static_library, shared_library, cpython_module"
    )


def test_string_where_a_list_belongs(tmp_path: Path) -> None:
    err = error_for(tmp_path, HEAD + URL + "requirements:\n  run: six\n")
    assert err.key == "requirements.run"
    assert "must be a list" in err.message


def test_boolean_that_is_not(tmp_path: Path) -> None:
    err = error_for(tmp_path, HEAD + URL + "build:\n  unvendor-tests: maybe\n")
    assert err.key == "build.unvendor-tests"


def test_section_that_is_not_a_mapping(tmp_path: Path) -> None:
    assert error_for(tmp_path, "package: x\n").key == "package"


def test_recipe_must_be_a_mapping(tmp_path: Path) -> None:
    assert "mapping" in error_for(tmp_path, "- a\n- b\n").message


def test_missing_patch_file(tmp_path: Path) -> None:
    err = error_for(tmp_path, HEAD + URL + "  patches:\n    - patches/0001-fix.patch\n")
    assert err.key == "source.patches[0]"
    assert "patches/0001-fix.patch" in err.message


def test_present_patch_and_extra_files(tmp_path: Path) -> None:
    folder = write_recipe(
        tmp_path / "x",
        HEAD + URL + "  patches:\n    - patches/a.patch\n  extras:\n    - [extras/b.c, src/b.c]\n",
    )
    (folder / "patches").mkdir()
    (folder / "patches" / "a.patch").write_text("")
    with pytest.raises(RecipeError) as info:
        load_recipe(folder)
    assert info.value.key == "source.extras[0][0]"
    (folder / "extras").mkdir()
    (folder / "extras" / "b.c").write_text("")
    recipe = load_recipe(folder)
    assert recipe.pure_blocker is None  # pyodide-smithy build applies patches before pypa/build


def test_no_meta_yaml(tmp_path: Path) -> None:
    tmp_path.joinpath("empty").mkdir()
    with pytest.raises(RecipeError, match="no meta.yaml"):
        load_recipe(tmp_path / "empty")


def test_test_files_are_found(tmp_path: Path) -> None:
    folder = write_recipe(tmp_path / "x", PURE_SDIST)
    (folder / "test_example.py").write_text("def test(): pass\n")
    (folder / "conftest.py").write_text("")
    assert load_recipe(folder).test_files == ("test_example.py",)
