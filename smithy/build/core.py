"""``pyodide-smithy build``: one feedstock's recipe built into ``--output``.

Everything is built in a temporary folder; only finished files are moved into ``output``
(each written under a hidden name, then renamed), so a failure leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from smithy import console
from smithy.build.model import BuildError, BuildResult, BuildSpec
from smithy.config import CONFIG_FILE, FeedstockConfig
from smithy.errors import ConfigError, FeedstockError
from smithy.recipe.model import BuildKind, Recipe
from smithy.xbuildenv import XBuildEnv

if TYPE_CHECKING:
    from smithy.build.compiled import CompiledPaths


@dataclass(frozen=True, kw_only=True)
class Feedstock:
    """What a build reads from a feedstock, validated."""

    root: Path
    config: FeedstockConfig
    recipe: Recipe
    spec: BuildSpec
    xbuildenv: XBuildEnv
    kind: BuildKind

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE


def read_feedstock(root: Path) -> Feedstock:
    from smithy.build.model import read_spec
    from smithy.config import load_config
    from smithy.feedstock.state import RECIPE_DIR, check_feedstock, read_manifest
    from smithy.recipe.load import META, load_recipe
    from smithy.render.context import effective_kind
    from smithy.render.manifest import MANIFEST

    root = root.absolute()
    check_feedstock(root)
    config_path = root / CONFIG_FILE
    config = load_config(config_path)
    recipe = load_recipe(root / RECIPE_DIR)
    manifest = read_manifest(root)
    if manifest is None:
        raise FeedstockError(
            "no manifest, so no pinned xbuildenv: run `pyodide-smithy rerender` first",
            file=root / MANIFEST,
        )
    if manifest.xbuildenv.version != config.xbuildenv:
        raise FeedstockError(
            f"xbuildenv {config.xbuildenv} is pinned but the feedstock was rendered for "
            f"{manifest.xbuildenv.version}: run `pyodide-smithy rerender`",
            file=config_path,
            key="xbuildenv",
        )
    try:
        kind = effective_kind(recipe, config)
    except ConfigError as exc:
        raise ConfigError(exc.message, file=exc.file or config_path, key=exc.key) from exc
    return Feedstock(
        root=root,
        config=config,
        recipe=recipe,
        spec=read_spec(root / RECIPE_DIR / META),
        xbuildenv=manifest.xbuildenv,
        kind=kind,
    )


def run_build(
    feedstock: Path, *, output: Path, channel: str | None = None, isolation: bool = True
) -> BuildResult:
    """Build the feedstock's recipe; put its wheel (or library files) and tests in ``output``.

    ``channel`` (default: the feedstock's ``channel.url``, label ``main``) provides host
    requirements that are other recipes' outputs. ``isolation=False`` builds a pure sdist with
    ``--no-isolation``, using the build backend installed here.
    """
    from smithy.build import wheelops
    from smithy.build.finalize import finalize_wheel

    fs = read_feedstock(feedstock)
    console.info(
        f"building {fs.recipe.name} {fs.recipe.version} ({fs.kind.value}) for xbuildenv "
        f"{fs.xbuildenv.version}"
    )
    with tempfile.TemporaryDirectory(prefix="pyodide-smithy-build-") as tmp:
        work = Path(tmp)
        staged = work / "out"
        staged.mkdir()
        if fs.kind.needs_emscripten:
            made = _compiled(fs, work, staged, channel)
        else:
            made = [_pure(fs, work, staged, isolation=isolation)]
        tests = []
        for path in made if fs.kind.makes_wheel else ():  # a library wheel holds no tests
            if path.suffix == ".whl" and (archive := wheelops.unvendor(path, fs.spec)):
                tests.append(archive)
        made = [  # last: unvendoring repacks the wheel, which would undo the build tag
            finalize_wheel(
                path,
                build_number=fs.config.build_number,
                run_requirements=fs.recipe.run_requirements,
                xbuildenv=fs.xbuildenv,
                meta_path=fs.spec.meta_path,
            )
            if path.suffix == ".whl"
            else path
            for path in made
        ]
        placed = publish([*made, *tests], output.absolute())
    names = {p.name: p for p in placed}
    result = BuildResult(
        kind=fs.kind,
        wheels=tuple(names[p.name] for p in made),
        tests_archives=tuple(names[p.name] for p in tests),
    )
    for path in placed:
        console.info(f"wrote {path}")
    return result


def _pure(fs: Feedstock, work: Path, staged: Path, *, isolation: bool) -> Path:
    from smithy.build.pure import Layout, build_pure_sdist, build_wheel_recipe

    layout = Layout(work=work / "build", name=fs.recipe.name, version=fs.recipe.version)
    if fs.kind is BuildKind.PURE_SDIST:
        wheel = build_pure_sdist(
            fs.recipe,
            fs.spec,
            fs.xbuildenv,
            layout,
            isolation=isolation,
            config_path=fs.config_path,
        )
    else:
        wheel = build_wheel_recipe(fs.recipe, fs.spec, fs.xbuildenv, fs.kind, layout)
    return Path(shutil.move(wheel, staged / wheel.name))


def _compiled(fs: Feedstock, work: Path, staged: Path, channel: str | None) -> list[Path]:
    from smithy.build import compiled, runner
    from smithy.build.pure import index_env

    xb = compiled.xbuildenv_path(fs.xbuildenv.version)
    try:  # before anything runs: Emscripten, then the xbuildenv, then pyodide-build
        on_path = compiled.find_emscripten(fs.xbuildenv, xb)
        if on_path:
            output = runner.capture(["emcc", "-v"], what="checking Emscripten")
            compiled.check_emcc_version(output, fs.xbuildenv)
        compiled.check_xbuildenv(fs.xbuildenv, xb)
    except BuildError as exc:  # the pin at fault is pyodide-smithy.yml's xbuildenv
        message, key = exc.message, exc.key
        if fs.recipe.pure_blocker is None and fs.kind is BuildKind.COMPILED:
            message += (
                "; or, if the sdist holds no compiled code, set `pure-python: true` in "
                f"{CONFIG_FILE} to build it with pypa/build and no Emscripten"
            )
        raise BuildError(message, file=exc.file or fs.config_path, key=key) from None
    _check_pyodide_build(fs.config)
    recipes = work / "recipes"
    recipes.mkdir()
    (recipes / fs.recipe.name).symlink_to(fs.recipe.directory.absolute(), target_is_directory=True)
    paths = compiled.CompiledPaths(
        recipes=recipes,
        build=work / "build",
        xbuildenv=xb,
        emcc_on_path=on_path,
        index_url=index_env().get("PIP_INDEX_URL"),
    )
    _host_requirements(fs, paths, channel)
    library = not fs.kind.makes_wheel
    if library:
        from smithy.build.library import snapshot

        before = snapshot(paths.libs)
    cmd, env = compiled.compiled_command(fs.recipe, fs.config, fs.xbuildenv, paths)
    dist = fs.recipe.directory / "dist"
    shutil.rmtree(dist, ignore_errors=True)  # pyodide-build's output folder: only this build's
    runner.run(
        cmd, what=f"pyodide-build for {fs.recipe.name}", cwd=work, env=env, file=fs.spec.meta_path
    )
    if library:
        from smithy.build.library import library_wheel

        zips = sorted(dist.glob("*.zip"))
        wheel = library_wheel(
            fs.recipe,
            fs.kind,
            fs.xbuildenv,
            libs=paths.libs,
            before=before,
            runtime_zip=zips[0] if zips else None,
            out=staged,
        )
        return [wheel]
    found = sorted(dist.glob("*.whl"))
    if not found:
        raise BuildError(f"pyodide-build left no wheel in {dist}", file=fs.spec.meta_path)
    return [Path(shutil.copy2(p, staged / p.name)) for p in found]


def _host_requirements(fs: Feedstock, paths: CompiledPaths, channel: str | None) -> None:
    if not fs.recipe.host_requirements:
        return
    from smithy.build import compiled, host
    from smithy.channel.open import open_channel

    cross = compiled.cross_build_packages(paths.xbuildenv, fs.xbuildenv.version)
    url = channel or fs.config.channel.url
    host.place_host_requirements(
        fs.recipe.host_requirements,
        open_channel(url),
        fs.xbuildenv,
        site_packages=compiled.host_site_packages(paths.xbuildenv, fs.xbuildenv),
        library_dir=paths.libs,
        cross_build=cross,
        meta_path=fs.spec.meta_path,
    )


def _check_pyodide_build(config: FeedstockConfig) -> None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        here = version("pyodide-build")
    except PackageNotFoundError:
        raise BuildError(
            "pyodide-build is not installed", file=CONFIG_FILE, key="pyodide-build"
        ) from None
    if here != config.pyodide_build:
        console.warn(
            f"{CONFIG_FILE} pins pyodide-build {config.pyodide_build}; building with {here}"
        )


def publish(files: list[Path], output: Path) -> list[Path]:
    """Copy ``files`` into ``output``: all under hidden names first, then each renamed."""
    output.mkdir(parents=True, exist_ok=True)
    partial: list[tuple[Path, Path]] = []
    try:
        for src in files:
            tmp = output / f".{src.name}.partial"
            shutil.copyfile(src, tmp)
            partial.append((tmp, output / src.name))
    except OSError as exc:
        for tmp, _ in partial:
            tmp.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            (output / f".{src.name}.partial").unlink(missing_ok=True)
        raise BuildError(f"cannot write to {output}: {exc.strerror or exc}") from exc
    for tmp, final in partial:
        tmp.replace(final)
    return [final for _, final in partial]
