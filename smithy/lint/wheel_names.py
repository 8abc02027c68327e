"""Top-level names against a built wheel: what ``package.top-level`` promises CI can import.

Runs when a wheel is at hand: one given with ``--wheel``, the feedstock's ``dist/`` after
``pyodide-smithy build``, or a wheel source already in the source cache.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

from smithy.lint import rules
from smithy.lint.model import Finding
from smithy.lint.subject import Subject, strings

_NOT_MODULES = (".dist-info", ".data", ".libs")
_TEST_FOLDERS = frozenset({"test", "tests", "testing"})
_EXTENSIONS = (".so", ".pyd")


def wheel_modules(path: Path) -> frozenset[str]:
    """The top-level importable names a wheel holds: packages (folders), modules, extensions."""
    names = set()
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            first, slash, _ = member.partition("/")
            if slash:
                if not first.endswith(_NOT_MODULES) and first not in _TEST_FOLDERS:
                    names.add(first)
            elif first.endswith(".py"):
                names.add(first.removesuffix(".py"))
            elif first.endswith(_EXTENSIONS):
                names.add(first.split(".", 1)[0])
    return frozenset(n for n in names if n.isidentifier())


def find_wheel(s: Subject, feedstock: Path | None) -> Path | None:
    """The feedstock's built wheel of this name and version, else a cached wheel source."""
    from packaging.version import InvalidVersion, Version

    from smithy.build.source import cached_source
    from smithy.platform import InvalidWheelName, parse_wheel_name
    from smithy.recipe.model import normalize

    recipe = s.recipe
    if recipe is None:
        return None
    dist = sorted((feedstock / "dist").glob("*.whl")) if feedstock is not None else []
    for path in dist:
        try:
            wheel = parse_wheel_name(path.name)
            if wheel.project == normalize(recipe.name) and wheel.version == Version(recipe.version):
                return path
        except (InvalidWheelName, InvalidVersion):
            continue
    url, digest = recipe.source_url or "", (recipe.sha256 or "").strip().lower()
    if url.split("?", 1)[0].endswith(".whl") and len(digest) == 64:
        return cached_source(digest)
    return None


def top_level_vs_wheel(s: Subject, wheel: Path) -> Iterator[Finding]:
    """Each ``package.top-level`` name is in the wheel; each public module of it is listed."""
    if (s.section("build").get("type") or "package") != "package":
        return
    try:
        found = wheel_modules(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        from smithy.errors import UsageError

        raise UsageError(f"cannot read the wheel {wheel.name}: {exc}", file=wheel) from None
    listed = strings(s.value("package.top-level"))
    has = ", ".join(sorted(found)) or "no modules"
    for i, name in enumerate(listed):
        if name not in found:
            yield rules.TOP_LEVEL_MISSING.at(
                s.file,
                f"package.top-level[{i}]",
                f"package.top-level names {name}, but the wheel {wheel.name} holds {has}",
                "list what the wheel holds: CI imports each name, and Pyodide's lock lists them",
            )
    for name in sorted(found - set(listed)):
        if not name.startswith("_"):
            yield rules.TOP_LEVEL_UNLISTED.at(
                s.file,
                "package.top-level",
                f"the wheel {wheel.name} holds {name}, which package.top-level does not list",
                f"add {name} to package.top-level",
            )
