"""Template discovery: the shipped ``feedstock-template/`` and a feedstock's own overrides.

Overrides are untrusted: only regular files inside ``.pyodide-smithy/templates/`` count, no
symlink (to a file or a folder, anywhere on the way) is followed, and each must replace a
shipped template of the same name. Anything else is refused with the file and the reason.
"""

from __future__ import annotations

import difflib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from smithy.errors import TemplateError

SUFFIX = ".j2"
OVERRIDE_DIR = ".pyodide-smithy/templates"
MAX_TEMPLATE_BYTES = 1 << 20  # the largest shipped template is some 10 KB


@dataclass(frozen=True)
class TemplateSet:
    """Output path -> the template file that renders it (an override wins over the shipped one)."""

    files: tuple[tuple[str, Path], ...]

    def read(self) -> dict[str, bytes]:
        """Template name -> bytes, for hashing the render's inputs without importing jinja2."""
        return {name: read_template(path) for name, path in self.files}

    def source(self, name: str) -> str:
        path = dict(self.files)[name]
        try:
            return read_template(path).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TemplateError(f"template is not UTF-8 text: {exc}", file=path) from None


def read_template(path: Path) -> bytes:
    """The bytes of a template: a regular file under 1 MiB, never a symlink put there since
    discovery (nor a FIFO or a device)."""
    from smithy.fsutil import read_regular

    try:
        return read_regular(path, limit=MAX_TEMPLATE_BYTES, error=TemplateError)
    except FileNotFoundError:
        raise TemplateError("template disappeared", file=path) from None


def discover(shipped: Path, feedstock: Path | None = None) -> TemplateSet:
    found = dict(_templates(shipped, any_name=False))
    if feedstock is not None:
        override_root = feedstock / OVERRIDE_DIR
        _refuse_symlinked_parents(feedstock)
        if override_root.is_dir():
            for name, path in _templates(override_root, any_name=True):
                if name not in found:
                    close = difflib.get_close_matches(name, list(found), n=1)
                    hint = f"; did you mean '{close[0]}{SUFFIX}'?" if close else ""
                    raise TemplateError(
                        f"template override matches no shipped template{hint}", file=path
                    )
                found[name] = path
    return TemplateSet(tuple(sorted(found.items())))


def _templates(root: Path, *, any_name: bool) -> list[tuple[str, Path]]:
    """``(output name, file)`` for every template under ``root`` (``*.j2``, or any file when
    ``any_name``); a symlink or anything but a regular file there is refused, never followed."""
    out = []
    for base, dirs, files in os.walk(root, followlinks=False):
        folder = Path(base)
        for name in sorted(dirs + files):
            path = folder / name
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise TemplateError(
                    "template override is a symlink: overrides must be files in the feedstock",
                    file=path,
                )
            if name in files and not stat.S_ISREG(mode):
                raise TemplateError("template override is not a regular file", file=path)
            if name in files and (any_name or name.endswith(SUFFIX)):
                out.append((path.relative_to(root).as_posix().removesuffix(SUFFIX), path))
    return out


def _refuse_symlinked_parents(feedstock: Path) -> None:
    """``.pyodide-smithy`` and ``.pyodide-smithy/templates`` must be real folders of the
    feedstock: a symlink there would bring templates in from anywhere."""
    current = feedstock
    for part in Path(OVERRIDE_DIR).parts:
        current = current / part
        if current.is_symlink():
            raise TemplateError(
                "template overrides folder is a symlink: it must be a folder in the feedstock",
                file=current,
            )
