"""``init``: one recipe becomes a standalone feedstock git repository."""

from __future__ import annotations

import dataclasses
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from smithy import __version__, console
from smithy.config import (
    CHANNEL_PATTERN,
    CHANNEL_RULE,
    CONFIG_FILE,
    DEFAULT_PYODIDE_BUILD,
    ChannelConfig,
    FeedstockConfig,
    to_yaml,
)
from smithy.errors import UsageError
from smithy.feedstock.rerender import render_feedstock
from smithy.feedstock.state import RECIPE_DIR, read_inputs
from smithy.fsutil import refuse_non_empty, staged_directory, write_atomic
from smithy.paths import template_dir
from smithy.recipe.model import Recipe, normalize
from smithy.xbuildenv import XBuildEnv, load_catalog

if TYPE_CHECKING:
    from smithy.recipe.pypi_index import IndexFile

# Left behind by local builds of a recipe; never part of a feedstock's recipe/.
_IGNORED = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", "dist", "build", "build.log")


@dataclass(frozen=True, kw_only=True)
class InitResult:
    feedstock: Path
    recipe: Recipe
    xbuildenv: XBuildEnv
    source: str
    upstream_wheel: str | None  # the URL of upstream's Pyodide wheel, when it became the source
    commit: str
    files: tuple[str, ...]


def pyodide_build_for(xbuildenv: XBuildEnv) -> str:
    """The pyodide-build to pin: ours if the xbuildenv accepts it, else its nearest bound."""
    from packaging.version import Version

    ours = Version(DEFAULT_PYODIDE_BUILD)
    low, high = xbuildenv.min_pyodide_build_version, xbuildenv.max_pyodide_build_version
    if high is not None and ours > Version(high):
        return high
    if low is not None and ours < Version(low):
        return low
    return DEFAULT_PYODIDE_BUILD


def run_init(
    spec: str,
    *,
    recipes: str | None = None,
    output: Path | None = None,
    xbuildenv: str | None = None,
    metadata: str | None = None,
    channel: str | None = None,
    from_source: bool = False,
) -> InitResult:
    """Create ``<name>-feedstock/`` (or ``output``) from the recipe ``spec``, in one commit.

    Unless ``from_source``, a recipe that builds from source takes upstream's own Pyodide wheel
    of its version instead when the package index has one for the xbuildenv's ABI.
    """
    from smithy.lint.gate import refuse_errors
    from smithy.recipe.load import META, load_recipe
    from smithy.recipe.sources import resolve, upstream_wheel
    from smithy.recipe.upstream import switchable

    channel_config = _channel(channel)
    expected = _expected_target(spec, output)
    if expected is not None:
        _check_target(expected)  # before any lookup: fail fast on a busy target
    early = None if from_source else _prefetch(spec)
    target_env = load_catalog(metadata).resolve(xbuildenv)
    source = resolve(spec, recipes, python_version=target_env.python_version)
    console.info(f"using {source.description}")
    temporary = [source] if source.temporary else []
    try:
        recipe = load_recipe(source.directory)
        wheel = None
        if not from_source and switchable(recipe):
            listed = source.index_files
            if early is not None and normalize(early.name) == normalize(recipe.name):
                listed = early.result()
            wheel = upstream_wheel(recipe, target_env, listed)
        if wheel is not None:
            temporary.append(wheel)
            console.info(f"using {wheel.description}")
            recipe = load_recipe(wheel.directory)
        refuse_errors(recipe.directory / META, recipe)
        target = (output or Path.cwd() / recipe.feedstock_name).absolute()
        _check_target(target)
        config = FeedstockConfig(
            xbuildenv=target_env.version,
            pyodide_build=pyodide_build_for(target_env),
            channel=channel_config,
            pure_python=source.pure_python and _fits_pure(recipe),
        )
        message = _initial_message(recipe, target_env)
        commit, files = _create(target, recipe, config, target_env, message)
    finally:
        for made in temporary:
            shutil.rmtree(made.directory.parent, ignore_errors=True)
    return InitResult(
        feedstock=target,
        recipe=dataclasses.replace(recipe, directory=target / RECIPE_DIR),
        xbuildenv=target_env,
        source=source.description,
        upstream_wheel=recipe.source_url if wheel is not None else None,
        commit=commit,
        files=files,
    )


