"""What a version update's pull request says: the changelog link, how the release's requirements
moved, and whether the recipe's patches still find their files. Pure: it reads bytes it is
given (metadata, a patch, an archive) and never runs or extracts anything.

Everything here comes from upstream or from a feedstock, so none of it is trusted: a link is
kept only when it is a plain https URL, and archives are only listed.
"""

from __future__ import annotations

import io
import re
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING

from smithy.errors import RecipeError

if TYPE_CHECKING:
    from email.message import Message

# Project-URL labels that name a changelog, normalized as the well-known project URLs spec
# (PEP 753) says: ASCII punctuation and whitespace removed, lower-cased. First found wins.
CHANGELOG_LABELS = ("changelog", "releasenotes", "changes", "history", "whatsnew")
# RFC 3986 characters but quotes, parentheses, brackets and angle brackets: one markdown link
# target that nothing in it can end.
_LINK = re.compile(r"https://[A-Za-z0-9._~:/?#@!$&*+,;=%-]+")
MAX_MEMBERS = 200_000  # a source archive with more names than this is not listed


@dataclass(frozen=True)
class RequirementChanges:
    """Requires-Dist of the new release against the old one's, as a Pyodide sees them."""

    added: tuple[str, ...]  # requirements of the new release the old one had not (by name)
    removed: tuple[str, ...]  # requirements of the old release the new one drops
    not_in_recipe: tuple[str, ...]  # of ``added``, those the recipe's run list lacks
    changed: tuple[str, ...] = ()  # same name, other specifier: "numpy: >=1.22 -> >=2"


def _headers(metadata: bytes) -> Message:
    from email.parser import BytesHeaderParser
    from email.policy import compat32

    return BytesHeaderParser(policy=compat32).parsebytes(metadata)


def changelog_url(metadata: bytes) -> str | None:
    """The release's changelog or release-notes link from its ``Project-URL``s; None when it
    names none (or names it with anything but a plain https URL)."""
    found: dict[str, str] = {}
    strip = str.maketrans("", "", string.punctuation + string.whitespace)
    for value in _headers(metadata).get_all("Project-URL") or []:
        label, _, url = str(value).partition(",")
        url = url.strip()
        key = label.translate(strip).lower()
        if key in CHANGELOG_LABELS and key not in found and _LINK.fullmatch(url):
            found[key] = url
    return next((found[label] for label in CHANGELOG_LABELS if label in found), None)


def requirement_changes(
    old_metadata: bytes, new_metadata: bytes, recipe_run: tuple[str, ...], python: str
) -> RequirementChanges:
    """How ``Requires-Dist`` moved from the old release to the new one, with markers evaluated
    for a Pyodide of ``python`` (``3.13.2``); requirements that hold only under an extra are
    left out. ``not_in_recipe``: added requirements that ``recipe_run`` (the recipe's
    ``requirements.run``) does not name."""
    from packaging.utils import canonicalize_name

    old, new = _requirements(old_metadata, python), _requirements(new_metadata, python)
    run = {canonicalize_name(name) for name in recipe_run}
    added = tuple(new[name] for name in new if name not in old)
    return RequirementChanges(
        added=added,
        removed=tuple(old[name] for name in old if name not in new),
        not_in_recipe=tuple(new[name] for name in new if name not in old and name not in run),
        changed=tuple(
            f"{name}: {_spec(old[name]) or 'any'} -> {_spec(new[name]) or 'any'}"
            for name in new
            if name in old and _spec(old[name]) != _spec(new[name])
        ),
    )


