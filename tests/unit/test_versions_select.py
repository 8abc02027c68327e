"""Which newer release a recipe takes: the newest of the same source kind, yanked files,
pre-releases and ``bot.versions`` respected."""

from __future__ import annotations

from typing import Any

import pytest

from smithy.errors import ConfigError, RecipeError
from smithy.recipe.pypi_index import IndexFile, parse_files
from smithy.versions.select import Update, metadata_file, newest, source_on_index

PAGE = "https://index.example/simple/proj/"


def files(*specs: str | tuple[str, dict[str, Any]]) -> list[IndexFile]:
    """Index files from PEP 691 entries: a file name, or (file name, extra JSON keys)."""
    entries = []
    for spec in specs:
        name, extra = (spec, {}) if isinstance(spec, str) else spec
        digest = f"{abs(hash(name)):064x}"[-64:]
        entries.append(
            {"filename": name, "url": f"../../f/{name}", "hashes": {"sha256": digest}, **extra}
        )
    return parse_files(entries, PAGE)


def pick(listed: list[IndexFile], current: str, filename: str, **kwargs: Any) -> str | None:
    kwargs.setdefault("prereleases", False)
    update = newest(listed, current=current, current_filename=filename, **kwargs)
    return update.filename if update is not None else None


SDISTS = files(
    "proj-1.0.tar.gz",
    "proj-1.1.zip",
    "proj-1.1.tar.gz",
    "proj-1.2.tar.gz",
    "proj-2.0rc1.tar.gz",
    "proj-2.0.dev3.tar.gz",
)


def test_the_newest_final_release_above_the_current_one() -> None:
    update = newest(SDISTS, current="1.0", current_filename="proj-1.0.tar.gz", prereleases=False)
    chosen = next(f for f in SDISTS if f.filename == "proj-1.2.tar.gz")
    assert update == Update(
        name="proj",
        current="1.0",
        version="1.2",
        filename="proj-1.2.tar.gz",
        url="https://index.example/f/proj-1.2.tar.gz",
        sha256=chosen.sha256,
        kind="sdist",
    )


def test_nothing_newer_is_none() -> None:
    assert pick(SDISTS, "1.2", "proj-1.2.tar.gz") is None
    assert pick(SDISTS, "3.0", "proj-3.0.tar.gz") is None
    assert pick([], "1.0", "proj-1.0.tar.gz") is None


def test_prereleases_only_when_opted_in() -> None:
    assert pick(SDISTS, "1.2", "proj-1.2.tar.gz", prereleases=True) == "proj-2.0rc1.tar.gz"
    # dev releases are pre-releases too, and rc1 is newer than dev3
    assert pick(files("proj-2.0.dev3.tar.gz"), "1.2", "x.tar.gz", prereleases=True) == (
        "proj-2.0.dev3.tar.gz"
    )


def test_a_recipe_at_a_prerelease_does_not_opt_in_by_itself() -> None:
    listed = files("proj-2.0rc1.tar.gz", "proj-2.0rc2.tar.gz", "proj-2.1a1.tar.gz")
    assert pick(listed, "2.0rc1", "proj-2.0rc1.tar.gz") is None
    listed += files("proj-2.0.tar.gz")
    assert pick(listed, "2.0rc1", "proj-2.0rc1.tar.gz") == "proj-2.0.tar.gz"


def test_yanked_files_are_skipped() -> None:
    listed = files(
        "proj-1.0.tar.gz",
        ("proj-1.3.tar.gz", {"yanked": "broken wheel tags"}),
        ("proj-1.4.tar.gz", {"yanked": True}),
        "proj-1.2.tar.gz",
    )
    assert pick(listed, "1.0", "proj-1.0.tar.gz") == "proj-1.2.tar.gz"


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ("<2", "proj-1.9.tar.gz"),
        ("<3,!=2.1.0", "proj-2.0.tar.gz"),
        ("!=2.1.*", "proj-2.0.tar.gz"),
        ("~=1.5", "proj-1.9.tar.gz"),
        ("", "proj-2.1.0.tar.gz"),
        (">=3", None),
    ],
)
def test_versions_outside_the_constraint_are_skipped(constraint: str, expected: str) -> None:
    listed = files("proj-1.9.tar.gz", "proj-2.0.tar.gz", "proj-2.1.0.tar.gz")
    assert pick(listed, "1.0", "proj-1.0.tar.gz", constraint=constraint) == expected


