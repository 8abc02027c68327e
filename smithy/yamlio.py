"""YAML through ruamel.yaml: safe loads with line/column errors, round trips that keep comments."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from smithy.errors import SmithyError


def load_yaml_text(text: str, path: Path, *, error: type[SmithyError]) -> Any:
    """Parse ``text``; invalid YAML raises ``error`` naming the line and column."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe", pure=False).load(text)
    except YAMLError as exc:
        raise _yaml_error(exc, path, error) from exc


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