_NOT_SDIST = re.compile(
    r"^\s+url:\s*\S+\.whl\s*$|^\s+path:\s|^\s+type:\s*\S*_library\b", re.MULTILINE
)


class _Prefetch:
    """A local recipe folder's index page, asked for at once in a daemon thread, so that the
    request overlaps reading and validating the recipe instead of following it (and never
    holds up an ``init`` that fails meanwhile). Its warning is said only when it is used."""

    def __init__(self, name: str) -> None:
        import threading

        self.name = name
        self.found: tuple[tuple[IndexFile, ...], str | None] = ((), None)
        self.thread = threading.Thread(target=self._run, name="index", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from smithy.recipe.sources import read_index_files

        self.found = read_index_files(self.name)

    def result(self) -> tuple[IndexFile, ...]:
        self.thread.join()
        files, problem = self.found
        if problem is not None:
            console.warn(f"{problem}; keeping the recipe's source")
        return files


def _prefetch(spec: str) -> _Prefetch | None:
    """Start the request for a local recipe folder that looks like it builds from a downloaded
    sdist (a glance at meta.yaml's text; ``switchable`` decides later on the validated
    recipe): a wheel source, a library or a source path never needs it."""
    from smithy.recipe.sources import is_path_spec, recipe_name_at

    name = recipe_name_at(Path(spec)) if is_path_spec(spec) else None
    if not name:
        return None
    try:
        text = (Path(spec) / "meta.yaml").read_text(encoding="utf-8")
    except OSError:
        return None
    if _NOT_SDIST.search(text):
        return None
    return _Prefetch(name)


def _check_target(target: Path) -> None:
    refuse_non_empty(target)


def _expected_target(spec: str, output: Path | None) -> Path | None:
    """Where the feedstock will go, known before the recipe is fetched: ``output``, else the
    folder named after the package (a recipe path is read locally, so its name is known)."""
    from smithy.recipe.model import normalize
    from smithy.recipe.sources import is_path_spec, recipe_name_at, split_spec

    if output is not None:
        return output.absolute()
    name = recipe_name_at(Path(spec)) if is_path_spec(spec) else split_spec(spec)[0]
    return Path.cwd() / f"{normalize(name)}-feedstock" if name else None


def _fits_pure(recipe: Recipe) -> bool:
    from smithy.recipe.model import BuildKind

    return recipe.kind is BuildKind.COMPILED and recipe.pure_blocker is None


def _channel(url: str | None) -> ChannelConfig:
    """``init --channel``: the channel CI publishes to, checked as ``channel.url`` is."""
    if url is None:
        return ChannelConfig()
    if not re.fullmatch(CHANNEL_PATTERN, url):
        raise UsageError(f"--channel must be {CHANNEL_RULE}, not {url!r}", key="--channel")
    return ChannelConfig(url=url)


def _create(
    target: Path, recipe: Recipe, config: FeedstockConfig, xbuildenv: XBuildEnv, message: str
) -> tuple[str, tuple[str, ...]]:
    """Build the feedstock in a hidden sibling folder and rename it into place: all or nothing."""
    from smithy import gitio

    with staged_directory(target) as staging:
        shutil.copytree(recipe.directory, staging / RECIPE_DIR, ignore=_IGNORED, symlinks=True)
        (staging / CONFIG_FILE).write_text(to_yaml(config), encoding="utf-8")
        inputs = read_inputs(staging, template_dir())
        rendered = render_feedstock(inputs, config, xbuildenv, recipe)
        for path, content in rendered.files.items():
            write_atomic(staging / path, content)
        sha = gitio.init_and_commit(staging, message)
    return sha, tuple(sorted(rendered.files))


def _initial_message(recipe: Recipe, xbuildenv: XBuildEnv) -> str:
    from smithy.feedstock.rerender import commit_message

    return (
        f"Initial feedstock for {recipe.name} {recipe.version}\n\n"
        f"Made by pyodide-smithy {__version__}.\n{commit_message(xbuildenv.version)}\n"
    )
