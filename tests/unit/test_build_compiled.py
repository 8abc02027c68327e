"""The compiled build's command line, environment and toolchain checks, without Emscripten."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from smithy.build.compiled import (
    CompiledPaths,
    check_emcc_version,
    check_xbuildenv,
    compiled_command,
    cross_build_packages,
    find_emscripten,
    host_site_packages,
    pyodide_root,
    xbuildenv_path,
)
from smithy.build.model import BuildError
from smithy.config import FeedstockConfig
from smithy.paths import cache_dir
from smithy.recipe.load import load_recipe
from smithy.recipe.model import Recipe
from smithy.xbuildenv import PINNED_DEFAULT
from tests.helpers import write_recipe

COMPILED = """\
package:
  name: needsc
  version: '2.0'
source:
  url: https://example.invalid/needsc-2.0.tar.gz
  sha256: {sha}
requirements:
  host: [numpy, libfoo]
""".format(sha="ab" * 32)

SHARED = """\
package:
  name: libfoo
  version: '1.0'
source:
  url: https://example.invalid/libfoo-1.0.tar.gz
  sha256: {sha}
build:
  type: shared_library
  script: make
""".format(sha="cd" * 32)

CONFIG = FeedstockConfig(xbuildenv=PINNED_DEFAULT.version)


def recipe(tmp_path: Path, text: str = COMPILED) -> Recipe:
    return load_recipe(write_recipe(tmp_path / "recipe", text))


def paths(tmp_path: Path, **kwargs: object) -> CompiledPaths:
    return CompiledPaths(
        recipes=tmp_path / "recipes",
        build=tmp_path / "build",
        xbuildenv=tmp_path / "xb",
        **kwargs,  # type: ignore[arg-type]
    )


def test_the_command_and_its_environment(tmp_path: Path) -> None:
    cmd, env = compiled_command(recipe(tmp_path), CONFIG, PINNED_DEFAULT, paths(tmp_path))
    assert Path(cmd[0]).name == "pyodide"
    assert cmd[1:] == [
        "build-recipes-no-deps",
        "needsc",
        "--recipe-dir",
        str(tmp_path / "recipes"),
        "--build-dir",
        str(tmp_path / "build"),
        "--force-rebuild",
    ]
    root = tmp_path / "xb" / "314.0.5" / "xbuildenv" / "pyodide-root"
    artifacts = root / "packages" / ".artifacts"
    assert env == {
        "PYODIDE_XBUILDENV_PATH": str(tmp_path / "xb"),
        "PYODIDE_ROOT": str(root),
        "HOSTINSTALLDIR": str(artifacts),
        "HOSTSITEPACKAGES": str(artifacts / "lib" / "python3.14" / "site-packages"),
        "PYODIDE_SKIP_EMSCRIPTEN_INSTALL": "1",
    }


def test_emsdk_in_the_xbuildenv_and_an_index(tmp_path: Path) -> None:
    setup = paths(tmp_path, emcc_on_path=False, index_url="http://127.0.0.1:9/simple/")
    _, env = compiled_command(recipe(tmp_path), CONFIG, PINNED_DEFAULT, setup)
    assert "PYODIDE_SKIP_EMSCRIPTEN_INSTALL" not in env  # pyodide-build activates the emsdk
    assert env["PIP_INDEX_URL"] == "http://127.0.0.1:9/simple/"


def test_a_shared_library_is_built_the_same_way(tmp_path: Path) -> None:
    cmd, _ = compiled_command(recipe(tmp_path, SHARED), CONFIG, PINNED_DEFAULT, paths(tmp_path))
    assert cmd[2] == "libfoo"
    assert paths(tmp_path).libs == tmp_path / "build" / ".libs"


def test_a_pure_recipe_has_no_compiled_command(tmp_path: Path) -> None:
    pure = FeedstockConfig(xbuildenv=PINNED_DEFAULT.version, pure_python=True)
    simple = COMPILED.replace("requirements:\n  host: [numpy, libfoo]\n", "")
    with pytest.raises(BuildError, match="pure-sdist recipe is not built with pyodide-build"):
        compiled_command(recipe(tmp_path, simple), pure, PINNED_DEFAULT, paths(tmp_path))


def test_where_things_live() -> None:
    xb = xbuildenv_path("314.0.5")
    assert xb == cache_dir() / "xbuildenv" / "314.0.5"
    assert pyodide_root(xb, "314.0.5") == xb / "314.0.5" / "xbuildenv" / "pyodide-root"
    assert host_site_packages(xb, PINNED_DEFAULT).parts[-5:] == (
        "packages",
        ".artifacts",
        "lib",
        "python3.14",
        "site-packages",
    )


def no_emcc_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_missing_emscripten_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_emcc_on_path(monkeypatch, tmp_path)
    with pytest.raises(BuildError) as info:
        find_emscripten(PINNED_DEFAULT, tmp_path / "xb")
    message = info.value.message
    assert message.startswith("Emscripten 5.0.3 is missing (no emcc on PATH nor in ")
    assert f"`pyodide xbuildenv install 314.0.5 --path {tmp_path / 'xb'}`" in message
    assert "`pyodide xbuildenv install-emscripten --version 5.0.3 --path " in message
    assert "\n" not in message


def make_emsdk(xb: Path, version: str | None) -> None:
    emsdk = xb / "314.0.5" / "emsdk"
    (emsdk / "upstream" / "emscripten").mkdir(parents=True)
    (emsdk / "upstream" / "emscripten" / "emcc").write_text("")
    (emsdk / "emsdk_env.sh").write_text("")
    if version is not None:
        (xb / "314.0.5" / ".emscripten-version").write_text(version + "\n")


def test_the_xbuildenvs_emsdk_counts_when_its_version_fits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_emcc_on_path(monkeypatch, tmp_path)
    make_emsdk(tmp_path / "xb", "5.0.3")
    assert find_emscripten(PINNED_DEFAULT, tmp_path / "xb") is False


def test_an_emsdk_of_another_version_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_emcc_on_path(monkeypatch, tmp_path)
    make_emsdk(tmp_path / "xb", "4.0.9")
    with pytest.raises(BuildError, match=r"is 4\.0\.9, not the 5\.0\.3 xbuildenv 314\.0\.5 needs"):
        find_emscripten(PINNED_DEFAULT, tmp_path / "xb")


def test_emcc_on_path_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "emcc").write_text("#!/bin/sh\n")
    (bin_dir / "emcc").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert find_emscripten(PINNED_DEFAULT, tmp_path / "xb") is True


@pytest.mark.parametrize(
    ("output", "ok"),
    [
        ("emcc (Emscripten gcc/clang-like replacement + linker) 5.0.3 (abc)\nclang version", True),
        ("emcc (Emscripten gcc/clang-like replacement + linker) 5.0.3-git\n", True),
        ("emcc (Emscripten gcc/clang-like replacement + linker) 4.0.9 (x)\n", False),
        ("something else\n", False),
    ],
)
def test_emcc_version(output: str, ok: bool) -> None:
    if ok:
        check_emcc_version(output, PINNED_DEFAULT)
    else:
        with pytest.raises(BuildError, match="needs 5.0.3"):
            check_emcc_version(output, PINNED_DEFAULT)


def test_a_missing_xbuildenv_says_how_to_install_it(tmp_path: Path) -> None:
    xb = tmp_path / "xb"
    with pytest.raises(BuildError) as info:
        check_xbuildenv(PINNED_DEFAULT, xb)
    assert info.value.message == (
        f"xbuildenv 314.0.5 is not installed in {xb}: run "
        f"`pyodide xbuildenv install 314.0.5 --path {xb}`"
    )


def test_the_xbuildenv_needs_its_python(tmp_path: Path) -> None:
    xb = tmp_path / "xb"
    root = pyodide_root(xb, "314.0.5")
    root.mkdir(parents=True)
    (root / "Makefile.envs").write_text("")
    (xb / "xbuildenv").symlink_to(xb / "314.0.5")
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if here == PINNED_DEFAULT.python_short:
        check_xbuildenv(PINNED_DEFAULT, xb)
    else:
        with pytest.raises(BuildError, match=f"builds with Python 3.14, but .* Python {here}"):
            check_xbuildenv(PINNED_DEFAULT, xb)


def test_cross_build_packages_come_from_requirements_txt(tmp_path: Path) -> None:
    xb = tmp_path / "xb"
    assert cross_build_packages(xb, "314.0.5") == frozenset()
    requirements = pyodide_root(xb, "314.0.5").parent / "requirements.txt"
    requirements.parent.mkdir(parents=True)
    requirements.write_text("# pinned\nnumpy==2.4.6\nSciPy==1.17\n\ncffi >= 2 ; python_version\n")
    assert cross_build_packages(xb, "314.0.5") == {"numpy", "scipy", "cffi"}
