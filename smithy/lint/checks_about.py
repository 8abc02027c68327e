"""Checks of ``package``, ``about`` and ``extra``: what people and licences read."""

from __future__ import annotations

from collections.abc import Iterator

from smithy.lint import rules
from smithy.lint.model import Finding, Rule
from smithy.lint.subject import Subject, strings, text
from smithy.recipe.fields import shown

PLACEHOLDER = "PUT_YOUR_GITHUB_USERNAME_HERE"  # what `pyodide skeleton pypi` writes
MAINTAINERS = "extra.recipe-maintainers"
FEEDSTOCK_FOLDER = "recipe"


def _absent(
    s: Subject, keys: tuple[str, ...], rule: Rule, message: str, fix: str
) -> Iterator[Finding]:
    """``rule`` at the first of ``keys`` when none of them holds a value."""
    if all(text(s.value(key)) is None for key in keys):
        yield rule.at(s.file, keys[0], message, fix)


def missing_license(s: Subject) -> Iterator[Finding]:
    return _absent(
        s,
        ("about.license",),
        rules.MISSING_LICENSE,
        "the recipe names no licence: the feedstock's README and LICENSE.txt cannot say it",
        "set about.license to the project's SPDX licence expression, e.g. MIT or BSD-3-Clause",
    )


def license_not_spdx(s: Subject) -> Iterator[Finding]:
    from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

    licence = text(s.value("about.license"))
    if licence is None:
        return
    try:
        canonicalize_license_expression(licence)
    except InvalidLicenseExpression:
        yield rules.LICENSE_NOT_SPDX.at(
            s.file,
            "about.license",
            f"about.license {shown(licence)} is not an SPDX licence expression",
            "use the identifiers at https://spdx.org/licenses/: Apache-2.0 for 'Apache 2.0', "
            "'MIT AND BSD-3-Clause' for two licences, LicenseRef-NAME for any other",
        )


def missing_summary(s: Subject) -> Iterator[Finding]:
    return _absent(
        s,
        ("about.summary",),
        rules.MISSING_SUMMARY,
        "the recipe has no summary: the feedstock's README and the channel show none",
        "set about.summary to one line saying what the package is, as PyPI's summary does",
    )


def missing_home(s: Subject) -> Iterator[Finding]:
    return _absent(
        s,
        ("about.home", "about.PyPI"),
        rules.MISSING_HOME,
        "the recipe links to neither the project's home page nor its PyPI page",
        "set about.home to the project's site or repository, or about.PyPI",
    )


def version_not_text(s: Subject) -> Iterator[Finding]:
    """``version: 1.10`` is the number 1.1 to YAML, and so to pyodide-build."""
    value = s.value("package.version")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    written = s.written("package.version")
    if written is not None and written.strip() != str(value):
        yield rules.VERSION_NUMBER.at(
            s.file,
            "package.version",
            f"package.version is written {written} but YAML reads it as the number {value}",
            f'quote it: version: "{written}"',
        )


def name_not_folder(s: Subject) -> Iterator[Finding]:
    """pyodide-recipes and staged recipes keep each recipe in a folder named after it."""
    name, folder = text(s.value("package.name")), s.meta_path.absolute().parent.name
    if name is not None and folder not in (name, FEEDSTOCK_FOLDER):
        yield rules.NAME_NOT_FOLDER.at(
            s.file,
            "package.name",
            f"package.name is {shown(name)} but the recipe's folder is {shown(folder)}",
            f"rename the folder to {name}, or fix package.name",
        )


def maintainers(s: Subject) -> Iterator[Finding]:
    names = strings(s.section("extra").get("recipe-maintainers"))
    if not names:
        yield rules.NO_MAINTAINERS.at(
            s.file,
            MAINTAINERS,
            "the recipe has no maintainers: nobody owns the feedstock (CODEOWNERS) or may ask "
            "the bot for anything",
            "list your GitHub login under extra.recipe-maintainers",
        )
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name.upper() == PLACEHOLDER:
            yield rules.PLACEHOLDER_MAINTAINER.at(
                s.file,
                f"{MAINTAINERS}[{i}]",
                f"maintainer {name} is the placeholder `pyodide skeleton` writes, not a login",
                "replace it with your GitHub login",
            )
        elif name.lower() in seen:
            yield rules.DUPLICATE_MAINTAINER.at(
                s.file,
                f"{MAINTAINERS}[{i}]",
                f"maintainer {name} is listed twice (GitHub logins ignore case)",
                "remove the second entry",
            )
        seen.add(name.lower())


def unknown_extra_key(s: Subject) -> Iterator[Finding]:
    """pyodide-build accepts any key under ``extra`` and reads only recipe-maintainers."""
    import difflib

    known = ["recipe-maintainers"]
    for key in s.section("extra"):
        if str(key) in known:
            continue
        close = difflib.get_close_matches(str(key), known, n=1)
        yield rules.UNKNOWN_EXTRA_KEY.at(
            s.file,
            f"extra.{key}",
            f"nothing reads extra.{key}" + (f"; did you mean '{close[0]}'?" if close else ""),
            f"rename it to extra.{close[0]}" if close else "remove it",
        )


CHECKS = (
    missing_license,
    license_not_spdx,
    missing_summary,
    missing_home,
    version_not_text,
    name_not_folder,
    maintainers,
    unknown_extra_key,
)
