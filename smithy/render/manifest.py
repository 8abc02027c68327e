"""The manifest of generated files: how rerender finds stale files, hand edits and "up to date"."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from smithy.errors import FeedstockError
from smithy.xbuildenv import XBuildEnv

MANIFEST = ".pyodide-smithy/manifest.json"
FORMAT = 1


@dataclass(frozen=True, kw_only=True)
class Manifest:
    smithy_version: str
    xbuildenv: XBuildEnv
    inputs: str  # digest of everything the render read, see inputs_digest()
    files: dict[str, str] = field(default_factory=dict)  # generated path -> sha256

    def to_bytes(self) -> bytes:
        data = {
            "format": FORMAT,
            "generated-by": "pyodide-smithy",
            "pyodide-smithy": self.smithy_version,
            "xbuildenv": asdict(self.xbuildenv),
            "inputs": self.inputs,
            "files": dict(sorted(self.files.items())),
        }
        return (json.dumps(data, indent=2) + "\n").encode()

    @classmethod
    def from_bytes(cls, content: bytes, path: Path) -> Manifest:
        try:
            data: Any = json.loads(content)
            if data.get("format") != FORMAT:
                raise ValueError(f"unsupported manifest format {data.get('format')!r}")
            files = {str(k): str(v) for k, v in data["files"].items()}
            manifest = cls(
                smithy_version=str(data["pyodide-smithy"]),
                xbuildenv=XBuildEnv(**data["xbuildenv"]),
                inputs=str(data["inputs"]),
                files=files,
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