def _requirements(metadata: bytes, python: str) -> dict[str, str]:
    """canonical name -> the requirement without its marker and extras, in file order."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    from smithy.markers import pyodide_environment

    environment = pyodide_environment(python)
    out: dict[str, str] = {}
    for value in _headers(metadata).get_all("Requires-Dist") or []:
        try:
            requirement = Requirement(str(value))
        except InvalidRequirement:
            continue  # upstream's mistake; nothing to say about it here
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        name = canonicalize_name(requirement.name)
        text = f"{name}{requirement.specifier}" if requirement.url is None else name
        if name not in out or out[name] == name:
            out[name] = text
    return out


def _spec(requirement: str) -> str:
    return re.sub(r"^[a-z0-9-]+", "", requirement)


# patches --------------------------------------------------------------------------------------

_HUNK = re.compile(r"@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")


def patch_targets(patch_text: str) -> list[str]:
    """The files a patch changes that must already exist: the ``---`` side of each file it
    touches (not ``/dev/null``: a file it creates), less its first component, as ``patch
    -p1`` (pyodide-build's way) reads it. Hunk bodies are skipped by their line counts, so a
    removed line that starts with ``-- `` is never taken for a file header."""
    targets: list[str] = []
    lines = patch_text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            old = _patch_name(line[4:])
            if old is not None and old not in targets:
                targets.append(old)
            i += 2
            continue
        hunk = _HUNK.match(line)
        if hunk is not None:
            i = _skip_hunk(lines, i + 1, int(hunk[1] or 1), int(hunk[2] or 1))
            continue
        i += 1
    return targets


def _skip_hunk(lines: list[str], i: int, old: int, new: int) -> int:
    while i < len(lines) and (old > 0 or new > 0):
        mark = lines[i][:1]
        if mark in (" ", ""):
            old, new = old - 1, new - 1
        elif mark == "-":
            old -= 1
        elif mark == "+":
            new -= 1
        elif mark != "\\":  # "\ No newline at end of file" counts for neither side
            break
        i += 1
    return i


def _patch_name(header: str) -> str | None:
    name = header.split("\t", 1)[0].strip()
    if name.startswith('"') and name.endswith('"') and len(name) > 1:
        name = name[1:-1]
    if name == "/dev/null" or not name:
        return None
    return name.split("/", 1)[1] if "/" in name else name


def missing_patch_targets(
    patches: dict[str, str], members: list[str], extract_dir: str | None
) -> dict[str, list[str]]:
    """For each patch (path -> text) that changes files the new source lacks, those files.

    ``members`` are the new source archive's names; the folder pyodide-build moves into place
    is ``extract_dir`` when the recipe sets it, else the archive's one top-level folder (an
    sdist's ``name-version/``). An archive without one such folder tells nothing: ``{}``.
    """
    files = _source_tree(members, extract_dir)
    if files is None:
        return {}
    missing = {}
    for path, text in patches.items():
        lost = [target for target in patch_targets(text) if target not in files]
        if lost:
            missing[path] = lost
    return missing


def _source_tree(members: list[str], extract_dir: str | None) -> set[str] | None:
    names = [m.removeprefix("./").rstrip("/") for m in members]
    names = [n for n in names if n and n != "."]
    if extract_dir is not None:
        root = extract_dir.strip("/")
    else:
        tops = {n.split("/", 1)[0] for n in names}
        if len(tops) != 1 or not any("/" in n for n in names):
            return None
        root = tops.pop()
    prefix = root + "/"
    tree = {n.removeprefix(prefix) for n in names if n.startswith(prefix)}
    return tree or None


def source_members(data: bytes, filename: str) -> list[str]:
    """The member names of a source archive (``.tar.gz``/``.tgz``/``.tar.*``, ``.zip``,
    ``.whl``): listed, never extracted. RecipeError when it cannot be read."""
    import tarfile
    import zipfile

    try:
        if filename.endswith((".zip", ".whl")):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = zf.namelist()
        elif filename.endswith((".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar")):
            names = []
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
                for member in tf:
                    names.append(member.name)
                    if len(names) > MAX_MEMBERS:
                        raise RecipeError(f"{filename} holds more than {MAX_MEMBERS} files")
        else:
            raise RecipeError(f"cannot list {filename}: not a tar, zip or wheel archive")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise RecipeError(f"cannot list {filename}: {exc}") from None
    return names
