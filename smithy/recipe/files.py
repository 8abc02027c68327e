"""The paths a recipe names (patches, extras, a local source tree) and its test files.

They are untrusted: each is checked when the recipe is read and again where it is used, so
that nothing reads or writes outside the recipe folder through them. A path is relative and
normalised (no absolute path, drive, backslash or ``..``), not under ``.git/``, and every file
the recipe folder provides is a regular file reached without following a symlink.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from smithy.errors import RecipeError
from smithy.recipe.fields import shown

TEST_FILES = "test_*.py"
_CONTROL = frozenset(map(chr, [*range(0x20), *range(0x7F, 0xA0)]))


def relative_path(name: object, *, what: str, file: Path, key: str) -> PurePosixPath:
    """``name`` as a relative, normalised POSIX path, or a refusal naming ``key``."""

    def refuse(why: str) -> RecipeError:
        return RecipeError(f"{what} {shown(name)} {why}", file=file, key=key)

    if not isinstance(name, str) or not name.strip():
        raise refuse("is not a file name")
    if _CONTROL.intersection(name) or "\\" in name:
        raise refuse("holds a backslash or a control character")
    path = PurePosixPath(name)
    if path.is_absolute() or PureWindowsPath(name).drive:
        raise refuse("is absolute: name a file inside the recipe folder")
    if ".." in path.parts:
        raise refuse("goes up with '..': name a file inside the recipe folder")
    if not path.parts:
        raise refuse("names the folder itself, not a file")
    if any(part.lower() == ".git" for part in path.parts):
        raise refuse("is under .git/")
    return path


def recipe_file(directory: Path, name: object, *, what: str, file: Path, key: str) -> Path:
    """The regular file ``name`` inside ``directory``; no symlink is followed on the way."""
    relative = relative_path(name, what=what, file=file, key=key)
    path = directory
    for part in relative.parts:
        path = path / part
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            article = "an" if what[0] in "aeiou" else "a"
            raise RecipeError(
                f"recipe names {article} {what} that is missing: {relative}", file=file, key=key
            ) from None
        except OSError as exc:
            message = f"cannot read {what} {relative}: {exc.strerror}"
            raise RecipeError(message, file=file, key=key) from None
        if stat.S_ISLNK(mode):
            raise RecipeError(
                f"{what} {relative} is a symlink: a recipe's files must be regular files",
                file=file,
                key=key,
            )
    if not stat.S_ISREG(mode):
        raise RecipeError(f"{what} {relative} is not a regular file", file=file, key=key)
    if not path.resolve().is_relative_to(directory.resolve()):  # belt and braces
        raise RecipeError(f"{what} {relative} is outside the recipe folder", file=file, key=key)
    return path


def extra_destination(source: Path, name: object, *, file: Path, key: str) -> Path:
    """Where an extra file goes inside the extracted source ``source``: inside it, even through
    the symlinks an sdist may hold."""
    relative = relative_path(name, what="extra file destination", file=file, key=key)
    target = source / relative
    if not target.resolve().is_relative_to(source.resolve()):
        raise RecipeError(
            f"extra file destination {relative} leaves the source folder", file=file, key=key
        )
    return target


def check_source_path(directory: Path, name: object, *, file: Path) -> None:
    """``source.path``, a source tree pyodide-build copies: inside the recipe folder or, with one
    leading ``..``, beside it in the folder that holds it (pyodide-recipes' numpy-tests names
    ``../numpy/build/...``; in a feedstock that folder is the feedstock)."""
    key, what = "source.path", "source path"
    inner = name[3:] if isinstance(name, str) and name.startswith("../") else name
    relative_path(inner, what=what, file=file, key=key)
    path = directory / str(name)
    if path.exists() and not path.resolve().is_relative_to(directory.parent.resolve()):
        raise RecipeError(
            f"{what} {shown(name)} leads outside the folder holding the recipe", file=file, key=key
        )


def check_named_files(config: Any, directory: Path, meta_path: Path) -> None:
    """Every file ``source.patches`` and ``source.extras`` name, and ``source.path``."""
    for i, patch in enumerate(config.source.patches):
        recipe_file(directory, patch, what="patch file", file=meta_path, key=f"source.patches[{i}]")
    for i, (src, dest) in enumerate(config.source.extras):
        recipe_file(directory, src, what="extra file", file=meta_path, key=f"source.extras[{i}][0]")
        relative_path(
            dest, what="extra file destination", file=meta_path, key=f"source.extras[{i}][1]"
        )
    if config.source.path is not None:  # MetaConfig makes it a Path
        check_source_path(directory, str(config.source.path), file=meta_path)


def test_files(directory: Path) -> tuple[str, ...]:
    """The recipe's ``test_*.py`` files beside ``meta.yaml``; a symlink among them is refused."""
    names = []
    for path in sorted(directory.glob(TEST_FILES)):
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            message = "a recipe's test file is a symlink: it must be a regular file"
            raise RecipeError(message, file=path)
        if stat.S_ISREG(mode):
            names.append(path.name)
    return tuple(names)
