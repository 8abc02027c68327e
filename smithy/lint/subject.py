"""What the checks look at, read once: the recipe's data and YAML nodes, and its settings.

The data is untrusted and may be anything YAML holds (a check runs even when pyodide-build
refused the recipe), so checks reach it only through the accessors below, which answer an
empty value for a wrong type instead of raising.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smithy.config import FeedstockConfig
    from smithy.recipe.model import Recipe

_KEY_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


@dataclass(frozen=True, kw_only=True)
class Subject:
    """One recipe (and, in a feedstock, its settings) as the checks see it."""

    meta_path: Path
    file: str  # how findings name meta.yaml
    data: dict[str, Any]  # the recipe as YAML reads it; empty when it cannot be read
    tree: Any = None  # its composed YAML nodes (lines, scalars as written); None if unreadable
    recipe: Recipe | None = None  # the validated summary; None when the recipe was refused
    settings: FeedstockConfig | None = None  # a feedstock's pyodide-smithy.yml, when valid
    settings_file: str | None = None  # how findings name pyodide-smithy.yml
    static_libraries: frozenset[str] = field(default_factory=frozenset)  # normalised names

    def section(self, name: str) -> dict[str, Any]:
        return mapping(self.data.get(name))

    def value(self, key: str) -> Any:
        """The value at ``section.key``; None when absent or not reachable."""
        section, _, name = key.partition(".")
        return self.section(section).get(name)

    def written(self, key: str) -> str | None:
        """The scalar at ``key`` as the file writes it (``1.10``, where the data holds 1.1)."""
        node = find_node(self.tree, key)
        return node.value if node is not None and isinstance(node.value, str) else None


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str | None:
    """A scalar as text (YAML may have read it as a number); None for nothing or a collection."""
    if value is None or isinstance(value, dict | list):
        return None
    return str(value).strip() or None


def strings(value: Any) -> list[str]:
    """The scalar items of a list, as text."""
    if not isinstance(value, list):
        return []
    return [t for item in value if (t := text(item)) is not None]


def key_parts(key: str) -> list[str | int]:
    """``source.extras[0][1]`` -> ``['source', 'extras', 0, 1]``."""
    return [int(index) if index else name for index, name in _KEY_PART.findall(key)]


def find_node(tree: Any, key: str) -> Any:
    """The YAML node at ``key``; None when any part of the path is missing."""
    node, _, complete = _walk(tree, key)
    return node if complete else None


def line_of(tree: Any, key: str | None) -> int | None:
    """The 1-based line of ``key`` (of its key, for a mapping entry), or of the nearest part of
    its path that the file has; None when not even the first part is there."""
    return _walk(tree, key)[1] if key else None


def _walk(tree: Any, key: str) -> tuple[Any, int | None, bool]:
    """The deepest node of ``key``'s path in ``tree``, its line, and whether it is the last."""
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    node, line = tree, None
    if tree is None:
        return None, None, False
    for part in key_parts(key):
        child, mark = None, None
        if isinstance(node, MappingNode) and isinstance(part, str):
            for key_node, value_node in node.value:
                if getattr(key_node, "value", None) == part:
                    child, mark = value_node, key_node.start_mark
                    break
        elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            mark = child.start_mark
        if child is None or mark is None:
            return node, line, False
        node, line = child, mark.line + 1
    return node, line, True
