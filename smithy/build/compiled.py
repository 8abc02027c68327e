"""Builds with pyodide-build and Emscripten: the checks before, the command, the outputs after.

An xbuildenv for version V lives where ``pyodide xbuildenv install V --path XB`` puts it, with
``XB = <cache_dir>/xbuildenv/V``::

    XB/xbuildenv -> XB/V                      the "current version" link pyodide-build follows
    XB/V/xbuildenv/pyodide-root               PYODIDE_ROOT
    XB/V/xbuildenv/requirements.txt           the cross-build packages pyodide-build installs
    XB/V/emsdk/upstream/emscripten/emcc       what `pyodide xbuildenv install-emscripten` adds
    XB/V/.emscripten-version                  ... and the version it installed
"""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from smithy.build.model import BuildError
from smithy.config import FeedstockConfig
from smithy.paths import cache_dir
from smithy.recipe.model import Recipe
from smithy.render.context import effective_kind
from smithy.xbuildenv import XBuildEnv


def xbuildenv_path(version: str) -> Path:
    """``PYODIDE_XBUILDENV_PATH`` for ``version``: ``<cache_dir>/xbuildenv/<version>``."""
    return cache_dir() / "xbuildenv" / version


def pyodide_root(xbuildenv_dir: Path, version: str) -> Path:
    return xbuildenv_dir / version / "xbuildenv" / "pyodide-root"


def host_site_packages(xbuildenv_dir: Path, xbuildenv: XBuildEnv) -> Path:
    """pyodide-build's ``HOSTSITEPACKAGES`` default for this xbuildenv (config.py)."""
    root = pyodide_root(xbuildenv_dir, xbuildenv.version)
    return (
        root
        / "packages"
        / ".artifacts"
        / "lib"
        / f"python{xbuildenv.python_short}"
        / ("site-packages")
    )


def emsdk_emcc(xbuildenv_dir: Path, version: str) -> Path:
    return xbuildenv_dir / version / "emsdk" / "upstream" / "emscripten" / "emcc"


@dataclass(frozen=True, kw_only=True)
class CompiledPaths:
    """Where the compiled build happens, and how Emscripten was found."""

    recipes: Path  # holds the link <package.name> -> <feedstock>/recipe
    build: Path  # --build-dir; WASM_LIBRARY_DIR is <build>/.libs
    xbuildenv: Path  # PYODIDE_XBUILDENV_PATH
    emcc_on_path: bool = True  # False: the xbuildenv's emsdk, which pyodide-build activates
    index_url: str | None = None  # exported as PIP_INDEX_URL for PEP 517 build requirements

    @property
    def libs(self) -> Path:
        return self.build / ".libs"


def pyodide_command() -> str:
    """The ``pyodide`` CLI of this environment, else whichever is on PATH."""
    beside = Path(sys.executable).parent / "pyodide"
    return str(beside) if beside.is_file() else "pyodide"


def compiled_command(
    recipe: Recipe, config: FeedstockConfig, xbuildenv: XBuildEnv, paths: CompiledPaths
) -> tuple[list[str], dict[str, str]]:
    """``pyodide build-recipes-no-deps`` and the variables added to its environment."""
    kind = effective_kind(recipe, config)
    if not kind.needs_emscripten:
        raise BuildError(f"a {kind.value} recipe is not built with pyodide-build")
    root = pyodide_root(paths.xbuildenv, xbuildenv.version)
    site = host_site_packages(paths.xbuildenv, xbuildenv)
    cmd = [
        pyodide_command(),
        "build-recipes-no-deps",
        recipe.name,
        "--recipe-dir",
        str(paths.recipes),
        "--build-dir",
        str(paths.build),
        "--force-rebuild",
    ]
    env = {
        "PYODIDE_XBUILDENV_PATH": str(paths.xbuildenv),
        "PYODIDE_ROOT": str(root),
        "HOSTINSTALLDIR": str(site.parents[2]),
        "HOSTSITEPACKAGES": str(site),
    }
    if paths.emcc_on_path:  # never let pyodide-build clone emsdk from GitHub
        env["PYODIDE_SKIP_EMSCRIPTEN_INSTALL"] = "1"
    if paths.index_url:
        env["PIP_INDEX_URL"] = paths.index_url
    return cmd, env


