"""Library wheels: what a ``shared_library`` or ``static_library`` feedstock publishes.

A library is published as a wheel, ``libx-1.0-0-py3-none-pyemscripten_2026_0_wasm32.whl``
(no Python ABI, the xbuildenv's platform), laid out as::

    libx.so                  the runtime files (pyodide-build's $DISTDIR), at the wheel's top:
                             Pyodide puts site-packages on LD_LIBRARY_PATH, so a dependent's
                             DT_NEEDED and ctypes.CDLL("libx.so") find it, and it loads once
    libx/__init__.py         helper: get_prefix(), get_include_dir(), get_lib_dir(), ...
    libx/library.json        this manifest
    libx/prefix/...          what the build installed into WASM_LIBRARY_DIR, relocatable
                             (include/, lib/*.a, lib/pkgconfig/*.pc with ${pcfiledir})
    libx-1.0.dist-info/      METADATA (Requires-Dist: the recipe's run requirements), WHEEL,
                             entry_points.txt ([pkg_config] for pkgconf-pypi), RECORD

A runtime file is not copied into ``prefix/`` too (Pyodide loads every ``.so`` of a wheel, so a
second copy would be a second instance); ``runtime`` says where each belongs in the prefix, and a
dependent's build puts it back there (smithy/build/host.py). Why this layout: docs/libraries.md.

The manifest comes from a channel, written by anybody's CI: it is read defensively.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from typing import Any

MANIFEST_NAME = "library.json"
SHARED = "shared_library"
STATIC = "static_library"
KINDS = (SHARED, STATIC)
FORMAT = 1


class LibraryManifestError(ValueError):
    """A library wheel whose manifest is missing a key, or names a path outside the wheel."""


@dataclass(frozen=True, kw_only=True)
class LibraryManifest:
    name: str  # the recipe's name: libx
    version: str
    kind: str  # shared_library or static_library
    runtime: dict[str, str]  # path in the prefix -> path in the wheel (shared libraries only)

    @property
    def package(self) -> str:
        return import_name(self.name)

    @property
    def prefix(self) -> str:
        """The folder of the wheel holding the prefix: ``libx/prefix``."""
        return f"{self.package}/prefix"

    def to_json(self) -> str:
        data = {
            "format": FORMAT,
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "prefix": self.prefix,
            "runtime": dict(sorted(self.runtime.items())),
        }
        return json.dumps(data, indent=2) + "\n"


def import_name(name: str) -> str:
    """The helper package's name: the project name as an identifier (``lib-x.y`` -> ``lib_x_y``)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name.lower())


def manifest_member(name: str) -> str:
    return f"{import_name(name)}/{MANIFEST_NAME}"


def read_manifest(archive: zipfile.ZipFile, project: str) -> LibraryManifest | None:
    """The manifest of the library wheel ``archive`` of ``project``; ``None`` when the wheel is
    not a library's (no manifest). LibraryManifestError when one is there but wrong."""
    member = manifest_member(project)
    try:
        raw = archive.read(member)
    except KeyError:
        return None
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise LibraryManifestError(f"{member} is not JSON: {exc}") from None
    return parse_manifest(data, member)


def parse_manifest(data: Any, where: str) -> LibraryManifest:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise LibraryManifestError(f"{where}: not a format-{FORMAT} library manifest")
    name, version, kind = data.get("name"), data.get("version"), data.get("kind")
    if not (isinstance(name, str) and isinstance(version, str) and kind in KINDS):
        raise LibraryManifestError(f"{where}: name, version or kind missing or wrong")
    runtime = data.get("runtime", {})
    if not isinstance(runtime, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in runtime.items()
    ):
        raise LibraryManifestError(f"{where}: 'runtime' must map prefix paths to wheel paths")
    for path in [*runtime, *runtime.values()]:
        if not _clean(path):
            raise LibraryManifestError(f"{where}: {path!r} is not a plain relative path")
    if kind == STATIC and runtime:
        raise LibraryManifestError(f"{where}: a static library has no runtime files")
    return LibraryManifest(name=name, version=version, kind=str(kind), runtime=dict(runtime))


def _clean(path: str) -> bool:
    from smithy.fsutil import is_clean_relative

    return is_clean_relative(path)
