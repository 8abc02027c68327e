"""Rules for the recipe fields that reach generated files, folder names and commands.

A recipe is untrusted: anyone can open a pull request on a feedstock. Each value below lands in
a workflow, CODEOWNERS, the README, a folder or repository name, or a command line, so it is
checked where the recipe is read; a refusal is one line naming the key. docs/rerender.md
("What a recipe may hold") lists the rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from smithy.errors import RecipeError

# PEP 508's name rule, ASCII only (``re.IGNORECASE`` would also let in U+017F and U+212A).
NAME = re.compile(r"[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]")
# GitHub repository names stop at 100 characters; the feedstock's is ``<name>-feedstock``.
MAX_NAME = 100 - len("-feedstock")
# GitHub's login rule, plus single underscores: Enterprise Managed Users are ``name_shortcode``,
# and four real recipes hold the placeholder ``PUT_YOUR_GITHUB_USERNAME_HERE``.
LOGIN = re.compile(r"[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*")
MAX_LOGIN = 39
# A library's version is no wheel's and need not be PEP 440 (libf2c: CLAPACK-3.2.1).
LIBRARY_VERSION = re.compile(r"[A-Za-z0-9]+(?:[._+-][A-Za-z0-9]+)*")
# RFC 3986's characters: no whitespace, control characters, quotes, <>, |, {}, \, ^ or `.
URL_CHARS = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+")
# Control characters other than the whitespace a one-line field collapses (\t \n \v \f \r),
# and the bidirectional overrides that make text read differently from what it holds.
FORBIDDEN_TEXT = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters: one line whatever the value holds."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a package name pyodide-smithy accepts; ``None`` if it is one."""
    if not NAME.fullmatch(name):
        return "only letters, digits and . _ -, starting and ending with a letter or digit"
    if len(name) > MAX_NAME:
        return f"longer than {MAX_NAME} characters, too long for a repository name"
    return None


def package_name(value: object, meta_path: Path) -> str:
    name = str(value)
    if (why := name_problem(name)) is not None:
        raise RecipeError(
            f"package name {shown(name)} is not valid: {why}", file=meta_path, key="package.name"
        )
    return name


def version(value: object, meta_path: Path, *, library: bool) -> str:
    """PEP 440 as ``packaging.version.Version`` parses it (what pyodide-build and micropip do),
    written without whitespace; a library's version may be any dotted word (it names no wheel)."""
    from packaging.version import InvalidVersion, Version

    text = str(value)
    if library and LIBRARY_VERSION.fullmatch(text):
        return text
    try:
        Version(text)
        ok = not any(c.isspace() for c in text)
    except InvalidVersion:
        ok = False
    if not ok:
        raise RecipeError(
            f"package version {shown(text)} is not a PEP 440 version",
            file=meta_path,
            key="package.version",
        )
    return text


def login(value: object, meta_path: Path, key: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecipeError(
            f"maintainer {shown(value)} is not a GitHub login", file=meta_path, key=key
        )
    text = str(value)
    if len(text) > MAX_LOGIN or not LOGIN.fullmatch(text):
        raise RecipeError(
            f"maintainer {shown(text)} is not a GitHub login (1 to {MAX_LOGIN} letters and "
            "digits, single hyphens or underscores between them)",
            file=meta_path,
            key=key,
        )
    return text


def url_problem(url: str) -> str | None:
    """Why ``url`` is not an http(s) URL fit for a README or a download; ``None`` if it is."""
    if not URL_CHARS.fullmatch(url):
        return "holds whitespace, a control character or a character no URL holds"
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return "only http:// and https:// URLs are accepted"
    return None


def url(value: object, meta_path: Path, key: str) -> str | None:
    """An http(s) URL; an empty value is an absent one."""
    if value is None or value == "":
        return None
    text = str(value)
    if (why := url_problem(text)) is not None:
        raise RecipeError(f"{key} {shown(text)} is not valid: {why}", file=meta_path, key=key)
    return text


def one_line(value: object, meta_path: Path, key: str) -> str | None:
    """Text for one line of a README or LICENSE: runs of whitespace, newlines included (real
    summaries are wrapped), collapse to one space; any other control character is refused."""
    if value is None:
        return None
    text = str(value)
    if found := FORBIDDEN_TEXT.search(text):
        raise RecipeError(
            f"{key} holds the control character {found.group()!r}", file=meta_path, key=key
        )
    return " ".join(text.split()) or None


def dotted_names(values: Iterable[object], meta_path: Path, key: str) -> tuple[str, ...]:
    """Python module paths: identifiers joined by dots (``test.imports``, ``package.top-level``)."""
    out = []
    for i, value in enumerate(values):
        text = str(value)
        if not all(part.isidentifier() for part in text.split(".")):
            raise RecipeError(
                f"{shown(text)} is not an importable module name (identifiers joined by dots)",
                file=meta_path,
                key=f"{key}[{i}]",
            )
        out.append(text)
    return tuple(out)


def requirements(values: Iterable[object], meta_path: Path, key: str) -> tuple[str, ...]:
    """PEP 508 requirement strings, on one line."""
    from packaging.requirements import InvalidRequirement, Requirement

    out = []
    for i, value in enumerate(values):
        text = str(value)
        try:
            Requirement(text)
            ok = not _CONTROL.search(text)
        except InvalidRequirement:
            ok = False
        if not ok:
            raise RecipeError(
                f"{shown(text)} is not a PEP 508 requirement", file=meta_path, key=f"{key}[{i}]"
            )
        out.append(text)
    return tuple(out)