def test_a_constraint_with_prereleases_opted_in_keeps_them() -> None:
    listed = files("proj-2.0.tar.gz", "proj-3.0b1.tar.gz")
    assert pick(listed, "1.0", "p.tar.gz", constraint="<4", prereleases=True) == (
        "proj-3.0b1.tar.gz"
    )


@pytest.mark.parametrize("bad", ["< three", "3", "<3\n", "latest"])
def test_an_invalid_constraint_names_bot_versions(bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        newest(
            SDISTS,
            current="1.0",
            current_filename="proj-1.0.tar.gz",
            prereleases=False,
            constraint=bad,
        )
    assert info.value.key == "bot.versions"


def test_an_invalid_current_version_is_a_recipe_error() -> None:
    with pytest.raises(RecipeError) as info:
        pick(SDISTS, "1.0-custom build", "proj-1.0.tar.gz")
    assert info.value.key == "package.version"


# same kind of source ---------------------------------------------------------------------------


def test_an_sdist_stays_an_sdist_and_prefers_tar_gz() -> None:
    assert pick(SDISTS, "1.0", "proj-1.0.tar.gz", constraint="<1.2") == "proj-1.1.tar.gz"
    listed = files("proj-1.1.zip", "proj-1.1-py3-none-any.whl")
    assert pick(listed, "1.0", "proj-1.0.tar.gz") == "proj-1.1.zip"


def test_a_wheels_only_release_is_passed_over_for_an_sdist_recipe() -> None:
    listed = files(
        "proj-1.1.tar.gz",
        "proj-1.2-py3-none-any.whl",
        "proj-1.2-cp313-cp313-manylinux_2_17_x86_64.whl",
    )
    update = newest(listed, current="1.0", current_filename="proj-1.0.tar.gz", prereleases=False)
    assert update is not None
    assert (update.version, update.kind) == ("1.1", "sdist")


def test_a_pure_wheel_stays_pure() -> None:
    listed = files(
        "proj-1.1-py3-none-any.whl",
        "proj-1.1.tar.gz",
        "proj-1.2.tar.gz",
        "proj-1.2-cp313-cp313-pyodide_2025_0_wasm32.whl",
        "proj-1.2-cp313-cp313-manylinux_2_17_x86_64.whl",
    )
    update = newest(
        listed, current="1.0", current_filename="proj-1.0-py3-none-any.whl", prereleases=False
    )
    assert update is not None
    assert (update.filename, update.kind) == ("proj-1.1-py3-none-any.whl", "wheel")


def test_a_pure_wheel_prefers_its_own_tags() -> None:
    listed = files("proj-1.1-py2.py3-none-any.whl", "proj-1.1-py3-none-any.whl")
    assert pick(listed, "1.0", "proj-1.0-py3-none-any.whl") == "proj-1.1-py3-none-any.whl"
    assert pick(listed, "1.0", "proj-1.0-py2.py3-none-any.whl") == "proj-1.1-py2.py3-none-any.whl"


# pydantic-core's file list, as PyPI lists it: one Pyodide wheel among many platforms
PYDANTIC_CORE = files(
    "pydantic_core-2.41.5.tar.gz",
    "pydantic_core-2.41.5-cp313-cp313-pyodide_2025_0_wasm32.whl",
    "pydantic_core-2.41.5-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "pydantic_core-2.42.0.tar.gz",
    "pydantic_core-2.42.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
    "pydantic_core-2.42.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "pydantic_core-2.43.0.tar.gz",
    "pydantic_core-2.43.0-cp313-cp313-pyemscripten_2025_0_wasm32.whl",
    "pydantic_core-2.43.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
    "pydantic_core-2.44.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
)


def test_a_pyodide_wheel_stays_on_its_abi_in_either_spelling() -> None:
    was = "pydantic_core-2.41.5-cp313-cp313-pyodide_2025_0_wasm32.whl"
    assert pick(PYDANTIC_CORE, "2.41.5", was) == (
        "pydantic_core-2.43.0-cp313-cp313-pyemscripten_2025_0_wasm32.whl"
    )
    was = "pydantic_core-2.42.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    assert pick(PYDANTIC_CORE, "2.42.0", was) == (
        "pydantic_core-2.44.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    )
    # the sdist recipe of the same project moves to the newest sdist, never to a wheel
    assert pick(PYDANTIC_CORE, "2.41.5", "pydantic_core-2.41.5.tar.gz") == (
        "pydantic_core-2.43.0.tar.gz"
    )


def test_a_pyodide_wheel_prefers_the_same_tags_when_a_release_has_both_spellings() -> None:
    listed = files(
        "proj-1.1-cp313-cp313-pyemscripten_2025_0_wasm32.whl",
        "proj-1.1-cp313-cp313-pyodide_2025_0_wasm32.whl",
    )
    assert pick(listed, "1.0", "proj-1.0-cp313-cp313-pyodide_2025_0_wasm32.whl") == (
        "proj-1.1-cp313-cp313-pyodide_2025_0_wasm32.whl"
    )


def test_a_library_wheel_stays_on_its_abi() -> None:
    listed = files(
        "libfoo-2.0-py3-none-pyemscripten_2026_0_wasm32.whl",
        "libfoo-2.1-py3-none-pyemscripten_2026_5_wasm32.whl",
        "libfoo-2.1-py3-none-any.whl",
    )
    assert pick(listed, "1.0", "libfoo-1.0-py3-none-pyemscripten_2026_0_wasm32.whl") == (
        "libfoo-2.0-py3-none-pyemscripten_2026_0_wasm32.whl"
    )


def test_a_recipe_named_wheel_that_is_no_wheel_name_is_a_recipe_error() -> None:
    with pytest.raises(RecipeError) as info:
        pick(PYDANTIC_CORE, "1.0", "download.whl")
    assert info.value.key == "source.url"


def test_files_whose_requires_python_excludes_the_target_are_skipped() -> None:
    listed = files(
        ("proj-1.1.tar.gz", {"requires-python": ">=3.10"}),
        ("proj-1.2.tar.gz", {"requires-python": ">=3.14"}),
    )
    assert pick(listed, "1.0", "proj-1.0.tar.gz", python="3.13.2") == "proj-1.1.tar.gz"
    assert pick(listed, "1.0", "proj-1.0.tar.gz") == "proj-1.2.tar.gz"


def test_the_name_is_the_projects_normalized_name() -> None:
    update = newest(
        files("Foo_Bar-1.1.tar.gz"), current="1", current_filename="x.tar.gz", prereleases=False
    )
    assert update is not None
    assert update.name == "foo-bar"


# helpers for the bot ----------------------------------------------------------------------------


def test_source_on_index_finds_the_recipes_file_by_its_sha256() -> None:
    first = SDISTS[0]
    assert source_on_index(SDISTS, first.sha256.upper()) == first
    assert source_on_index(SDISTS, "0" * 64) is None


def test_metadata_file_prefers_the_named_file_then_a_wheel() -> None:
    listed = files(
        ("proj-1.1.tar.gz", {"core-metadata": True}),
        ("proj-1.1-py3-none-any.whl", {"core-metadata": {"sha256": "ab" * 32}}),
        "proj-1.2-py3-none-any.whl",
    )
    chosen = metadata_file(listed, "1.1")
    assert chosen is not None
    assert chosen.filename == "proj-1.1-py3-none-any.whl"
    chosen = metadata_file(listed, "1.1", "proj-1.1.tar.gz")
    assert chosen is not None
    assert chosen.filename == "proj-1.1.tar.gz"
    assert metadata_file(listed, "1.2") is None
    assert metadata_file(listed, "not a version") is None
