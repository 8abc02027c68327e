"""The recipes of a pyodide-recipes checkout as ``bot import`` sees them: each folder's package,
feedstock name, kind and requirements, and the order to import them in (libraries first, then
dependencies before what needs them).

Reads only meta.yaml's text and a few keys: ``init`` validates each recipe properly, so that a
bad one fails alone while the others are imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smithy.errors import RecipeError, RecipeNotFoundError
from smithy.recipe.model import normalize

META = "meta.yaml"
LIBRARY_TYPES = ("shared_library", "static_library")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class RecipeEntry:
    """One recipe folder; ``problem`` says why it cannot be imported (the rest is then a
    best guess from the folder's name)."""

    folder: Path
    package: str
    feedstock: str  # the repository's name: <normalised package>-feedstock
    meta: str = ""  # meta.yaml's text, as the feedstock's recipe/meta.yaml will hold it
    library: bool = False
    requires: tuple[str, ...] = ()  # normalised names of its host and run requirements
    problem: str | None = None


def recipe_folders(root: Path) -> list[Path]:
    """The folders holding a meta.yaml in ``root`` (or in ``root/packages``, as pyodide-recipes
    keeps them), by name; RecipeNotFoundError when there is none."""
    if not root.is_dir():
        raise RecipeNotFoundError("no such folder of recipes", file=root)
    base = root / "packages" if (root / "packages").is_dir() else root
    folders = [p for p in base.iterdir() if p.is_dir() and (p / META).is_file()]
    if not folders:
        raise RecipeNotFoundError("no recipes there: no folder holds a meta.yaml", file=root)
    return sorted(folders, key=lambda p: (p.name.lower(), p.name))


def read_entry(folder: Path) -> RecipeEntry:
    """What import needs of one recipe folder, or the one-line reason it cannot be read."""
    from smithy.recipe.fields import name_problem
    from smithy.yamlio import load_yaml_text

    path = folder / META
    guess = RecipeEntry(folder, folder.name, f"{normalize(folder.name)}-feedstock")
    try:
        text = path.read_text(encoding="utf-8")
        data = load_yaml_text(text, path, error=RecipeError)
    except (OSError, UnicodeDecodeError) as exc:
        return _broken(guess, f"cannot read {META}: {exc}")
    except RecipeError as exc:
        return _broken(guess, str(exc))
    package = _section(data, "package")
    name = package.get("name")
    if not isinstance(name, str) or (problem := name_problem(name)) is not None:
        why = "the recipe names no package" if not isinstance(name, str) else problem
        return _broken(guess, f"{why} ({path}:package.name)")
    requirements = _section(data, "requirements")
    requires = [
        normalize(m[1])
        for section in ("host", "run")
        for item in _list(requirements.get(section))
        if isinstance(item, str) and (m := _NAME.match(item))
    ]
    return RecipeEntry(
        folder=folder,
        package=name,
        feedstock=f"{normalize(name)}-feedstock",
        meta=text,
        library=_section(data, "build").get("type") in LIBRARY_TYPES,
        requires=tuple(dict.fromkeys(requires)),
    )


def scan(root: Path) -> list[RecipeEntry]:
    """Every recipe of ``root``; a second recipe for the same feedstock is refused."""
    seen: dict[str, RecipeEntry] = {}
    out = []
    for entry in map(read_entry, recipe_folders(root)):
        first = seen.setdefault(entry.feedstock, entry)
        if first is not entry and entry.problem is None:
            why = f"{first.folder.name} makes the same feedstock, {entry.feedstock}"
            out.append(_broken(entry, why))
        else:
            out.append(entry)
    return out


def import_order(
    entries: Sequence[RecipeEntry],
) -> tuple[list[RecipeEntry], dict[str, frozenset[str]]]:
    """``entries`` in the order to import them, and per feedstock the feedstocks to finish
    before it starts: every library before any package (so dependents' CI finds them), and
    among each, what a recipe requires before it (a cycle is ordered as found)."""
    by_package = {normalize(e.package): e for e in entries if e.problem is None}
    order: list[RecipeEntry] = []
    placed: set[str] = set()

    def place(entry: RecipeEntry, path: set[str]) -> None:
        if entry.feedstock in placed or entry.feedstock in path:
            return
        path.add(entry.feedstock)
        for name in entry.requires:
            needed = by_package.get(name)
            if needed is not None and needed.library >= entry.library:
                place(needed, path)
        path.discard(entry.feedstock)
        placed.add(entry.feedstock)
        order.append(entry)

    for library in (True, False):
        for entry in entries:
            if entry.library is library:
                place(entry, set())
    position = {e.feedstock: i for i, e in enumerate(order)}
    libraries = frozenset(e.feedstock for e in order if e.library)
    after = {e.feedstock: _after(e, libraries, by_package, position) for e in order}
    return order, after


def _after(
    entry: RecipeEntry,
    libraries: frozenset[str],
    by_package: Mapping[str, RecipeEntry],
    position: Mapping[str, int],
) -> frozenset[str]:
    if entry.problem is not None:  # it fails at once: no reason to wait
        return frozenset()
    return (frozenset() if entry.library else libraries) | frozenset(
        _earlier(entry, by_package, position)
    )


def _earlier(
    entry: RecipeEntry, by_package: Mapping[str, RecipeEntry], position: Mapping[str, int]
) -> Iterable[str]:
    """The feedstocks ``entry`` requires that come before it: the edges left once a cycle is
    cut where the order found it."""
    for name in entry.requires:
        needed = by_package.get(name)
        if needed is not None and position[needed.feedstock] < position[entry.feedstock]:
            yield needed.feedstock


def _broken(entry: RecipeEntry, problem: str) -> RecipeEntry:
    return RecipeEntry(entry.folder, entry.package, entry.feedstock, problem=problem)


def _section(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
