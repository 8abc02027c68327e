"""Which newer release a recipe takes: pure, from the files a package index lists.

The new source is of the same kind as the recipe's: a wheel stays a wheel of the same tags (a
pure ``py3-none-any`` stays pure, a Pyodide wheel stays on its Pyodide ABI), an sdist stays an
sdist. A release without such a file is passed over for an older one that has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from smithy.errors import RecipeError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from packaging.version import Version

    from smithy.platform import WheelName
    from smithy.recipe.pypi_index import IndexFile

Kind = Literal["wheel", "sdist"]


@dataclass(frozen=True)
class Update:
    """A newer release for a recipe: the file its source becomes."""

    name: str  # the project's normalized name, as the file names it
    current: str  # the recipe's version
    version: str
    filename: str
    url: str
    sha256: str
    kind: Kind


def source_kind(filename: str) -> Kind:
    return "wheel" if filename.endswith(".whl") else "sdist"


def newest(
    files: Iterable[IndexFile],
    *,
    current: str,
    current_filename: str,
    prereleases: bool,
    constraint: str = "",
    python: str | None = None,
) -> Update | None:
    """The newest release above ``current`` with a file of the recipe's kind; None when there
    is none.

    Yanked files are skipped, and so are versions outside ``constraint`` (``bot.versions``, a
    PEP 440 specifier set; invalid: ConfigError) and pre-releases unless ``prereleases``. A
    recipe at a pre-release does not opt in by itself: ``1.0rc1`` is offered ``1.0`` and later
    finals, not ``1.1a1``. With ``python`` (``3.13.2``), files whose Requires-Python excludes it
    are skipped too.
    """
    from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
    from packaging.version import InvalidVersion, Version

    from smithy.config import parse_versions_rule
    from smithy.recipe.pypi_index import supports

    try:
        now = Version(current)
    except InvalidVersion:
        raise RecipeError(
            f"the recipe's version {current!r} is not a PEP 440 version", key="package.version"
        ) from None
    rule = parse_versions_rule(constraint)
    target = Version(python) if python else None
    rank = _ranker(current_filename)
    releases: dict[Version, list[tuple[int, IndexFile]]] = {}
    for f in files:
        if f.yanked or f.version <= now or (f.version.is_prerelease and not prereleases):
            continue
        if not rule.contains(f.version, prereleases=True):
            continue
        if target is not None and not supports(f, target):
            continue
        if (place := rank(f)) is not None:
            releases.setdefault(f.version, []).append((place, f))
    if not releases:
        return None
    version = max(releases)
    chosen = min(releases[version], key=lambda pair: (pair[0], pair[1].filename))[1]
    if chosen.wheel:
        name = parse_wheel_filename(chosen.filename)[0]
    else:
        name = parse_sdist_filename(chosen.filename)[0]
    return Update(
        name=canonicalize_name(name),
        current=current,
        version=str(version),
        filename=chosen.filename,
        url=chosen.url,
        sha256=chosen.sha256,
        kind=source_kind(chosen.filename),
    )


def _ranker(current_filename: str) -> Callable[[IndexFile], int | None]:
    """How well a file stands in for ``current_filename`` (lower is better), None: not at all."""
    if source_kind(current_filename) == "sdist":
        return lambda f: None if f.wheel else (0 if f.filename.endswith(".tar.gz") else 1)
    from smithy.platform import InvalidWheelName, parse_wheel_name

    try:
        was = parse_wheel_name(current_filename)
    except InvalidWheelName as exc:
        raise RecipeError(
            f"the recipe's source {current_filename} is not a wheel's name: {exc}", key="source.url"
        ) from None

    def rank(f: IndexFile) -> int | None:
        if not f.wheel:
            return None
        try:
            wheel = parse_wheel_name(f.filename)
        except InvalidWheelName:
            return None
        if not _same_kind(wheel, was):
            return None
        if wheel.tags == was.tags:
            return 0
        return 1 if wheel.platforms == was.platforms else 2

    return rank


def _same_kind(wheel: WheelName, was: WheelName) -> bool:
    """Pure stays pure; a Pyodide wheel stays on its ABI (``pyodide_2025_0`` and
    ``pyemscripten_2025_0`` are one ABI); any other platform wheel keeps one of its platforms."""
    if was.pure or wheel.pure:
        return was.pure and wheel.pure
    if was.abis:
        return bool(wheel.abis & was.abis)
    return bool(wheel.platforms & was.platforms)


def source_on_index(files: Iterable[IndexFile], sha256: str) -> IndexFile | None:
    """The index's file with the recipe's ``source.sha256``: whether the recipe's source is a
    release file of this project (a recipe built from a git archive is not)."""
    wanted = sha256.strip().lower()
    return next((f for f in files if f.sha256 == wanted), None)


def metadata_file(
    files: Iterable[IndexFile], version: str | Version, filename: str | None = None
) -> IndexFile | None:
    """A file of release ``version`` whose core metadata the index serves (PEP 658/714): the
    file named ``filename`` when it has one, else a wheel's, else any; not yanked first."""
    from packaging.version import InvalidVersion, Version

    try:
        wanted = version if isinstance(version, Version) else Version(version)
    except InvalidVersion:
        return None
    candidates = [f for f in files if f.version == wanted and f.metadata]
    if not candidates:
        return None
    return min(
        candidates, key=lambda f: (f.filename != filename, f.yanked, not f.wheel, f.filename)
    )
