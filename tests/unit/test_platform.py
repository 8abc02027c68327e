"""One module answers "what runs where": wheel names, build tags, platform tags, ABIs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from smithy.errors import XBuildEnvError
from smithy.platform import (
    InvalidWheelName,
    abi_of,
    is_pyodide_platform,
    known_abi,
    parse_wheel_name,
    platforms_for,
    rank,
    same_abi,
)
from smithy.xbuildenv import load_catalog
from tests.conftest import METADATA

WASM = "cp314-cp314-pyemscripten_2026_0_wasm32"


def test_a_wheel_name_with_a_build_tag() -> None:
    w = parse_wheel_name(f"Name_x-1.2.0-3-{WASM}.whl")
    assert (w.project, str(w.version), w.build, w.build_number) == ("name-x", "1.2.0", (3, ""), 3)
    assert w.abis == {"2026_0"}
    assert w.platform_family == "pyemscripten_2026_0"
    untagged = parse_wheel_name(f"name_x-1.2.0-{WASM}.whl")
    assert untagged.build == ()
    assert untagged.build_number is None
    zero = parse_wheel_name(f"name_x-1.2.0-0-{WASM}.whl")
    ten = parse_wheel_name(f"name_x-1.2.0-10-{WASM}.whl")
    newer = parse_wheel_name(f"name_x-1.3.0-{WASM}.whl")
    ordered = sorted([ten, newer, zero, untagged, w], key=lambda x: x.sort_key())
    assert [x.filename for x in ordered] == [
        untagged.filename,  # PEP 427: no tag sorts below build 0
        zero.filename,
        w.filename,
        ten.filename,  # numerically, not by text
        newer.filename,  # the version first
    ]


def test_legacy_and_library_tags() -> None:
    legacy = parse_wheel_name("a-1.0-cp312-cp312-pyodide_2024_0_wasm32.whl")
    assert legacy.abis == {"2024_0"}
    assert legacy.platform_family == "pyodide_2024_0"
    library = parse_wheel_name("libx-1.0-0-py3-none-pyemscripten_2026_0_wasm32.whl")
    assert library.abis == {"2026_0"}
    assert not library.pure
    assert library.library
    assert not legacy.library
    assert not parse_wheel_name("a-1.0-py3-none-any.whl").library
    assert parse_wheel_name("a-1.0-py3-none-any.whl").pure
    assert is_pyodide_platform("emscripten_3_1_58_wasm32")
    assert not is_pyodide_platform("manylinux_2_28_x86_64")


@pytest.mark.parametrize("bad", ["a-1.0.whl", "a-1.0-x3-py3-none-any.whl", "a-1.0-py3-none.whl"])
def test_not_a_wheel_name(bad: str) -> None:
    with pytest.raises(InvalidWheelName):
        parse_wheel_name(bad)


def test_the_abi_is_what_pyodide_published_not_a_formula() -> None:
    catalog = load_catalog(str(METADATA))
    assert abi_of(catalog.get("0.27.7")) == "2024_0"
    assert abi_of(catalog.get("0.29.4")) == "2025_0"
    assert abi_of(catalog.get("314.0.5")) == "2026_0"
    assert abi_of(catalog.get("315.0.0a2")) == "2026_5"  # Python 3.15 would be "2027_0" by formula
    x = catalog.get("314.0.5")
    assert abi_of(replace(x, abi_version="2030_1")) == "2030_1"  # the metadata's own wins


def test_an_emscripten_only_bump_is_a_new_abi_only_when_pyodide_says_so() -> None:
    catalog = load_catalog(str(METADATA))
    x = catalog.get("314.0.5")
    unlisted = replace(x, version="314.9.0")  # same Python minor and Emscripten: its peers' ABI
    assert known_abi(unlisted) == "2026_0"
    assert same_abi(x, unlisted)
    bumped = replace(x, version="314.9.0", emscripten_version="5.0.9")  # nobody published it
    assert known_abi(bumped) is None
    assert not same_abi(x, bumped)
    assert bumped.abi_breaking_from(x)
    with pytest.raises(XBuildEnvError, match="Pyodide ABI of xbuildenv 314.9.0"):
        abi_of(bumped)
    declared = replace(bumped, abi_version="2026_0")  # ... until its metadata says
    assert same_abi(x, declared)
    assert not declared.abi_breaking_from(x)


def test_rank_prefers_the_own_abi_then_legacy_then_abi3_then_pure() -> None:
    x = load_catalog(str(METADATA)).get("314.0.5")
    names = {
        0: f"a-1.0-{WASM}.whl",
        1: "a-1.0-cp314-cp314-pyodide_2026_0_wasm32.whl",
        2: "a-1.0-0-py3-none-pyemscripten_2026_0_wasm32.whl",
        3: "a-1.0-cp311-abi3-pyemscripten_2026_0_wasm32.whl",
        4: "a-1.0-py3-none-any.whl",
    }
    for score, name in names.items():
        assert rank(parse_wheel_name(name), x) == score
    assert rank(parse_wheel_name("a-1.0-cp313-cp313-pyemscripten_2026_0_wasm32.whl"), x) is None
    assert rank(parse_wheel_name("a-1.0-cp314-cp314-pyemscripten_2025_0_wasm32.whl"), x) is None
    assert "emscripten_5_0_3_wasm32" in platforms_for(x)
