"""The recipe as the rest of pyodide-smithy sees it: a frozen summary of a validated meta.yaml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class BuildKind(StrEnum):
    """What building the recipe takes; decides which CI the feedstock gets."""

    PURE_WHEEL = "pure-wheel"  # a py3-none-any wheel is the source: fetch and check
    PREBUILT_WHEEL = "prebuilt-wheel"  # an Emscripten wheel is the source: fetch and check
    PURE_SDIST = "pure-sdist"  # an sdist declared pure-python: pypa/build (PEP 517), no Emscripten
    COMPILED = "compiled"  # pyodide-build with Emscripten
    SHARED_LIBRARY = "shared-library"  # pyodide-build, output is a zip of .so files
    STATIC_LIBRARY = "static-library"  # pyodide-build, output is an install prefix

    @property
    def needs_emscripten(self) -> bool:
        return self in (BuildKind.COMPILED, BuildKind.SHARED_LIBRARY, BuildKind.STATIC_LIBRARY)

    @property
    def makes_wheel(self) -> bool:
        return self not in (BuildKind.SHARED_LIBRARY, BuildKind.STATIC_LIBRARY)


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """A validated recipe and the folder it lives in (patches, extras and test files)."""

    name: str
    version: str
    kind: BuildKind
    directory: Path
    source_url: str | None
    sha256: str | None
    summary: str | None
    license: str | None
    home: str | None
    pypi: str | None
    maintainers: tuple[str, ...]
    top_level: tuple[str, ...]
    imports: tuple[str, ...]
    run_requirements: tuple[str, ...]
    host_requirements: tuple[str, ...]
    executables: tuple[str, ...]
    test_files: tuple[str, ...]
    pure_blocker: str | None = None  # why an sdist recipe cannot be built as pure Python

    @property
    def feedstock_name(self) -> str:
        return f"{normalize(self.name)}-feedstock"

    @property
    def import_names(self) -> tuple[str, ...]:
        """What a test imports: ``test.imports``, else ``package.top-level``."""
        return self.imports or self.top_level


def normalize(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()
