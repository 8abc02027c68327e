"""Upstream's own Pyodide wheels: which file of a real index page runs on which xbuildenv, and
the recipe that takes one as its source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from smithy.recipe.load import load_recipe
from smithy.recipe.model import BuildKind
from smithy.recipe.pypi_index import IndexFile, parse_files
from smithy.recipe.upstream import covers, pyodide_wheel, switchable, wheel_recipe
from smithy.xbuildenv import XBuildEnv, load_catalog
from tests.conftest import DATA, METADATA
from tests.helpers import load_yaml

# 16 entries of PyPI's real page for pydantic-core (tests/data/upstream/README.md).
PAGE = json.loads((DATA / "upstream" / "pydantic-core.json").read_text(encoding="utf-8"))
PAGE_URL = "https://pypi.org/simple/pydantic-core/"
REAL = parse_files(PAGE["files"], PAGE_URL)
WASM_2_50_5 = "pydantic_core-2.50.5-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
CATALOG = load_catalog(str(METADATA))


def xb(version: str) -> XBuildEnv:
    return CATALOG.get(version)


def entry(filename: str, **extra: Any) -> dict[str, Any]:
    return {
        "filename": filename,
        "url": f"https://files.example/{filename}",
        "hashes": {"sha256": "ab" * 32},
        **extra,
    }


def made_up(*names: str, **extra: Any) -> list[IndexFile]:
    """Index files with these names (made up for the case, unlike ``REAL``)."""
    return parse_files([entry(name, **extra) for name in names], "https://index.example/x/")


def chosen(files: list[IndexFile], version: str = "1.0", target: str = "314.0.5") -> str | None:
    wheel = pyodide_wheel(files, version, xb(target))
    return wheel.filename if wheel else None


# the real page -------------------------------------------------------------------------------


def test_pydantic_cores_own_wheel_for_pyodide_314() -> None:
    wheel = pyodide_wheel(REAL, "2.50.5", xb("314.0.5"))
    assert wheel is not None
    assert wheel.filename == WASM_2_50_5
    assert wheel.sha256 == "b2910ec0fa5aeb9bef70156f2b79f4783978fdcfaa7b2f1b5d1814458d2e79a1"
    assert wheel.url == (
        "https://files.pythonhosted.org/packages/83/47/375ab34f3907a0f40cebe2c3cea3e2c25dcf58e0f591"
        f"991b85604b7258fc/{WASM_2_50_5}"
    )
    # Exactly the version asked, however it is spelled.
    older = pyodide_wheel(REAL, "2.47", xb("314.0.4"))
    assert older is not None
    assert older.filename == "pydantic_core-2.47.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"


def test_no_wheel_where_upstream_published_none_for_that_version_or_abi() -> None:
    # 2.41.5, pyodide-recipes' version: CPython 3.14 wheels for Linux and Windows only.
    assert pyodide_wheel(REAL, "2.41.5", xb("314.0.5")) is None
    assert pyodide_wheel(REAL, "2.49.0", xb("314.0.5")) is None  # not in the excerpt at all
    assert pyodide_wheel(REAL, "2.50.5", xb("0.29.4")) is None  # ABI 2025_0, Python 3.13
    assert pyodide_wheel(REAL, "2.50.5", xb("315.0.0a2")) is None  # 2026_5: only cp315 Linux
    assert pyodide_wheel(REAL, "2.50.5", xb("0.25.1")) is None  # an ABI nobody published
    assert pyodide_wheel(REAL, "not a version", xb("314.0.5")) is None


def test_covers_every_abi_targeted_or_not() -> None:
    assert covers(REAL, "2.50.5", [xb("314.0.5"), xb("314.0.4")])
    assert not covers(REAL, "2.50.5", [xb("314.0.5"), xb("315.0.0a2")])
    assert not covers(REAL, "2.41.5", [xb("314.0.5")])
    assert not covers(REAL, "2.50.5", [])  # nothing targeted: nothing to retire for


# ranking, with made-up names -------------------------------------------------------------------


def test_the_best_fit_wins_by_platform_ranks_order() -> None:
    files = made_up(
        "x-1.0-py3-none-any.whl",
        "x-1.0-cp312-abi3-pyemscripten_2026_0_wasm32.whl",
        "x-1.0-cp314-cp314-pyodide_2026_0_wasm32.whl",
        "x-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
        "x-1.0-cp314-cp314-manylinux_2_28_x86_64.whl",
        "x-1.0.tar.gz",
    )
    assert chosen(files) == "x-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    assert chosen(files[:3]) == "x-1.0-cp314-cp314-pyodide_2026_0_wasm32.whl"  # legacy name
    assert chosen(files[:2]) == "x-1.0-cp312-abi3-pyemscripten_2026_0_wasm32.whl"  # abi3
    assert chosen(files[:1]) is None  # a pure wheel makes a pure-wheel recipe, not this one
    assert chosen(files[4:]) is None


def test_an_old_abi_and_its_emscripten_tag() -> None:
    files = made_up(
        "x-1.0-cp312-cp312-emscripten_3_1_58_wasm32.whl",
        "x-1.0-cp313-cp313-pyemscripten_2025_0_wasm32.whl",
    )
    assert chosen(files, target="0.27.7") == "x-1.0-cp312-cp312-emscripten_3_1_58_wasm32.whl"
    assert chosen(files, target="0.29.4") == "x-1.0-cp313-cp313-pyemscripten_2025_0_wasm32.whl"
    assert chosen(files) is None


def test_yanked_other_versions_and_unmet_requires_python_are_passed_over() -> None:
    name = "x-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    assert chosen(made_up(name, yanked="broken")) is None
    assert chosen(made_up(name, **{"requires-python": "<3.14"})) is None
    assert chosen(made_up(name, **{"requires-python": ">=3.10"})) == name
    assert chosen(made_up(name), version="1.0.1") is None


def test_the_highest_build_tag_wins() -> None:
    files = made_up(
        "x-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
        "x-1.0-2-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
        "x-1.0-10-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
        "x-1.0-0-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
    )
    assert chosen(files) == "x-1.0-10-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    assert chosen(files[:1] + files[3:]) == "x-1.0-0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"


# the recipe ---------------------------------------------------------------------------------


def test_which_recipes_can_take_upstreams_wheel(recipes_root: Path) -> None:
    kinds = {
        name: switchable(load_recipe(recipes_root / name))
        for name in ("pydantic_core", "matplotlib", "polars", "attrs", "libzlib")
    }
    # sdists, a wheel already (prebuilt, pure), a library
    assert kinds == {
        "pydantic_core": True,
        "matplotlib": True,
        "polars": False,
        "attrs": False,
        "libzlib": False,
    }


def switched_folder(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "recipe"
    folder.mkdir()
    (folder / "meta.yaml").write_text(text)
    return folder


def test_pydantic_cores_recipe_on_its_own_wheel(recipes_root: Path, tmp_path: Path) -> None:
    meta = recipes_root / "pydantic_core" / "meta.yaml"
    text = meta.read_text().replace("2.41.5", "2.50.5")  # as a version update would have it
    wheel = pyodide_wheel(REAL, "2.50.5", xb("314.0.5"))
    assert wheel is not None
    switched = wheel_recipe(text, wheel, meta)
    assert switched.replaced == "pydantic_core-2.50.5.tar.gz"
    assert switched.dropped == ("requirements.executable",)  # rustup
    assert switched.left_out == ()
    assert switched.meta_yaml.startswith(
        "# Upstream's own Pyodide wheel is the source, chosen by pyodide-smithy instead of "
        "building pydantic_core-2.50.5.tar.gz; review before building.\npackage:\n"
    )
    assert "  # Warning: pydantic has a pin on pydantic_core" in switched.meta_yaml  # kept
    recipe = load_recipe(switched_folder(tmp_path, switched.meta_yaml))
    assert recipe.kind is BuildKind.PREBUILT_WHEEL
    assert (recipe.source_url, recipe.sha256) == (wheel.url, wheel.sha256)
    assert recipe.run_requirements == ("typing-extensions",)
    assert recipe.maintainers == ("samuelcolvin",)
    assert recipe.executables == ()
    assert load_yaml(switched.meta_yaml.encode())["package"]["tag"] == ["rust"]


def test_what_a_source_build_needed_is_dropped_and_named(recipes_root: Path) -> None:
    meta = recipes_root / "matplotlib" / "meta.yaml"
    made = made_up("matplotlib-3.10.8-cp314-cp314-pyemscripten_2026_0_wasm32.whl")[0]
    switched = wheel_recipe(meta.read_text(), made, meta)
    assert switched.dropped == (
        "source.patches",
        "build.backend-flags",
        "build.cflags",
        "build.cxxflags",
        "build.ldflags",
        "build.script",
        "build.post",
        "requirements.host",
    )
    assert switched.left_out == tuple(
        f"patches/{name}"
        for name in (
            "0001-Disable-timer.patch",
            "0002-Hardcode-font-cache-path.patch",
            "0003-Pyodide-webagg-backend.patch",
            "0004-Fix-32bit-casting.patch",
            "0005-Use-system-freetype.patch",
        )
    )
    data = load_yaml(switched.meta_yaml.encode())
    assert list(data) == ["package", "source", "requirements", "about"]
    assert data["source"] == {"url": made.url, "sha256": made.sha256}
    assert data["requirements"]["run"][:2] == ["contourpy", "cycler"]
    assert data["package"]["top-level"] == ["pylab", "mpl_toolkits", "matplotlib"]


def test_the_layout_of_a_switched_recipe() -> None:
    text = """\
