"""Read a recipe (and a feedstock's settings) once for the checks; what cannot be read or what
pyodide-build or pyodide-smithy refuse becomes a finding (PS001 to PS005) instead of an error."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smithy.errors import ConfigError, RecipeError, SmithyError
from smithy.lint import rules
from smithy.lint.model import Finding
from smithy.lint.subject import Subject, line_of

if TYPE_CHECKING:
    from smithy.config import FeedstockConfig

SPEC = "https://pyodide.org/en/stable/development/meta-yaml.html"
RULES_DOC = "docs/rerender.md, 'What a recipe may hold'"
_AT_LINE = re.compile(r" at line (\d+)")


def read_recipe(meta_path: Path, file: str) -> tuple[Subject, list[Finding]]:
    """The recipe at ``meta_path`` as a Subject, and what refused it on the way."""
    from smithy.recipe.load import load_recipe, validate_meta
    from smithy.yamlio import load_yaml_text

    empty = Subject(meta_path=meta_path, file=file, data={})
    try:
        text = read_text(meta_path, RecipeError)
        data = load_yaml_text(text, meta_path, error=RecipeError)
    except FileNotFoundError:
        return empty, [_unreadable(file, "there is no meta.yaml", "write the recipe's meta.yaml")]
    except RecipeError as exc:
        return empty, [_unreadable(file, exc.message)]
    if not isinstance(data, dict):
        return empty, [_unreadable(file, "a recipe must be a YAML mapping")]
    tree = compose(text)
    subject = Subject(meta_path=meta_path, file=file, data=data, tree=tree)
    try:
        validate_meta(data, meta_path)
    except RecipeError as exc:
        unknown = exc.message.startswith("unknown key")
        rule = rules.UNKNOWN_KEY if unknown else rules.SCHEMA_INVALID
        fix = "rename or remove the key" if unknown else f"see the meta.yaml specification, {SPEC}"
        return subject, [_at(rule.at(file, exc.key, exc.message, fix), tree)]
    try:
        recipe = load_recipe(meta_path.parent)
    except RecipeError as exc:
        finding = rules.VALUE_REFUSED.at(file, exc.key, exc.message, f"see {RULES_DOC}")
        return subject, [_at(finding, tree)]
    return Subject(meta_path=meta_path, file=file, data=data, tree=tree, recipe=recipe), []


def read_settings(path: Path, file: str) -> tuple[FeedstockConfig | None, Any, list[Finding]]:
    """A feedstock's ``pyodide-smithy.yml``, its YAML nodes, and a refusal as a PS005 finding."""
    from smithy.config import parse_config
    from smithy.yamlio import load_yaml_text

    text, tree = "", None
    try:
        text = read_text(path, ConfigError)
        data = load_yaml_text(text, path, error=ConfigError)
        tree = compose(text)
        return parse_config(data if data is not None else {}, path), tree, []
    except ConfigError as exc:
        fix = "see docs/config.md; `pyodide-smithy schema` prints its JSON Schema"
        finding = rules.SETTINGS_INVALID.at(file, exc.key, exc.message, fix)
        return None, tree, [_at(finding, tree, exc.message)]


def read_text(path: Path, error: type[SmithyError]) -> str:
    """A regular UTF-8 file of a sane size, as smithy.yamlio reads one."""
    from smithy.fsutil import read_regular
    from smithy.yamlio import MAX_YAML_CHARS

    raw = read_regular(path, limit=MAX_YAML_CHARS * 4, error=error)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text: {exc.reason} at byte {exc.start}", file=path) from None


def compose(text: str) -> Any:
    """The YAML nodes of a text the safe loader accepted: lines, and scalars as written."""
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=False).compose(text)


@cache
def static_libraries(folder: Path) -> frozenset[str]:
    """The normalised names of the static-library recipes in ``folder`` (a pyodide-recipes
    checkout or the admin repository's ``recipes/``): what the linted recipe's neighbours are."""
    from smithy.recipe.model import normalize
    from smithy.yamlio import load_yaml_text

    names = set()
    for meta in sorted(folder.glob("*/meta.yaml")):
        try:
            text = read_text(meta, RecipeError)
            if "static_library" not in text:
                continue
            data = load_yaml_text(text, meta, error=RecipeError)
        except (OSError, RecipeError):
            continue
        build, package = _mapping(data, "build"), _mapping(data, "package")
        if build.get("type") == "static_library" and isinstance(package.get("name"), str):
            names.add(normalize(package["name"]))
    return frozenset(names)


def _mapping(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _unreadable(file: str, message: str, fix: str = "") -> Finding:
    found = _AT_LINE.search(message)
    fix = fix or "make meta.yaml a YAML mapping (package, source, ...) as the message says"
    finding = rules.YAML_INVALID.at(file, None, message, fix)
    return _with_line(finding, int(found.group(1)) if found else None)


def _at(finding: Finding, tree: Any, message: str = "") -> Finding:
    found = _AT_LINE.search(message)
    return _with_line(finding, int(found.group(1)) if found else line_of(tree, finding.key))


def _with_line(finding: Finding, line: int | None) -> Finding:
    import dataclasses

    return dataclasses.replace(finding, line=line)
