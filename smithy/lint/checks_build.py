"""Checks of imports, requirements and what Pyodide's builds need of a recipe."""

from __future__ import annotations

from collections.abc import Iterator

from smithy.lint import rules
from smithy.lint.model import Finding
from smithy.lint.subject import Subject, strings, text
from smithy.recipe.fields import shown

LIBRARY_TYPES = ("shared_library", "static_library")


def _package_type(s: Subject) -> str:
    return text(s.section("build").get("type")) or "package"


def missing_test_imports(s: Subject) -> Iterator[Finding]:
    if _package_type(s) != "package":
        return
    if not strings(s.value("test.imports")) and not strings(s.value("package.top-level")):
        yield rules.NO_IMPORTS.at(
            s.file,
            "package.top-level",
            "neither test.imports nor package.top-level names a module: CI imports nothing, "
            "so a wheel that cannot load still passes",
            "list the package's importable modules under package.top-level",
        )


def import_outside_top_level(s: Subject) -> Iterator[Finding]:
    top_level = set(strings(s.value("package.top-level")))
    if not top_level:
        return
    for i, module in enumerate(strings(s.value("test.imports"))):
        if module.split(".", 1)[0] not in top_level:
            yield rules.IMPORT_OUTSIDE.at(
                s.file,
                f"test.imports[{i}]",
                f"test.imports names {module}, which is in none of package.top-level "
                f"({', '.join(sorted(top_level))})",
                f"add {module.split('.', 1)[0]} to package.top-level if the wheel provides it",
            )


def _requirement_names(s: Subject, section: str) -> list[tuple[int, str, str]]:
    """``(index, normalised name, text)`` of each requirement that parses."""
    from packaging.requirements import InvalidRequirement, Requirement

    from smithy.recipe.model import normalize

    out = []
    for i, item in enumerate(strings(s.section("requirements").get(section))):
        try:
            out.append((i, normalize(Requirement(item).name), item))
        except InvalidRequirement:
            continue  # PS004 names it
    return out


def duplicate_requirement(s: Subject) -> Iterator[Finding]:
    for section in ("run", "host"):
        seen: dict[str, str] = {}
        for i, name, item in _requirement_names(s, section):
            if name in seen:
                yield rules.DUPLICATE_REQUIREMENT.at(
                    s.file,
                    f"requirements.{section}[{i}]",
                    f"requirements.{section} names {name} twice ({seen[name]!r}, {item!r})",
                    "keep one entry",
                )
            seen.setdefault(name, item)


def static_library_at_run_time(s: Subject) -> Iterator[Finding]:
    """A static library is linked in at build time; nothing installs or loads it later."""
    for i, name, item in _requirement_names(s, "run"):
        if name in s.static_libraries:
            yield rules.STATIC_AT_RUN_TIME.at(
                s.file,
                f"requirements.run[{i}]",
                f"requirements.run names {item}, a static library: it is linked in at build "
                "time, and Pyodide has nothing to load",
                f"move {item} to requirements.host",
            )


def library_version(s: Subject) -> Iterator[Finding]:
    from packaging.version import InvalidVersion, Version

    version = text(s.value("package.version"))
    if _package_type(s) not in LIBRARY_TYPES or version is None:
        return
    try:
        Version(version)
    except InvalidVersion:
        yield rules.LIBRARY_VERSION.at(
            s.file,
            "package.version",
            f"package.version {shown(version)} is not a PEP 440 version, so no library wheel "
            "can carry it: the feedstock's build stops there",
            "write the version as numbers: CLAPACK-3.2.1 is 3.2.1",
        )


def pure_python_impossible(s: Subject) -> Iterator[Finding]:
    """``pure-python: true`` in a feedstock's settings, on a recipe that cannot be built so."""
    from smithy.errors import ConfigError
    from smithy.render.context import effective_kind

    if s.settings is None or s.recipe is None or s.settings_file is None:
        return
    try:
        effective_kind(s.recipe, s.settings)
    except ConfigError as exc:
        yield rules.PURE_PYTHON_IMPOSSIBLE.at(
            s.settings_file,
            "pure-python",
            exc.message,
            "set pure-python to false in pyodide-smithy.yml: the recipe builds with pyodide-build",
        )


CHECKS = (
    missing_test_imports,
    import_outside_top_level,
    duplicate_requirement,
    static_library_at_run_time,
    library_version,
    pure_python_impossible,
)
