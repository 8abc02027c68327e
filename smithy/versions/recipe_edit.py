"""The recipe edit of a version update: three values of ``meta.yaml`` replaced where they stand.

ruamel.yaml's round trip says where each value's token is; only those tokens change, so
comments, quoting, key order, patches and everything else stay as the maintainers wrote them,
and the diff is three lines. The new values come from a package index, which is not trusted
(DESIGN.md, "Trust"): each is checked to be plain before it reaches the YAML, and the edited
text is read back to prove that nothing else moved.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from smithy.errors import RecipeError

if TYPE_CHECKING:
    from pathlib import Path

    from smithy.versions.select import Update

EDITED = (("package", "version"), ("source", "url"), ("source", "sha256"))
_VERSION = re.compile(r"[0-9A-Za-z.+!_-]+")
_FILENAME = re.compile(r"[A-Za-z0-9._+!-]+\.(?:whl|tar\.gz|zip)")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# RFC 3986 characters but quotes, so the URL is one YAML token in any quoting and one markdown
# link target; plain http only to this machine (a local index, the test stand-ins).
_URL = re.compile(
    r"(?:https://|http://(?:127\.0\.0\.1|localhost|\[::1\])(?::[0-9]+)?/)"
    r"[A-Za-z0-9._~:/?#@!$&()*+,;=%\[\]-]+"
)
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
_FLOW_PLAIN = re.compile(r"[^\s,}\]]+")  # inside {...}: a plain value ends at , } or ]
_BLOCK_PLAIN = re.compile(r"\S(?:.*?\S)??(?=[ \t]+#|[ \t]*\r?\n?$)")  # up to a comment


def update_meta(text: str, update: Update, path: Path) -> str:
    """``text`` (a recipe's ``meta.yaml``) with ``package.version``, ``source.url`` and
    ``source.sha256`` set from ``update``, each token replaced in place.

    RecipeError when the recipe has no release source to update (``source.path``, or no
    ``url``/``sha256``), when a value is not where a plain token could be replaced (a block
    scalar, an alias), or when ``update`` holds anything but a plain version, an https URL
    without credentials that ends with its file name, and a sha256.
    """
    from smithy.yamlio import load_yaml_text, round_trip_load

    values = _checked(update, path)
    data = round_trip_load(text, path, error=RecipeError)
    edits = []
    for (section, key), value in zip(EDITED, values, strict=True):
        mapping = _section(data, section, path)
        if section == "source" and "path" in mapping:
            raise RecipeError(
                "the recipe's source is a local path (source.path), not a release to update",
                file=path,
                key="source.path",
            )
        if key not in mapping:
            raise RecipeError(f"no {section}.{key} to update", file=path, key=f"{section}.{key}")
        line, column = mapping.lc.value(key)
        flow = bool(mapping.fa.flow_style())
        edits.append((line, column, value, f"{section}.{key}", flow))
    lines = text.splitlines(keepends=True)
    for line, column, value, where, flow in sorted(edits, reverse=True):
        lines[line] = _replaced(lines[line], column, value, flow, where=where, path=path)
    out = "".join(lines)
    expected = load_yaml_text(text, path, error=RecipeError)
    for (section, key), value in zip(EDITED, values, strict=True):
        expected[section][key] = value
    try:
        edited = load_yaml_text(out, path, error=RecipeError)
    except RecipeError:
        edited = None
    if edited != expected:
        raise RecipeError(
            "cannot update package.version, source.url and source.sha256 in place: a value "
            "spans lines or is written in a way this edit does not replace",
            file=path,
        )
    return out


def _checked(update: Update, path: Path) -> tuple[str, str, str]:
    from packaging.version import InvalidVersion, Version

    try:
        Version(update.version)
        valid_version = _VERSION.fullmatch(update.version) is not None
    except InvalidVersion:
        valid_version = False
    if not valid_version:
        raise _refused("version", update.version, "a PEP 440 version", path, "package.version")
    if _FILENAME.fullmatch(update.filename) is None:
        raise _refused("file name", update.filename, "a wheel or sdist name", path, "source.url")
    if _URL.fullmatch(update.url) is None:
        raise _refused("URL", update.url, "a plain https URL", path, "source.url")
    parts = urlsplit(update.url)
    if parts.username is not None or parts.password is not None:
        raise RecipeError(
            "refusing a source URL that carries credentials", file=path, key="source.url"
        )
    if not unquote(parts.path).endswith("/" + update.filename):
        raise _refused("URL", update.url, f"a URL of {update.filename}", path, "source.url")
    if _SHA256.fullmatch(update.sha256) is None:
        raise _refused("sha256", update.sha256, "64 hex digits", path, "source.sha256")
    return update.version, update.url, update.sha256


def _refused(what: str, value: str, expected: str, path: Path, key: str) -> RecipeError:
    shown = value if len(value) <= 120 else value[:117] + "..."
    return RecipeError(
        f"the package index gave a {what} {shown!r}, expected {expected}", file=path, key=key
    )


def _section(data: Any, section: str, path: Path) -> Any:
    mapping = data.get(section) if isinstance(data, dict) else None
    if not isinstance(mapping, dict):
        raise RecipeError(f"no '{section}' mapping in the recipe", file=path, key=section)
    return mapping


def _replaced(line: str, column: int, value: str, flow: bool, *, where: str, path: Path) -> str:
    token = _QUOTED.match(line, column) or (_FLOW_PLAIN if flow else _BLOCK_PLAIN).match(
        line, column
    )
    if token is None or token.group()[0] in "|>&*!{[":
        raise RecipeError(
            f"cannot update {where} in place: write it as a plain or quoted value on its line",
            file=path,
            key=where,
        )
    quote = token.group()[0] if token.group()[0] in "\"'" else ""
    if not quote and not _plain_string(value):
        quote = '"'
    return f"{line[:column]}{quote}{value}{quote}{line[token.end() :]}"


def _plain_string(value: str) -> bool:
    """Whether ``value`` unquoted reads back as this string (``1.10`` would be a float)."""
    from pathlib import Path

    from smithy.yamlio import load_yaml_text

    try:
        loaded = load_yaml_text(f"v: {value}\n", Path("<value>"), error=RecipeError)
    except RecipeError:
        return False
    return bool(loaded == {"v": value})
