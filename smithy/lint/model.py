"""A finding: one rule broken at one place, with what to do about it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Level(StrEnum):
    """An error fails ``lint`` (and stops ``init`` and ``rerender``); a hint informs."""

    ERROR = "error"
    HINT = "hint"


@dataclass(frozen=True, kw_only=True)
class Finding:
    id: str  # PS101
    name: str  # missing-license
    level: Level
    file: str  # as the user named it, or relative to the working folder
    key: str | None  # key path in the file: source.patches[0]
    message: str
    fix: str
    line: int | None = None  # 1-based, when the key (or its nearest parent) is in the file

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "level": self.level.value,
            "file": self.file,
            "line": self.line,
            "key": self.key,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass(frozen=True, kw_only=True)
class Rule:
    """A check's stable identity: ``PS101 missing-license``, its level and what it catches."""

    id: str
    name: str
    level: Level
    title: str

    def at(self, file: str, key: str | None, message: str, fix: str) -> Finding:
        return Finding(
            id=self.id,
            name=self.name,
            level=self.level,
            file=file,
            key=key,
            message=message,
            fix=fix,
        )
