"""Upstream's own Pyodide wheels on a package index (PEP 783): the one that runs on an
xbuildenv, whether they cover every ABI an organisation targets, and a recipe that takes one
as its source instead of building from source.

Pure functions over the index's file list and a recipe's text: ``init`` and the bot fetch,
these decide. Tags are read by smithy.platform alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smithy.errors import RecipeError

if TYPE_CHECKING:
    from pathlib import Path

    from smithy.recipe.model import Recipe
    from smithy.recipe.pypi_index import IndexFile
    from smithy.xbuildenv import XBuildEnv

# What a wheel source keeps of each section (None: all of it). The rest (patches, extras,
# scripts, flags, host and build-time requirements) serves only a build from source.
KEPT: dict[str, frozenset[str] | None] = {
    "package": None,
    "source": frozenset(),  # url and sha256 become the wheel's
    "build": frozenset({"type", "unvendor-tests", "_retain-test-patterns"}),
    "requirements": frozenset({"run"}),
    "test": None,
    "about": None,
    "extra": None,
}


@dataclass(frozen=True, kw_only=True)
class WheelRecipe:
    """A recipe switched to upstream's wheel: its new ``meta.yaml`` and what it no longer has."""

    meta_yaml: str
    wheel: IndexFile
    replaced: str  # the file name of the source it no longer builds
    dropped: tuple[str, ...]  # keys set in the old recipe, left out (``source.patches``)
    left_out: tuple[str, ...]  # recipe files only those keys named (patches, extras)


def pyodide_wheel(
    files: Iterable[IndexFile], version: str, xbuildenv: XBuildEnv
) -> IndexFile | None:
    """The index's wheel of exactly ``version`` that runs on ``xbuildenv``'s Pyodide: a
    pyemscripten or legacy pyodide tag (abi3 too), not yanked, its Requires-Python met; the
    best by smithy.platform.rank, then the highest build. Pure wheels are no Pyodide wheel
    (they make another kind of recipe); an xbuildenv whose ABI is unknown has none."""
    from packaging.version import InvalidVersion, Version

    from smithy.platform import InvalidWheelName, known_abi, parse_wheel_name, rank
    from smithy.recipe.pypi_index import supports

    try:
        wanted = Version(version)
    except InvalidVersion:
        return None
    if known_abi(xbuildenv) is None:
        return None
    python = Version(xbuildenv.python_version)
    best: tuple[tuple[int, int, str], IndexFile] | None = None
    for file in files:
        if not file.wheel or file.yanked or file.version != wanted or not supports(file, python):
            continue
        try:
            name = parse_wheel_name(file.filename)
        except InvalidWheelName:
            continue
        score = rank(name, xbuildenv)
        if score is None or name.pure:
            continue
        build = name.build_number
        key = (score, -1 - build if build is not None else 0, file.filename)
        if best is None or key < best[0]:
            best = (key, file)
    return best[1] if best else None


def covers(files: Iterable[IndexFile], version: str, xbuildenvs: Iterable[XBuildEnv]) -> bool:
    """Whether upstream publishes a Pyodide wheel of ``version`` for every one of
    ``xbuildenvs`` (so a feedstock of it could be retired); ``False`` for none at all."""
    files, targets = list(files), list(xbuildenvs)
    return bool(targets) and all(pyodide_wheel(files, version, xb) for xb in targets)


def switchable(recipe: Recipe) -> bool:
    """A recipe that builds a package from a downloaded source (not a wheel already, not a
    tree of its own, not a library): the kind upstream's wheel can stand in for."""
    from smithy.recipe.model import BuildKind

    return recipe.kind is BuildKind.COMPILED and recipe.source_url is not None


def wheel_recipe(text: str, wheel: IndexFile, meta_path: Path) -> WheelRecipe:
    """The recipe ``text`` with ``wheel`` (of its version) as its source: ``package``,
    ``requirements.run``, ``test``, ``about`` and ``extra`` kept as written, but for a version
    written otherwise than in the wheel's name (``1.0.0``, ``1.0``), which becomes the wheel's,
    as the build checks; what only a build from source uses dropped."""
    from smithy.recipe.pypi import render_meta
    from smithy.yamlio import round_trip_load

    meta = round_trip_load(text, meta_path, error=RecipeError)
    if not isinstance(meta, Mapping):
        raise RecipeError("a recipe must be a YAML mapping", file=meta_path)
    old_source = _mapping(meta.get("source"))
    sections: dict[str, Any] = {}
    dropped: list[str] = []
    for section, value in meta.items():
        kept = KEPT.get(section, frozenset())
        if kept is None:
            sections[section] = value
            continue
        body = _mapping(value)
        if part := {key: item for key, item in body.items() if key in kept}:
            sections[section] = part
        dropped += [
            f"{section}.{key}"
            for key, item in body.items()
            if key not in kept and _set(item) and (section, key) not in _REPLACED
        ]
    sections["source"] = {"url": wheel.url, "sha256": wheel.sha256}
    package = sections.get("package")
    if isinstance(package, MutableMapping) and str(package.get("version")) != str(wheel.version):
        package["version"] = str(wheel.version)  # 1.0.0 for 1.0: the build wants the wheel's text
    replaced = str(old_source.get("url", "")).rsplit("/", 1)[-1]
    patches = list(old_source.get("patches") or ())
    extras = [pair[0] for pair in old_source.get("extras") or () if pair]
    comment = (
        "Upstream's own Pyodide wheel is the source, chosen by pyodide-smithy instead of "
        f"building {replaced}; review before building."
    )
    return WheelRecipe(
        meta_yaml=render_meta(sections, comment),
        wheel=wheel,
        replaced=replaced,
        dropped=tuple(dropped),
        left_out=tuple(dict.fromkeys(str(name) for name in [*patches, *extras])),
    )


_REPLACED = frozenset({("source", "url"), ("source", "sha256")})


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _set(value: object) -> bool:
    """A key written with a value (``host: []`` or ``script:`` alone say nothing)."""
    return value is not None and value not in ("", [], {})
