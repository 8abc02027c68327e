"""Template discovery: the shipped ``feedstock-template/`` and a feedstock's own overrides."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from smithy.errors import TemplateError

SUFFIX = ".j2"
OVERRIDE_DIR = ".pyodide-smithy/templates"


@dataclass(frozen=True)
class TemplateSet:
    """Output path -> the template file that renders it (an override wins over the shipped one)."""

    files: tuple[tuple[str, Path], ...]

    def read(self) -> dict[str, bytes]:
        """Template name -> bytes, for hashing the render's inputs without importing jinja2."""
        return {name: path.read_bytes() for name, path in self.files}


def discover(shipped: Path, feedstock: Path | None = None) -> TemplateSet:
    found = {_output(p, shipped): p for p in shipped.rglob(f"*{SUFFIX}") if p.is_file()}
    if feedstock is not None:
        override_root = feedstock / OVERRIDE_DIR
        if override_root.is_dir():
            for path in sorted(override_root.rglob("*")):
                if not path.is_file():
                    continue
                name = _output(path, override_root)
                if name not in found:
                    close = difflib.get_close_matches(name, list(found), n=1)
                    hint = f"; did you mean '{close[0]}{SUFFIX}'?" if close else ""
                    raise TemplateError(
                        f"template override matches no shipped template{hint}", file=path
                    )
                found[name] = path
    return TemplateSet(tuple(sorted(found.items())))


def _output(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix().removesuffix(SUFFIX)
