"""YAML through ruamel.yaml: safe loads with line/column errors, round trips that keep comments."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from smithy.errors import SmithyError

MAX_YAML_CHARS = 256 * 1024  # the largest of the 332 real recipes is 7 KB


def load_yaml_text(text: str, path: Path, *, error: type[SmithyError]) -> Any:
    """Parse ``text`` (a recipe, ``pyodide-smithy.yml``: untrusted) with the safe loader:
    invalid YAML raises ``error`` naming the line and column; so do Python or unknown tags
    (the safe loader knows none), aliases (``*name``: a few lines could expand to gigabytes)
    and a text too large to be a recipe or settings file."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if len(text) > MAX_YAML_CHARS:
        raise error(f"too large for a YAML settings file: {len(text)} characters", file=path)
    yaml = YAML(typ="safe", pure=False)
    try:
        if "*" in text:
            _refuse_aliases(yaml, text, path, error)
        return yaml.load(text)
    except YAMLError as exc:
        raise _yaml_error(exc, path, error) from exc


def load_yaml_file(path: Path, *, error: type[SmithyError]) -> Any:
    """:func:`load_yaml_text` of a file that must be a regular, UTF-8 file of sane size (not a
    symlink to ``/dev/zero``, not a FIFO); FileNotFoundError is left to the caller."""
    from smithy.fsutil import read_regular

    data = read_regular(path, limit=MAX_YAML_CHARS * 4, error=error)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text: {exc.reason} at byte {exc.start}", file=path) from None
    return load_yaml_text(text, path, error=error)


def _refuse_aliases(yaml: Any, text: str, path: Path, error: type[SmithyError]) -> None:
    from ruamel.yaml.events import AliasEvent

    for event in yaml.parse(text):
        if isinstance(event, AliasEvent):
            mark = event.start_mark
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise error(f"YAML aliases (*{event.anchor}) are not accepted{where}", file=path)


def round_trip_load(text: str, path: Path, *, error: type[SmithyError]) -> Any:
    """Load keeping comments, key order and quoting, for edits written back with :func:`dump`."""
    from ruamel.yaml.error import YAMLError

    try:
        return _round_trip().load(text)
    except YAMLError as exc:
        raise _yaml_error(exc, path, error) from exc


def _yaml_error(exc: Exception, path: Path, error: type[SmithyError]) -> SmithyError:
    from ruamel.yaml.error import MarkedYAMLError

    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "cannot parse"
        return error(f"invalid YAML: {problem}{where}", file=path)
    return error(f"invalid YAML: {str(exc).splitlines()[0]}", file=path)


def round_trip_dump(data: Any) -> str:
    stream = io.StringIO()
    _round_trip().dump(data, stream)
    return stream.getvalue()


def _round_trip() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml
