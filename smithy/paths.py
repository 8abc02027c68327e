"""Where pyodide-smithy finds its shipped templates and keeps its caches."""

from __future__ import annotations

import os
from pathlib import Path

from smithy.errors import TemplateError

_PACKAGE_DIR = Path(__file__).resolve().parent


def template_dir() -> Path:
    """The shipped ``feedstock-template/``: in an installed wheel, or at the top of a checkout."""
    for candidate in (
        _PACKAGE_DIR / "feedstock-template",
        _PACKAGE_DIR.parent / "feedstock-template",
    ):
        if candidate.is_dir():
            return candidate
    raise TemplateError(
        "the feedstock template is missing from this installation", file=_PACKAGE_DIR
    )


def cache_dir() -> Path:
    """``$PYODIDE_SMITHY_CACHE_DIR``, else the XDG cache home."""
    explicit = os.environ.get("PYODIDE_SMITHY_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pyodide-smithy"