# mine
package:
  name: x
  version: '1.0'  # quoted
source:
  sha256: {old}
  url: https://files.example/x-1.0.tar.gz
  extras:
    - [extras/site.cfg, site.cfg]
  patches: [patches/a.patch, patches/b.patch]
build:
  unvendor-tests: false
  exports: whole_archive
  cross-build-env: true
requirements:
  host: []
  run: [six]
  constraint: [numpy<3]
test:
  imports: [x]
""".format(old="cd" * 32)
    wheel = made_up("x-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl")[0]
    switched = wheel_recipe(text, wheel, Path("meta.yaml"))
    assert switched.meta_yaml == (
        "# Upstream's own Pyodide wheel is the source, chosen by pyodide-smithy instead of "
        "building x-1.0.tar.gz; review before building.\n"
        "package:\n"
        "  name: x\n"
        "  version: '1.0'  # quoted\n"
        "source:\n"
        f"  url: {wheel.url}\n"
        f"  sha256: {'ab' * 32}\n"
        "build:\n"
        "  unvendor-tests: false\n"
        "requirements:\n"
        "  run: [six]\n"
        "test:\n"
        "  imports: [x]\n"
    )
    assert switched.dropped == (
        "source.extras",
        "source.patches",
        "build.exports",
        "build.cross-build-env",
        "requirements.constraint",
    )
    assert switched.left_out == ("patches/a.patch", "patches/b.patch", "extras/site.cfg")


def test_a_recipe_that_is_no_mapping_is_refused() -> None:
    from smithy.errors import RecipeError

    wheel = made_up("x-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl")[0]
    with pytest.raises(RecipeError, match="must be a YAML mapping"):
        wheel_recipe("- a\n", wheel, Path("meta.yaml"))
