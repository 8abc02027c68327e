"""``init`` takes upstream's own Pyodide wheel as the recipe's source when the package index
(a stand-in over real HTTP here; real PyPI in the network test) has one for the version and the
xbuildenv's ABI, and ``build`` of that feedstock publishes it with a build tag."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smithy.recipe.load import load_recipe
from smithy.recipe.model import BuildKind
from tests.conftest import METADATA
from tests.helpers import load_yaml
from tests.integration.conftest import smithy
from tests.integration.pypi_server import FakeIndex, metadata, sdist, serve, sha256
from tests.wheels import make_wheel

WASM = "cp314-cp314-pyemscripten_2026_0_wasm32"  # Pyodide 314's ABI, as pydantic-core's
WHEEL = f"wasmpkg-1.0-{WASM}.whl"
MODULE = {"wasmpkg/__init__.py": "from wasmpkg._core import answer\n", "wasmpkg/_core.so": "wasm"}


def upstream_files(tmp_path: Path, *tags: str, yanked: str = "") -> list[dict[str, Any]]:
    """wasmpkg 1.0 as a Rust project publishes it: an sdist and a wheel per tag in ``tags``
    (with its PEP 658 metadata file), ``yanked`` naming a tag whose wheel is yanked."""
    meta = metadata("wasmpkg", "1.0", "Summary: A Rust extension", "Requires-Dist: six")
    python = {f"python/{name}": text.encode() for name, text in MODULE.items()}
    sources = {"PKG-INFO": meta, "Cargo.toml": b"[package]\n", "src/lib.rs": b"", **python}
    files = [sdist("wasmpkg", "1.0", sources)]
    for tag in tags:
        made = make_wheel(
            tmp_path / "upstream", "wasmpkg", "1.0", tag=tag, files=MODULE, requires=("six",)
        )
        extra = {"json": {"yanked": "broken"}} if tag == yanked else {}
        files.append({"filename": made.name, "body": made.read_bytes(), "metadata": meta, **extra})
    return files


@pytest.fixture
def index() -> Iterator[FakeIndex]:
    with serve(FakeIndex()) as served:
        yield served


def env(index: FakeIndex) -> dict[str, str]:
    return {"PYODIDE_SMITHY_INDEX_URL": f"{index.base}/simple/", "NO_PROXY": "127.0.0.1"}


def recipe_of(feedstock: Path) -> dict[str, Any]:
    data: dict[str, Any] = load_yaml((feedstock / "recipe" / "meta.yaml").read_bytes())
    return data


def test_init_uses_upstreams_wheel_and_build_publishes_it(tmp_path: Path, index: FakeIndex) -> None:
    index.add_project(
        "wasmpkg", upstream_files(tmp_path, WASM, "cp314-cp314-manylinux_2_28_x86_64")
    )
    run = smithy("init", "wasmpkg", cwd=tmp_path, env=env(index))
    assert run.code == 0, run.err
    lines = run.err.splitlines()
    assert lines[-2] == (
        f"using new recipe for wasmpkg 1.0 generated from {index.base}/simple/ "
        "(sdist, built with Emscripten)"
    )
    assert lines[-1] == (
        f"using upstream's Pyodide wheel {WHEEL} instead of building wasmpkg-1.0.tar.gz "
        "(pass --from-source to build it)"
    )
    feedstock = tmp_path / "wasmpkg-feedstock"
    source = recipe_of(feedstock)["source"]
    assert source == {
        "url": f"{index.base}/files/{WHEEL}",
        "sha256": sha256(index.routes[f"/files/{WHEEL}"].body),
    }
    assert recipe_of(feedstock)["requirements"] == {"run": ["six"]}
    assert load_recipe(feedstock / "recipe").kind is BuildKind.PREBUILT_WHEEL
    flow = (feedstock / ".github" / "workflows" / "build.yml").read_text()
    assert "install-emscripten" not in flow
    assert "prebuilt Emscripten wheel fetched and checked" in (feedstock / "README.md").read_text()
    # The index's page was read once: generating the recipe and looking for the wheel share it.
    assert [hit.path for hit in index.hits].count("/simple/wasmpkg/") == 1

    index.hits.clear()
    built = smithy("build", "--output", tmp_path / "dist", cwd=feedstock, env=env(index))
    assert built.code == 0, built.err
    wheel = tmp_path / "dist" / f"wasmpkg-1.0-0-{WASM}.whl"
    assert built.out.strip() == str(wheel)
    assert [hit.path for hit in index.hits] == [f"/files/{WHEEL}"]
    with zipfile.ZipFile(wheel) as archive:
        assert {n for n in archive.namelist() if not n.startswith("wasmpkg-1.0")} == set(MODULE)
        assert archive.read("wasmpkg/_core.so") == b"wasm"
        assert "Requires-Dist: six" in archive.read("wasmpkg-1.0.dist-info/METADATA").decode()


def test_from_source_keeps_the_sdist(tmp_path: Path, index: FakeIndex) -> None:
    index.add_project("wasmpkg", upstream_files(tmp_path, WASM))
    run = smithy("init", "wasmpkg", "--from-source", cwd=tmp_path, env=env(index))
    assert run.code == 0, run.err
    assert "upstream's Pyodide wheel" not in run.err
    feedstock = tmp_path / "wasmpkg-feedstock"
    assert recipe_of(feedstock)["source"]["url"] == f"{index.base}/files/wasmpkg-1.0.tar.gz"
    assert load_recipe(feedstock / "recipe").kind is BuildKind.COMPILED


def test_a_wheel_for_another_abi_or_yanked_is_not_taken(tmp_path: Path, index: FakeIndex) -> None:
    older_abi = "cp313-cp313-pyemscripten_2025_0_wasm32"  # Pyodide 0.28/0.29
    index.add_project("wasmpkg", upstream_files(tmp_path, older_abi, WASM, yanked=WASM))
    run = smithy("init", "wasmpkg", cwd=tmp_path, env=env(index))
    assert run.code == 0, run.err
    assert "upstream's Pyodide wheel" not in run.err
    assert recipe_of(tmp_path / "wasmpkg-feedstock")["source"]["url"].endswith(
        "/wasmpkg-1.0.tar.gz"
    )
    # The same index for a feedstock of the older ABI: its wheel is taken.
    older_args = ("init", "wasmpkg", "--xbuildenv", "0.29.4", "-o", tmp_path / "old")
    older = smithy(*older_args, cwd=tmp_path, env=env(index))
    assert older.code == 0, older.err
    assert f"using upstream's Pyodide wheel wasmpkg-1.0-{older_abi}.whl" in older.err


LOCAL_RECIPE = """\
package:
  name: wasmpkg
  version: 1.0.0
  top-level: [wasmpkg]
