"""The manifest records the recipe version it was rendered for, and reads strictly; the build
number moves by that record and by the xbuildenv pin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from smithy.config import FeedstockConfig
from smithy.errors import FeedstockError
from smithy.feedstock.rerender import build_number_change
from smithy.render.manifest import Manifest
from smithy.xbuildenv import load_catalog
from tests.conftest import METADATA

CATALOG = load_catalog(str(METADATA))
OLD, NEW = CATALOG.get("314.0.4"), CATALOG.get("314.0.5")
PATH = Path("feedstock/.pyodide-smithy/manifest.json")


def manifest(recipe_version: str | None = "1.2.0") -> Manifest:
    files = {"README.md": "ab" * 32}
    return Manifest(
        smithy_version="0.1.0", xbuildenv=OLD, inputs="cd" * 32, files=files,
        recipe_version=recipe_version,
    )  # fmt: skip


def data(**changes: Any) -> bytes:
    raw = json.loads(manifest().to_bytes())
    raw.update(changes)
    return json.dumps(raw).encode()


def test_the_recipe_version_is_recorded_and_read_back() -> None:
    content = manifest().to_bytes()
    assert json.loads(content)["recipe-version"] == "1.2.0"
    assert Manifest.from_bytes(content, PATH) == manifest()


def test_a_manifest_from_before_the_key_still_reads_as_unknown() -> None:
    raw = json.loads(manifest().to_bytes())
    del raw["recipe-version"]
    old = Manifest.from_bytes(json.dumps(raw).encode(), PATH)
    assert old.recipe_version is None
    assert "recipe-version" not in json.loads(old.to_bytes())
    assert json.loads(old.to_bytes())["format"] == 1


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"recipe-version": 120}, "'recipe-version' '120' is not a recipe version"),
        ({"recipe-version": ["1.2"]}, "is not a recipe version"),
        ({"recipe-version": "1.2\n  shell: sh"}, "is not a recipe version"),
        ({"recipe-version": "\x1b[2J1.2"}, "is not a recipe version"),
        ({"recipe-version": ""}, "is not a recipe version"),
        ({"pyodide-smithy": 1}, "'pyodide-smithy' must be a string, not int"),
        ({"inputs": None}, "'inputs' must be a string, not NoneType"),
        ({"files": {"README.md": 1}}, "'files' must map paths to sha256 strings"),
        ({"files": ["README.md"]}, "'files' must map paths to sha256 strings"),
        ({"xbuildenv": "314.0.4"}, "unreadable manifest"),
    ],
)
def test_a_value_of_the_wrong_shape_is_an_unreadable_manifest(
    changes: dict[str, Any], said: str
) -> None:
    with pytest.raises(FeedstockError, match="^unreadable manifest: ") as caught:
        Manifest.from_bytes(data(**changes), PATH)
    assert said in str(caught.value)
    assert caught.value.file == str(PATH)


def test_a_manifest_that_is_not_an_object_is_unreadable() -> None:
    with pytest.raises(FeedstockError, match="unreadable manifest: not a JSON object"):
        Manifest.from_bytes(b"[1, 2]", PATH)


def moved(
    number: int, version: str, recorded: Manifest | None, target: str = "314.0.4"
) -> tuple[int, int, str] | None:
    config = FeedstockConfig(xbuildenv="314.0.4", build_number=number)
    change = build_number_change(config, CATALOG.get(target), version, recorded)
    return (change.before, change.after, change.line()) if change else None


def test_a_new_pin_for_the_same_version_bumps_the_number() -> None:
    assert moved(0, "1.2.0", manifest(), "314.0.5") == (
        0,
        1,
        "build-number 0 -> 1: a rebuild of 1.2.0 for xbuildenv 314.0.5",
    )
    assert moved(4, "1.2.0", None, "314.0.5") == (  # no manifest: nothing says it is new
        4,
        5,
        "build-number 4 -> 5: a rebuild of 1.2.0 for xbuildenv 314.0.5",
    )


def test_a_new_version_resets_the_number_and_wins_over_a_new_pin() -> None:
    said = "build-number 3 -> 0: new version 1.3.0 (was 1.2.0)"
    assert moved(3, "1.3.0", manifest()) == (3, 0, said)
    assert moved(3, "1.3.0", manifest(), "314.0.5") == (3, 0, said)
    assert moved(0, "1.3.0", manifest(), "314.0.5") is None  # already 0: nothing to write


def test_nothing_moves_without_a_new_pin_or_a_known_new_version() -> None:
    assert moved(3, "1.2.0", manifest()) is None
    assert moved(3, "1.2.0.0", manifest()) is None  # PEP 440: the same version
    assert moved(3, "1.3.0", manifest(recipe_version=None)) is None  # unknown: no reset
    assert moved(3, "CLAPACK-3.2.1", manifest("CLAPACK-3.2.1")) is None  # a library's words
    assert moved(3, "CLAPACK-3.2.2", manifest("CLAPACK-3.2.1")) == (
        3,
        0,
        "build-number 3 -> 0: new version CLAPACK-3.2.2 (was CLAPACK-3.2.1)",
    )