def install_hint(xbuildenv: XBuildEnv, xbuildenv_dir: Path) -> str:
    return (
        f"`pyodide xbuildenv install {xbuildenv.version} --path {xbuildenv_dir}` then "
        f"`pyodide xbuildenv install-emscripten --version {xbuildenv.emscripten_version} "
        f"--path {xbuildenv_dir}`"
    )


def find_emscripten(xbuildenv: XBuildEnv, xbuildenv_dir: Path) -> bool:
    """Whether ``emcc`` is on PATH (True) or in the xbuildenv's emsdk (False); else BuildError."""
    if shutil.which("emcc"):
        return True
    emcc = emsdk_emcc(xbuildenv_dir, xbuildenv.version)
    marker = xbuildenv_dir / xbuildenv.version / ".emscripten-version"
    try:
        installed = marker.read_text(encoding="utf-8").strip()
    except OSError:
        installed = None
    emsdk = emcc.parents[2]
    if emcc.is_file() and (emsdk / "emsdk_env.sh").is_file():
        if installed == xbuildenv.emscripten_version:
            return False
        raise BuildError(
            f"Emscripten in {emsdk} is {installed or 'of unknown version'}, not the "
            f"{xbuildenv.emscripten_version} xbuildenv {xbuildenv.version} needs: run "
            f"`pyodide xbuildenv install-emscripten --version {xbuildenv.emscripten_version} "
            f"--path {xbuildenv_dir} --force`",
            key="xbuildenv",
        )
    raise BuildError(
        f"Emscripten {xbuildenv.emscripten_version} is missing (no emcc on PATH nor in "
        f"{emsdk}): run {install_hint(xbuildenv, xbuildenv_dir)}",
        key="xbuildenv",
    )


def check_emcc_version(version_output: str, xbuildenv: XBuildEnv) -> None:
    """``emcc -v``'s first line names the version the xbuildenv needs."""
    found = None
    for line in version_output.splitlines():
        if line.startswith("emcc "):
            match = re.search(r"\b(\d+\.\d+\.\d+)", line)
            found = match.group(1) if match else None
            break
    if found != xbuildenv.emscripten_version:
        raise BuildError(
            f"emcc on PATH is Emscripten {found or 'of unknown version'}, but xbuildenv "
            f"{xbuildenv.version} needs {xbuildenv.emscripten_version}: put that one on PATH, "
            f"or take emcc off PATH and run `pyodide xbuildenv install-emscripten --version "
            f"{xbuildenv.emscripten_version}`",
            key="xbuildenv",
        )


def check_xbuildenv(xbuildenv: XBuildEnv, xbuildenv_dir: Path) -> None:
    """The xbuildenv is installed where the build will point pyodide-build, for this Python."""
    root = pyodide_root(xbuildenv_dir, xbuildenv.version)
    if not (root / "Makefile.envs").is_file() or not (xbuildenv_dir / "xbuildenv").exists():
        raise BuildError(
            f"xbuildenv {xbuildenv.version} is not installed in {xbuildenv_dir}: run "
            f"`pyodide xbuildenv install {xbuildenv.version} --path {xbuildenv_dir}`",
            key="xbuildenv",
        )
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if here != xbuildenv.python_short:
        raise BuildError(
            f"xbuildenv {xbuildenv.version} builds with Python {xbuildenv.python_short}, "
            f"but pyodide-build runs on Python {here} here",
            key="xbuildenv",
        )


def cross_build_packages(xbuildenv_dir: Path, version: str) -> frozenset[str]:
    """The normalised names pinned in the xbuildenv's ``requirements.txt`` (pyodide-build's)."""
    from packaging.utils import canonicalize_name

    path = pyodide_root(xbuildenv_dir, version).parent / "requirements.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return frozenset()
    names = set()
    for line in text.splitlines():
        if match := re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line.strip()):
            names.add(str(canonicalize_name(match.group(0))))
    return frozenset(names)


def collect_outputs(recipe_dir: Path, *, kind_is_library: bool, shared: bool) -> list[Path]:
    """What pyodide-build left in ``recipe/dist``: the wheel, or a shared library's zip."""
    dist = recipe_dir / "dist"
    if kind_is_library:
        return sorted(dist.glob("*.zip")) if shared else []
    return sorted(dist.glob("*.whl"))
