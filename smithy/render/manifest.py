"""The manifest of generated files: how rerender finds stale files, hand edits and "up to date"."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from smithy.errors import FeedstockError
from smithy.xbuildenv import XBuildEnv

MANIFEST = ".pyodide-smithy/manifest.json"
FORMAT = 1  # keys are only added: a manifest without a newer key still reads (absent = unknown)
# What any recipe version is made of (PEP 440's characters, a library's dotted words): the
# manifest's copy is printed and compared, so nothing else gets in.
RECIPE_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+!-]{0,99}")


@dataclass(frozen=True, kw_only=True)
class Manifest:
    smithy_version: str
    xbuildenv: XBuildEnv
    inputs: str  # digest of everything the render read, see inputs_digest()
    files: dict[str, str] = field(default_factory=dict)  # generated path -> sha256
    recipe_version: str | None = None  # what build-number counts for; None: not recorded

    def to_bytes(self) -> bytes:
        data: dict[str, Any] = {
            "format": FORMAT,
            "generated-by": "pyodide-smithy",
            "pyodide-smithy": self.smithy_version,
        }
        if self.recipe_version is not None:
            data["recipe-version"] = self.recipe_version
        data |= {
            "xbuildenv": asdict(self.xbuildenv),
            "inputs": self.inputs,
            "files": dict(sorted(self.files.items())),
        }
        return (json.dumps(data, indent=2) + "\n").encode()

    @classmethod
    def from_bytes(cls, content: bytes, path: Path) -> Manifest:
        try:
            data: Any = json.loads(content)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            if data.get("format") != FORMAT:
                raise ValueError(f"unsupported manifest format {data.get('format')!r}")
            files = data["files"]
            if not isinstance(files, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in files.items()
            ):
                raise ValueError("'files' must map paths to sha256 strings")
            manifest = cls(
                smithy_version=_string(data, "pyodide-smithy"),
                xbuildenv=XBuildEnv(**data["xbuildenv"]),
                inputs=_string(data, "inputs"),
                files=dict(files),
                recipe_version=_recipe_version(data.get("recipe-version")),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise FeedstockError(f"unreadable manifest: {exc}", file=path) from exc
        from smithy.fsutil import is_clean_relative

        for name in files:  # rerender deletes what the manifest names: only its own files
            if not is_clean_relative(name) or name == MANIFEST:
                raise FeedstockError(
                    f"untrusted manifest: {name!r} is not a generated file of the feedstock",
                    file=path,
                    key="files",
                )
        return manifest


def _string(data: dict[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string, not {type(value).__name__}")
    return value


def _recipe_version(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not RECIPE_VERSION.fullmatch(value):
        raise ValueError(f"'recipe-version' {str(value)[:60]!r} is not a recipe version")
    return value


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def inputs_digest(
    *,
    smithy_version: str,
    xbuildenv: XBuildEnv,
    config_text: bytes,
    meta_text: bytes,
    test_files: tuple[str, ...],
    templates: dict[str, bytes],
) -> str:
    """One hash over every input of the render: equal digests mean an identical render."""
    h = hashlib.sha256()
    parts: list[bytes] = [
        smithy_version.encode(),
        json.dumps(asdict(xbuildenv), sort_keys=True).encode(),
        config_text,
        meta_text,
        "\n".join(test_files).encode(),
    ]
    for name in sorted(templates):
        parts += [name.encode(), templates[name]]
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()