source:
  url: {url}
  sha256: {sha}
  patches:
    - patches/0001-emscripten.patch
build:
  script: cargo --version
  cflags: -O3
requirements:
  host: [numpy]
  run: [six]
  executable: [rustup]
test:
  imports: [wasmpkg]
about:
  license: MIT
extra:
  recipe-maintainers: [alice]
"""


def local_recipe(tmp_path: Path, index: FakeIndex) -> Path:
    folder = tmp_path / "mine" / "wasmpkg"
    (folder / "patches").mkdir(parents=True)
    (folder / "patches" / "0001-emscripten.patch").write_text("--- a\n+++ b\n")
    (folder / "test_wasmpkg.py").write_text("def test_it(): pass\n")
    sdist_body = index.routes["/files/wasmpkg-1.0.tar.gz"].body
    text = LOCAL_RECIPE.format(url=f"{index.base}/files/wasmpkg-1.0.tar.gz", sha=sha256(sdist_body))
    (folder / "meta.yaml").write_text(text)
    return folder


def test_a_recipe_of_ones_own_says_what_it_drops(tmp_path: Path, index: FakeIndex) -> None:
    index.add_project("wasmpkg", upstream_files(tmp_path, WASM))
    folder = local_recipe(tmp_path, index)
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    run = smithy("init", folder, "-o", tmp_path / "fs", cwd=tmp_path, env=env(index))
    assert run.code == 0, run.err
    assert run.err.splitlines()[-1] == (
        f"using upstream's Pyodide wheel {WHEEL} instead of building wasmpkg-1.0.tar.gz (dropped "
        "source.patches, build.script, build.cflags, requirements.host, requirements.executable; "
        "pass --from-source to build it)"
    )
    recipe = recipe_of(tmp_path / "fs")
    # 1.0.0 is the wheel's 1.0, written as its name writes it: the build checks the text.
    assert recipe["package"] == {"name": "wasmpkg", "version": "1.0", "top-level": ["wasmpkg"]}
    assert recipe["source"]["url"] == f"{index.base}/files/{WHEEL}"
    assert "build" not in recipe
    assert recipe["requirements"] == {"run": ["six"]}
    assert recipe["extra"] == {"recipe-maintainers": ["alice"]}
    kept = sorted(p.name for p in (tmp_path / "fs" / "recipe").iterdir())
    assert kept == ["meta.yaml", "test_wasmpkg.py"]  # the patch went with source.patches
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    built = smithy("build", cwd=tmp_path / "fs", env=env(index))
    assert built.code == 0, built.err
    assert built.out.strip().endswith(f"/wasmpkg-1.0-0-{WASM}.whl")


def test_an_unreachable_index_changes_nothing(tmp_path: Path, index: FakeIndex) -> None:
    index.add_project("wasmpkg", upstream_files(tmp_path, WASM))
    folder = local_recipe(tmp_path, index)
    dead = {"PYODIDE_SMITHY_INDEX_URL": "http://127.0.0.1:9/simple/"}
    run = smithy("init", folder, "-o", tmp_path / "fs", cwd=tmp_path, env=dead)
    assert run.code == 0, run.err
    warning = run.err.splitlines()[-1]
    assert warning.startswith(
        "warning: cannot reach http://127.0.0.1:9/simple/wasmpkg/ for upstream's Pyodide wheels "
        "of wasmpkg: "
    )
    assert warning.endswith("; keeping the recipe's source")
    copied = tmp_path / "fs" / "recipe" / "meta.yaml"
    assert copied.read_bytes() == (folder / "meta.yaml").read_bytes()
    # An index that does not know the project says nothing.
    elsewhere = {**env(index), "PYODIDE_SMITHY_INDEX_URL": f"{index.base}/other/"}
    other = smithy("init", folder, "-o", tmp_path / "fs2", cwd=tmp_path, env=elsewhere)
    assert other.code == 0, other.err
    assert other.err.splitlines() == [f"using recipe at {folder}"]


# real PyPI (opt-in) ---------------------------------------------------------------------------


@pytest.mark.network
def test_real_pypi_pydantic_core(tmp_path: Path) -> None:
    """pydantic-core 2.50.5 on PyPI ships ``cp314-cp314-pyemscripten_2026_0_wasm32``."""
    real = {
        "PYODIDE_SMITHY_INDEX_URL": "https://pypi.org/simple/",
        "PYODIDE_CROSS_BUILD_ENV_METADATA_URL": str(METADATA),
    }
    run = smithy("init", "pydantic-core==2.50.5", "--xbuildenv", "314.0.5", cwd=tmp_path, env=real)
    assert run.code == 0, run.err
    print(run.err + run.out)
    name = f"pydantic_core-2.50.5-{WASM}.whl"
    assert (
        f"using upstream's Pyodide wheel {name} instead of building pydantic_core-2.50.5.tar.gz"
        in run.err
    )
    feedstock = tmp_path / "pydantic-core-feedstock"
    source = recipe_of(feedstock)["source"]
    assert source["url"].endswith(f"/{name}")
    # The hash tests/data/upstream/pydantic-core.json holds: the excerpt is PyPI's.
    assert source["sha256"] == "b2910ec0fa5aeb9bef70156f2b79f4783978fdcfaa7b2f1b5d1814458d2e79a1"
    built = smithy("build", cwd=feedstock, env=real)
    assert built.code == 0, built.err
    print(built.err + built.out)
    assert (feedstock / "dist" / f"pydantic_core-2.50.5-0-{WASM}.whl").is_file()
