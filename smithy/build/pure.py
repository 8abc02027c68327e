"""Builds without Emscripten: a wheel fetched and checked, or a pure sdist built with pypa/build.

The steps and their order are pyodide-build's (``recipe/builder.py``): fetch and check the
sha256, extract into ``<build>/<name>-<version>``, ``patch -p1`` each patch, copy the extras,
build, then unpack the wheel, run ``build.post`` in it and repack.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from smithy.build import runner, wheelops
from smithy.build.model import BuildError, BuildSpec
from smithy.build.source import FetchedSource, fetch_source
from smithy.recipe.model import BuildKind, Recipe
from smithy.xbuildenv import XBuildEnv

# pyodide-build's trim_archive_extension, in its order
ARCHIVE_EXTENSIONS = (
    ".tar.gz",
    ".tgz",
    ".tar",
    ".tar.bz2",
    ".tbz2",
    ".tar.xz",
    ".txz",
    ".zip",
    ".whl",
)


@dataclass(frozen=True, kw_only=True)
class Layout:
    """pyodide-build's folders for one package, under a work folder of ours.

    ``build`` is ``<work>/<name>/build`` (what ``--build-dir <work>`` gives), so that
    ``WASM_LIBRARY_DIR`` is ``<work>/.libs`` as in pyodide-build.
    """

    work: Path
    name: str
    version: str

    @property
    def build(self) -> Path:
        return self.work / self.name / "build"

    @property
    def source(self) -> Path:  # PKG_BUILD_DIR
        return self.build / f"{self.name}-{self.version}"

    @property
    def dist(self) -> Path:  # DISTDIR
        return self.source / "dist"

    @property
    def libs(self) -> Path:  # WASM_LIBRARY_DIR
        return self.work / ".libs"


def trim_archive_extension(name: str) -> str:
    for extension in ARCHIVE_EXTENSIONS:
        if name.endswith(extension):
            return name[: -len(extension)]
    return name


def script_env(
    recipe: Recipe, xbuildenv: XBuildEnv, layout: Layout, base: Mapping[str, str]
) -> dict[str, str]:
    """The environment pyodide-build gives ``build.script`` and ``build.post``.

    Its helper variables (``RecipeBuilder._get_helper_vars``) and ``PYODIDE=1``, overridden
    by the caller's environment ``base`` as pyodide-build's are by ``os.environ``. The
    xbuildenv's Makefile.envs variables are not read (no xbuildenv is needed here); only the
    Python version ones are given.
    """
    major, minor, *_ = xbuildenv.python_version.split(".")
    pkgconfig = str(layout.libs / "lib" / "pkgconfig")
    return {
        "PYODIDE": "1",
        "PYODIDE_PACKAGE_ABI": "1",
        "PYVERSION": xbuildenv.python_version,
        "PYMAJOR": major,
        "PYMINOR": minor,
        "PKGDIR": str(recipe.directory.absolute()),
        "PKG_VERSION": recipe.version,
        "PKG_BUILD_DIR": str(layout.source),
        "DISTDIR": str(layout.dist),
        "WASM_LIBRARY_DIR": str(layout.libs),
        "EM_PKG_CONFIG_PATH": pkgconfig,
        "PKG_CONFIG_LIBDIR": pkgconfig,
        **base,
    }


def index_env() -> dict[str, str]:
    """``PIP_INDEX_URL`` for build isolation, from ``PYODIDE_SMITHY_INDEX_URL`` if set."""
    ours = os.environ.get("PYODIDE_SMITHY_INDEX_URL", "").strip()
    if ours and not os.environ.get("PIP_INDEX_URL"):
        return {"PIP_INDEX_URL": ours}
    return {}


def build_wheel_recipe(
    recipe: Recipe, spec: BuildSpec, xbuildenv: XBuildEnv, kind: BuildKind, layout: Layout
) -> Path:
    """A wheel source: fetch, check, retag a platform wheel as pyodide-build does, ``post``."""
    fetched = _fetch(spec)
    wheelops.check_version(fetched.path.name, recipe.version, meta_path=spec.meta_path)
    layout.dist.mkdir(parents=True, exist_ok=True)
    wheel = Path(shutil.copy(fetched.path, layout.dist / fetched.path.name))
    if kind is BuildKind.PREBUILT_WHEEL:
        wheel = _fit_platform(wheel, xbuildenv, spec)
    env = script_env(recipe, xbuildenv, layout, os.environ)
    return wheelops.apply_post(wheel, spec.post, env=env, meta_path=spec.meta_path)


def _fetch(spec: BuildSpec) -> FetchedSource:
    if spec.url is None or spec.sha256 is None:  # MetaConfig wants a sha256 with a URL
        raise BuildError("a pure build needs source.url and source.sha256", file=spec.meta_path)
    return fetch_source(spec.url, spec.sha256, meta_path=spec.meta_path)


def _fit_platform(wheel: Path, xbuildenv: XBuildEnv, spec: BuildSpec) -> Path:
    from smithy.platform import abi_of, parse_wheel_name, platforms_for

    platforms = parse_wheel_name(wheel.name).platforms
    if not platforms <= platforms_for(xbuildenv):
        raise BuildError(
            f"{wheel.name} does not fit xbuildenv {xbuildenv.version} (Emscripten "
            f"{xbuildenv.emscripten_version}, ABI {abi_of(xbuildenv)})",
            file=spec.meta_path,
            key="source.url",
        )
    target = f"pyemscripten_{abi_of(xbuildenv)}_wasm32"
    if platforms - {"any", target}:
        return wheelops.retag(wheel, target)
    return wheel


def prepare_sdist(archive: Path, recipe: Recipe, spec: BuildSpec, layout: Layout) -> Path:
    """Extract ``archive`` to ``PKG_BUILD_DIR``, apply the patches and extras; return the folder."""
    layout.build.mkdir(parents=True, exist_ok=True)
    try:
        shutil.unpack_archive(
            archive, layout.build, filter=None if archive.suffix == ".zip" else "data"
        )
    except (shutil.ReadError, ValueError, OSError) as exc:
        raise BuildError(
            f"cannot extract {archive.name}: {exc}", file=spec.meta_path, key="source.url"
        ) from exc
    extracted = layout.build / (spec.extract_dir or trim_archive_extension(archive.name))
    if not extracted.is_dir():
        found = ", ".join(sorted(p.name for p in layout.build.iterdir())) or "nothing"
        raise BuildError(
            f"{archive.name} has no folder {extracted.name!r} (it holds {found}); "
            "set source.extract_dir",
            file=spec.meta_path,
            key="source.extract_dir",
        )
    if extracted != layout.source:
        shutil.move(extracted, layout.source)
    apply_patches(recipe, spec, layout.source)
    layout.dist.mkdir(parents=True, exist_ok=True)
    return layout.source


def apply_patches(recipe: Recipe, spec: BuildSpec, source: Path) -> None:
    """``patch -p1 --binary --verbose -i`` each patch in ``source``, then copy the extras.

    Every path is checked again here (smithy.recipe.files), as when the recipe was loaded:
    patches and extras are regular files inside the recipe folder, destinations stay inside
    ``source``.
    """
    from smithy.recipe.files import extra_destination, recipe_file

    root = recipe.directory.absolute()
    meta = spec.meta_path
    for i, patch in enumerate(spec.patches):
        key = f"source.patches[{i}]"
        path = recipe_file(root, patch, what="patch file", file=meta, key=key)
        runner.run(
            ["patch", "-p1", "--binary", "--verbose", "-i", path],
            what=f"applying patch {patch}",
            cwd=source,
            file=meta,
            key=key,
        )
    for i, (src, dst) in enumerate(spec.extras):
        origin = recipe_file(root, src, what="extra file", file=meta, key=f"source.extras[{i}][0]")
        target = extra_destination(source, dst, file=meta, key=f"source.extras[{i}][1]")
        try:
            shutil.copyfile(origin, target)
        except OSError as exc:
            raise BuildError(
                f"cannot copy extra file {src} to {dst}: {exc.strerror or exc}",
                file=meta,
                key=f"source.extras[{i}]",
            ) from exc


def build_pure_sdist(
    recipe: Recipe,
    spec: BuildSpec,
    xbuildenv: XBuildEnv,
    layout: Layout,
    *,
    isolation: bool = True,
    config_path: Path | None = None,
) -> Path:
    """Fetch, extract, patch; ``python -m build --wheel``; check it is pure; ``post``."""
    fetched = _fetch(spec)
    source = prepare_sdist(fetched.path, recipe, spec, layout)
    env = script_env(recipe, xbuildenv, layout, os.environ) | index_env()
    cmd: list[str | Path] = [sys.executable, "-m", "build", "--wheel", "--outdir", layout.dist]
    if not isolation:
        cmd.append("--no-isolation")
    runner.run(
        [*cmd, source],
        what=f"building {recipe.name} with pypa/build",
        cwd=source,
        env=env,
        inherit=False,
        file=spec.meta_path,
    )
    wheels = sorted(layout.dist.glob("*.whl"))
    if len(wheels) != 1:
        raise BuildError(f"pypa/build made {len(wheels)} wheels, not one", file=spec.meta_path)
    wheel = wheels[0]
    wheelops.check_version(wheel.name, recipe.version, meta_path=spec.meta_path)
    if (why := wheelops.impurity(wheel)) is not None:
        raise BuildError(
            f"{wheel.name} is not pure Python: {why}; remove 'pure-python: true' so that "
            "pyodide-build compiles it with Emscripten",
            file=config_path,
            key="pure-python",
        )
    return wheelops.apply_post(wheel, spec.post, env=env, meta_path=spec.meta_path)
