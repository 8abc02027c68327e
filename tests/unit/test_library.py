"""Library wheels: what a library build packs, and what a dependent's build trusts of one."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from smithy.build.library import PLACEHOLDER, library_wheel, snapshot
from smithy.build.model import BuildError
from smithy.library import LibraryManifestError, parse_manifest, read_manifest
from smithy.recipe.model import BuildKind, Recipe
from smithy.xbuildenv import PINNED_DEFAULT

RECIPE = Recipe(
    name="libx",
    version="1.2",
    kind=BuildKind.SHARED_LIBRARY,
    directory=Path("/r/recipe"),
    source_url=None,
    sha256=None,
    summary=None,
    license="MIT\nRequires-Dist: evil",
    home=None,
    pypi=None,
    maintainers=(),
    top_level=(),
    imports=(),
    run_requirements=("libdep",),
    host_requirements=(),
    executables=(),
    test_files=(),
)


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def runtime_zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def test_a_shared_library_wheel(tmp_path: Path) -> None:
    libs = tmp_path / ".libs"
    write(libs, {"include/dep.h": "from a host requirement\n"})
    before = snapshot(libs)
    write(
        libs,
        {
            "include/x.h": "int x;\n",
            "lib/libx.so.1": "\0asm-x",
            "lib/libx.la": f"libdir='{libs}/lib'\n",
            "lib/pkgconfig/x.pc": f"prefix={libs}\nlibdir=${{prefix}}/lib\n",
            "lib/cmake/x/XConfig.cmake": f"set(X_ROOT {libs})\n",
        },
    )
    (libs / "lib" / "libx.so").symlink_to("libx.so.1")
    made = library_wheel(
        RECIPE,
        BuildKind.SHARED_LIBRARY,
        PINNED_DEFAULT,
        libs=libs,
        before=before,
        runtime_zip=runtime_zip(tmp_path / "libx-1.2.zip", {"libx.so.1": "\0asm-x"}),
        out=tmp_path / "out",
    )
    assert made.name == "libx-1.2-py3-none-pyemscripten_2026_0_wasm32.whl"
    with zipfile.ZipFile(made) as archive:
        names = set(archive.namelist())
        manifest = read_manifest(archive, "libx")
        pc = archive.read("libx/prefix/lib/pkgconfig/x.pc").decode()
        cmake = archive.read("libx/prefix/lib/cmake/x/XConfig.cmake").decode()
        metadata = archive.read("libx-1.2.dist-info/METADATA").decode()
        entry_points = archive.read("libx-1.2.dist-info/entry_points.txt").decode()
    assert manifest is not None
    assert manifest.runtime == {"lib/libx.so": "libx.so.1", "lib/libx.so.1": "libx.so.1"}
    assert "libx.so.1" in names  # at the top, once
    assert not [n for n in names if n.startswith("libx/prefix/lib/libx.so")]
    assert "libx/prefix/include/dep.h" not in names  # a host requirement's, not this library's
    assert "libx/prefix/lib/libx.la" not in names
    assert pc.startswith("prefix=${pcfiledir}/../..\n")
    assert cmake == f"set(X_ROOT {PLACEHOLDER})\n"
    assert "Requires-Dist: libdep" in metadata
    assert "evil" not in metadata  # a multi-line licence makes no header of its own
    assert "libx = libx.prefix.lib.pkgconfig" in entry_points


def test_a_static_library_has_no_runtime_files(tmp_path: Path) -> None:
    libs = tmp_path / ".libs"
    before = snapshot(libs)
    write(libs, {"lib/libx.a": "!<arch>\n", "include/x.h": ""})
    recipe = replace(RECIPE, kind=BuildKind.STATIC_LIBRARY, license="MIT")
    made = library_wheel(
        recipe,
        BuildKind.STATIC_LIBRARY,
        PINNED_DEFAULT,
        libs=libs,
        before=before,
        runtime_zip=None,
        out=tmp_path,
    )
    with zipfile.ZipFile(made) as archive:
        manifest = read_manifest(archive, "libx")
        assert "License: MIT" in archive.read("libx-1.2.dist-info/METADATA").decode()
    assert manifest is not None
    assert (manifest.kind, manifest.runtime) == ("static_library", {})


def test_a_library_build_that_made_nothing_or_a_bad_version(tmp_path: Path) -> None:
    libs = tmp_path / ".libs"
    libs.mkdir()
    before = snapshot(libs)

    def pack(recipe: Recipe, kind: BuildKind) -> Path:
        return library_wheel(
            recipe, kind, PINNED_DEFAULT, libs=libs, before=before, runtime_zip=None, out=tmp_path
        )

    with pytest.raises(BuildError, match="installed nothing"):
        pack(RECIPE, BuildKind.STATIC_LIBRARY)
    with pytest.raises(BuildError, match="no zip of the shared library"):
        pack(RECIPE, BuildKind.SHARED_LIBRARY)
    with pytest.raises(BuildError, match="'CLAPACK-3.2.1' is not a PEP 440 version"):
        pack(replace(RECIPE, version="CLAPACK-3.2.1"), BuildKind.STATIC_LIBRARY)


GOOD = {"format": 1, "name": "libx", "version": "1.0", "kind": "shared_library", "runtime": {}}


@pytest.mark.parametrize(
    "bad",
    [
        [],
        GOOD | {"format": 2},
        GOOD | {"kind": "package"},
        GOOD | {"name": 3},
        GOOD | {"runtime": {"../../etc/x": "libx.so"}},
        GOOD | {"runtime": {"lib/libx.so": "/abs/libx.so"}},
        GOOD | {"runtime": {"lib/libx.so": 1}},
        GOOD | {"kind": "static_library", "runtime": {"lib/libx.so": "libx.so"}},
    ],
)
def test_a_manifest_from_the_channel_is_read_defensively(bad: object) -> None:
    with pytest.raises(LibraryManifestError, match="libx/library.json"):
        parse_manifest(bad, "libx/library.json")


def test_a_manifest_in_a_wheel(tmp_path: Path) -> None:
    path = tmp_path / "w.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("libx/library.json", json.dumps(GOOD))
        archive.writestr("other/library.json", "{not json")
    with zipfile.ZipFile(path) as archive:
        manifest = read_manifest(archive, "libx")
        assert manifest is not None
        assert manifest.prefix == "libx/prefix"
        assert read_manifest(archive, "nolib") is None
        with pytest.raises(LibraryManifestError, match="not JSON"):
            read_manifest(archive, "other")
