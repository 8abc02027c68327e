"""Recipe generation against a real HTTP server on 127.0.0.1 serving a fake PEP 691 index.

The last test (marked ``network``) reaches the real https://pypi.org/simple/; it is opt-in.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pyodide_build.recipe.spec import MetaConfig
from ruamel.yaml import YAML

from smithy.errors import NetworkError, RecipeNotFoundError
from smithy.recipe.pypi import GeneratedRecipe, generate_recipe
from smithy.recipe.rangefile import HTTPRangeFile
from tests.integration.pypi_server import (
    FakeIndex,
    Served,
    metadata,
    noise,
    sdist,
    serve,
    sha256,
    wheel,
)

pytestmark = pytest.mark.integration

PY = "3.14.2"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


# the fake index -------------------------------------------------------------------------------


PURE_META = metadata(
    "Pure-Pkg",
    "2.0",
    'Summary: Pure: a "test" package # not a comment',
    "License-Expression: MIT OR Apache-2.0",
    "Project-URL: Source, https://git.example/pure-pkg",
    "Requires-Dist: six>=1.5",
    "Requires-Dist: tomli; python_version < '3.11'",
    "Requires-Dist: pytest; extra == 'test'",
    "Requires-Dist: attrs[tests]>=22",
    "Requires-Dist: pywin32; sys_platform == 'win32'",
)
PLAT_WHEEL_FILES = {
    "platpkg/__init__.py": b"",
    "platpkg/_core.cpython-314-x86_64-linux-gnu.so": noise(1000),
    "_platpkg_speedups.cpython-314-x86_64-linux-gnu.so": noise(1000),
    "platpkg.libs/libblas-1234.so": noise(300_000),
}


def populate(index: FakeIndex) -> None:
    pure_files = {"pure_pkg/_blob.bin": noise(400_000), "pure_pkg/__init__.py": b""}
    pure_wheel = wheel("pure_pkg", "2.0", "py3-none-any", pure_files, PURE_META)
    old_meta = metadata("Pure-Pkg", "1.0", "Summary: old")
    index.add_project(
        "pure-pkg",
        [
            wheel("pure_pkg", "1.0", "py3-none-any", {"pure_pkg/__init__.py": b""}, old_meta),
            sdist("pure_pkg", "1.0", {"PKG-INFO": metadata("Pure-Pkg", "1.0")}),
            pure_wheel | {"metadata": PURE_META},
            sdist("pure_pkg", "2.0", {"PKG-INFO": PURE_META}),
            wheel("pure_pkg", "2.1", "py3-none-any", {}, metadata("Pure-Pkg", "2.1"))
            | {"json": {"requires-python": ">=3.15"}},
            wheel("pure_pkg", "2.5", "py3-none-any", {}, metadata("Pure-Pkg", "2.5"))
            | {"json": {"yanked": "broken"}},
            wheel("pure_pkg", "3.0rc1", "py3-none-any", {}, metadata("Pure-Pkg", "3.0rc1")),
        ],
    )
    no_ranges_files = {"noranges/__init__.py": b"", "noranges/data.bin": noise(300_000)}
    no_ranges_meta = metadata("noranges", "0.3", "Summary: no ranges here", "License: BSD")
    no_ranges = wheel(
        "noranges",
        "0.3",
        "py2.py3-none-any",
        no_ranges_files,
        no_ranges_meta,
        top_level="noranges\n_noranges_c\n",
    )
    index.add_project("noranges", [no_ranges | {"ranges": False, "size": False}], absolute=True)

    sdist_meta = metadata(
        "Sdist_Only",
        "1.2",
        "Summary: from PKG-INFO",
        "Classifier: License :: OSI Approved :: BSD License",
        "Home-page: https://sdist.example",
        "Requires-Dist: numpy",
    )
    sdist_files = {
        "PKG-INFO": sdist_meta,
        "setup.py": b"",
        "docs/conf.py": b"",
        "tests/__init__.py": b"",
        "src/sdist_only/__init__.py": b"",
        "src/sdist_only/core.py": b"",
        "src/sdist_only.egg-info/PKG-INFO": sdist_meta,
    }
    index.add_project(
        "sdist-only",
        [
            sdist("sdist_only", "1.2", sdist_files, zip_=True),
            sdist("sdist_only", "1.2", sdist_files),
            {"filename": "sdist_only-1.2.win32.exe", "body": b"MZ"},
        ],
    )
    c_files = {"PKG-INFO": metadata("c-only", "0.2"), "c_only/__init__.py": b"", "c_only/_x.c": b""}
    index.add_project("c-only", [sdist("c_only", "0.2", c_files)])
    zip_files = {"PKG-INFO": metadata("zip-only", "0.1", "Summary: zipped"), "zip_only.py": b""}
    index.add_project("zip-only", [sdist("zip_only", "0.1", zip_files, zip_=True)])

    plat = metadata("platpkg", "4.0", "Summary: from the metadata file", "Requires-Dist: cffi")
    linux = metadata("platpkg", "4.0", "Summary: from the linux wheel")
    index.add_project(
        "platpkg",
        [
            wheel("platpkg", "4.0", "cp314-cp314-manylinux_2_28_x86_64", PLAT_WHEEL_FILES, linux),
            wheel("platpkg", "4.0", "cp314-cp314-win_amd64", {"platpkg/__init__.py": b""}, plat)
            | {"metadata": plat, "json": {"size": 10**9}},
            sdist("platpkg", "4.0", {"PKG-INFO": metadata("platpkg", "4.0", "Summary: sdist")}),
        ],
    )
    data_only = {"no_data-1.0.data/data/share/x.txt": b"x"}
    index.add_project(
        "no-data", [wheel("no_data", "1.0", "py3-none-any", data_only, metadata("No.Data", "1.0"))]
    )
    index.add_project(
        "onlyplatform",
        [wheel("onlyplatform", "1.0", "cp314-cp314-win_amd64", {}, metadata("onlyplatform", "1"))],
    )


@pytest.fixture(scope="module")
def server() -> Iterator[FakeIndex]:
    with serve(FakeIndex()) as index:
        populate(index)
        yield index


@pytest.fixture
def index(server: FakeIndex, monkeypatch: pytest.MonkeyPatch) -> FakeIndex:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    monkeypatch.setenv("PYODIDE_SMITHY_INDEX_URL", f"{server.base}/simple")
    server.hits.clear()
    return server


def check(recipe: GeneratedRecipe) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(recipe.meta_yaml)
    MetaConfig.from_dict(data)
    assert data["source"]["url"] == recipe.source_url
    assert data["package"]["top-level"] == data["test"]["imports"]
    return data


# tests ----------------------------------------------------------------------------------------


def test_pure_wheel_with_metadata_file_and_ranges(index: FakeIndex) -> None:
    recipe = generate_recipe("Pure_Pkg", python_version=PY)
    data = check(recipe)
    filename = "pure_pkg-2.0-py3-none-any.whl"
    assert (recipe.name, recipe.version, recipe.pure_wheel) == ("Pure-Pkg", "2.0", True)
    assert recipe.source_url == f"{index.base}/files/{filename}"
    assert data["package"] == {"name": "Pure-Pkg", "version": "2.0", "top-level": ["pure_pkg"]}
    assert data["source"]["sha256"] == sha256(index.routes[f"/files/{filename}"].body)
    assert data["requirements"] == {"run": ["six", "attrs"]}
    assert data["about"] == {
        "home": "https://git.example/pure-pkg",
        "PyPI": "https://pypi.org/project/Pure-Pkg",
        "summary": 'Pure: a "test" package # not a comment',
        "license": "MIT OR Apache-2.0",
    }
    assert recipe.meta_yaml.startswith(
        f"# Generated from PyPI by pyodide-smithy (source: {filename}); review before building.\n"
    )
    # The metadata came from the PEP 658 file; the wheel was only read in ranges.
    assert [hit.status for hit in index.requests_for(f"{filename}.metadata")] == [200]
    wheel_hits = index.requests_for(filename)
    assert wheel_hits
    assert all(hit.status == 206 and hit.range for hit in wheel_hits)
    assert sum(hit.sent for hit in wheel_hits) < len(index.routes[f"/files/{filename}"].body) / 2
    assert not index.requests_for("pure_pkg-2.0.tar.gz")
    # Deterministic.
    assert generate_recipe("pure-pkg", python_version=PY) == recipe


def test_pinned_version(index: FakeIndex) -> None:
    recipe = generate_recipe("pure-pkg==1.0", python_version=PY, index_url=f"{index.base}/simple/")
    data = check(recipe)
    assert recipe.version == "1.0"
    assert recipe.source_url.endswith("/files/pure_pkg-1.0-py3-none-any.whl")
    assert data["about"]["summary"] == "old"  # from the wheel's own METADATA
    assert "requirements" not in data
    with pytest.raises(RecipeNotFoundError) as info:
        generate_recipe("pure-pkg==9", python_version=PY)
    assert "no version 9" in str(info.value)
    assert "newest: 3.0rc1, 2.1, 2.0, 1.0" in str(info.value)


def test_server_ignoring_ranges_gives_the_whole_wheel_once(index: FakeIndex) -> None:
    recipe = generate_recipe("noranges", python_version=PY)
    data = check(recipe)
    filename = "noranges-0.3-py2.py3-none-any.whl"
    assert recipe.source_url == f"{index.base}/files/{filename}"
    assert recipe.pure_wheel
    assert data["package"]["top-level"] == ["_noranges_c", "noranges"]  # from top_level.txt
    assert data["about"]["summary"] == "no ranges here"  # from the wheel's METADATA
    assert data["about"]["license"] == "BSD"
    assert data["about"]["home"] == "https://pypi.org/project/noranges"
    hits = index.requests_for(filename)
    assert [(hit.status, hit.sent) for hit in hits] == [
        (200, len(index.routes[f"/files/{filename}"].body))
    ]
    assert not index.requests_for(f"{filename}.metadata")


def test_sdist_only_project(index: FakeIndex) -> None:
    recipe = generate_recipe("sdist-only", python_version=PY)
    data = check(recipe)
    assert (recipe.name, recipe.version, recipe.pure_wheel) == ("Sdist_Only", "1.2", False)
    assert recipe.pure_sdist  # no binary wheel, nothing to compile in the sdist
    assert recipe.source_url.endswith("/files/sdist_only-1.2.tar.gz")
    assert data["package"]["top-level"] == ["sdist_only"]
    assert data["requirements"]["run"] == ["numpy"]
    assert data["about"] == {
        "home": "https://sdist.example",
        "PyPI": "https://pypi.org/project/Sdist_Only",
        "summary": "from PKG-INFO",
        "license": "BSD License",
    }
    assert len(index.requests_for("sdist_only-1.2.tar.gz")) == 1  # downloaded once
    assert not index.requests_for("sdist_only-1.2.zip")


def test_zip_sdist_only_project(index: FakeIndex) -> None:
    recipe = generate_recipe("zip_only", python_version=PY)
    data = check(recipe)
    assert recipe.source_url.endswith("/files/zip_only-0.1.zip")
    assert data["package"]["top-level"] == ["zip_only"]
    assert data["about"]["summary"] == "zipped"
    assert recipe.pure_sdist


def test_an_sdist_with_c_sources_is_not_called_pure(index: FakeIndex) -> None:
    recipe = generate_recipe("c-only", python_version=PY)
    check(recipe)
    assert not recipe.pure_wheel
    assert not recipe.pure_sdist


def test_platform_wheels_and_sdist(index: FakeIndex) -> None:
    recipe = generate_recipe("platpkg", python_version=PY)
    data = check(recipe)
    assert not recipe.pure_wheel
    assert not recipe.pure_sdist  # it publishes binary wheels
    assert recipe.source_url.endswith("/files/platpkg-4.0.tar.gz")
    # Names from the (smallest) platform wheel, read in ranges; metadata from the metadata file
    # another wheel advertises; the sdist itself is never downloaded.
    assert data["package"]["top-level"] == ["_platpkg_speedups", "platpkg"]
    assert data["about"]["summary"] == "from the metadata file"
    assert data["requirements"]["run"] == ["cffi"]
    linux = "platpkg-4.0-cp314-cp314-manylinux_2_28_x86_64.whl"
    assert all(hit.status == 206 for hit in index.requests_for(linux))
    assert sum(hit.sent for hit in index.requests_for(linux)) < 300_000
    assert not index.requests_for("platpkg-4.0-cp314-cp314-win_amd64.whl")
    assert not index.requests_for("platpkg-4.0.tar.gz")


def test_no_importable_names_falls_back_to_the_project_name(index: FakeIndex) -> None:
    data = check(generate_recipe("no.data", python_version=PY))
    assert data["package"]["name"] == "No.Data"
    assert data["package"]["top-level"] == ["no_data"]


def test_unknown_project_and_no_usable_file(index: FakeIndex) -> None:
    with pytest.raises(RecipeNotFoundError) as info:
        generate_recipe("missing", python_version=PY)
    assert str(info.value) == f"no project 'missing' on the package index {index.base}/simple/"
    with pytest.raises(RecipeNotFoundError, match="neither a pure Python wheel"):
        generate_recipe("onlyplatform", python_version=PY)


@pytest.mark.parametrize("size", [None, "right"])
def test_range_file_reads_like_bytes(index: FakeIndex, size: str | None) -> None:
    data = noise(500_000)
    index.routes["/files/blob.bin"] = Served(data)
    url = f"{index.base}/files/blob.bin"
    blob = HTTPRangeFile(url, what="a test blob", size=len(data) if size else None, tail=1000)
    assert blob.size == len(data)
    rng = random.Random(1)
    for _ in range(50):
        start, n = rng.randrange(len(data)), rng.randrange(1, 100_000)
        blob.seek(start)
        assert blob.read(n) == data[start : start + n]
    assert blob.seek(-10, 2) == len(data) - 10
    assert blob.read() == data[-10:]
    assert blob.read(5) == b""
    assert not blob.whole_body
    hits = index.requests_for("blob.bin")
    assert hits[0].range == (f"bytes={len(data) - 1000}-{len(data) - 1}" if size else "bytes=-1000")
    assert all(hit.status == 206 for hit in hits)


def test_range_file_size_mismatch(index: FakeIndex) -> None:
    index.routes["/files/blob.bin"] = Served(b"0123456789")
    with pytest.raises(NetworkError, match="the index said 11"):
        HTTPRangeFile(f"{index.base}/files/blob.bin", what="a test blob", size=11)


# real PyPI (opt-in) ---------------------------------------------------------------------------


@pytest.mark.network
def test_real_pypi_attrs_and_numpy() -> None:
    started = time.perf_counter()
    numpy = generate_recipe("numpy", python_version=PY, index_url="https://pypi.org/simple/")
    elapsed = time.perf_counter() - started
    data = check(numpy)
    assert not numpy.pure_wheel
    assert numpy.source_url.endswith(".tar.gz")
    assert data["package"]["top-level"] == ["numpy"]
    assert elapsed < 3, elapsed

    attrs = generate_recipe("attrs", python_version=PY, index_url="https://pypi.org/simple/")
    data = check(attrs)
    assert attrs.pure_wheel
    assert attrs.source_url.endswith("-py3-none-any.whl")
    assert data["package"]["top-level"] == ["attr", "attrs"]
    assert data["about"]["PyPI"] == "https://pypi.org/project/attrs"
