"""The last step of a build: the built wheel rewritten to carry the feedstock's build number and
the recipe's run requirements.

The build number becomes the PEP 427 build tag of the file name (``name-1.2.0-0-...whl``, 0
included) and ``WHEEL``'s ``Build:``. ``METADATA``'s ``Requires-Dist`` becomes the recipe's
``requirements.run``, keeping upstream's extras; upstream's ``METADATA`` is kept, byte for byte,
as ``<name>-<version>.dist-info/UPSTREAM_METADATA``. RECORD is made anew. The same input and
build number give the same bytes: member times are kept, and what is new or changed takes the
time of the original ``METADATA``.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from smithy import console
from smithy.build.model import BuildError
from smithy.errors import WheelError

if TYPE_CHECKING:
    from packaging.requirements import Requirement

    from smithy.xbuildenv import XBuildEnv

UPSTREAM_METADATA = "UPSTREAM_METADATA"
_KEY = "requirements.run"
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_EXTRA = re.compile(r"\bextra\b")
_CHUNK = 1 << 20


def finalize_wheel(
    wheel: Path,
    *,
    build_number: int,
    run_requirements: tuple[str, ...],
    xbuildenv: XBuildEnv,
    meta_path: Path,
) -> Path:
    """Rewrite ``wheel`` as described above; return the new file (the old one is removed)."""
    required = _recipe_requirements(run_requirements, meta_path)
    target = wheel.with_name(build_tagged(wheel.name, build_number))
    partial = wheel.with_name(f".{target.name}.partial")
    try:
        with zipfile.ZipFile(wheel) as archive:
            info_dir = _dist_info(archive.namelist())
            if info_dir is None or f"{info_dir}/WHEEL" not in archive.namelist():
                raise BuildError("no single .dist-info with METADATA and WHEEL", file=wheel)
            metadata = archive.read(f"{info_dir}/METADATA")
            upstream = _upstream(archive, info_dir, metadata)
            _warn_differences(required, _requires_dist(upstream.decode("utf-8")), xbuildenv)
            changed = {
                f"{info_dir}/METADATA": rewrite_metadata(metadata, [str(r) for r in required]),
                f"{info_dir}/WHEEL": _with_build(archive.read(f"{info_dir}/WHEEL"), build_number),
                f"{info_dir}/{UPSTREAM_METADATA}": upstream,
            }
            _write(archive, partial, changed, info_dir)
        partial.replace(target)
    except (OSError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise BuildError(f"cannot rewrite {wheel.name}: {exc}", file=wheel) from exc
    finally:
        partial.unlink(missing_ok=True)
    if target != wheel:
        wheel.unlink()
    console.info(f"{target.name}: build {build_number}, Requires-Dist from {_KEY}")
    return target


def read_requirements(wheel: Path | zipfile.ZipFile) -> tuple[list[str], list[str] | None]:
    """The wheel's ``Requires-Dist``, and upstream's (from ``UPSTREAM_METADATA``) or ``None``
    when the wheel keeps no upstream metadata."""
    if isinstance(wheel, zipfile.ZipFile):
        return _read_requirements(wheel, Path(wheel.filename or "wheel"))
    try:
        with zipfile.ZipFile(wheel) as archive:
            return _read_requirements(archive, wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise WheelError(f"not a readable wheel: {exc}", file=wheel) from exc


def build_tagged(filename: str, build_number: int) -> str:
    """``filename`` with the PEP 427 build tag ``build_number`` (any previous one replaced)."""
    from smithy.platform import InvalidWheelName, parse_wheel_name

    try:
        return parse_wheel_name(filename).with_build(build_number)
    except InvalidWheelName as exc:
        raise BuildError(f"not a valid wheel file name: {exc}", file=filename) from None


def rewrite_metadata(metadata: bytes, requirements: list[str]) -> bytes:
    """``METADATA`` whose ``Requires-Dist`` are ``requirements`` plus upstream's extra-only
    ones (``; extra == "..."``); every other byte as it was."""
    headers, body = _headers(metadata.decode("utf-8"))
    eol = _eol(headers)
    ours = [f"Requires-Dist: {r}{eol}" for r in requirements]
    out: list[str] = []
    for entry in headers:
        if _field(entry) != "requires-dist":
            out.append(entry)
            continue
        out += ours
        ours = []
        if _for_an_extra(_marker(_value(entry))):
            out.append(entry)
    return "".join([*(_ended(out, eol) if ours else out), *ours, body]).encode("utf-8")


def _read_requirements(archive: zipfile.ZipFile, path: Path) -> tuple[list[str], list[str] | None]:
    info_dir = _dist_info(archive.namelist())
    if info_dir is None:
        raise WheelError("the wheel has no single .dist-info/METADATA", file=path)
    names = set(archive.namelist())
    current = _requires_dist(archive.read(f"{info_dir}/METADATA").decode("utf-8", "replace"))
    kept = f"{info_dir}/{UPSTREAM_METADATA}"
    if kept not in names:
        return current, None
    return current, _requires_dist(archive.read(kept).decode("utf-8", "replace"))


def _recipe_requirements(texts: tuple[str, ...], meta_path: Path) -> list[Requirement]:
    from packaging.requirements import InvalidRequirement, Requirement

    found: dict[str, Requirement] = {}
    for text in texts:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            detail = str(exc).splitlines()[0] if str(exc) else "invalid"
            raise BuildError(
                f"{text!r} is not a requirement: {detail}", file=meta_path, key=_KEY
            ) from None
        found.setdefault(str(requirement), requirement)
    return list(found.values())


def _warn_differences(recipe: list[Requirement], upstream: list[str], xbuildenv: XBuildEnv) -> None:
    """Warn when the recipe's run names differ from upstream's for this Pyodide."""
    from packaging.requirements import InvalidRequirement, Requirement

    parsed: list[Requirement] = []
    for line in upstream:
        with contextlib.suppress(InvalidRequirement):
            parsed.append(Requirement(line))
    ours, theirs = _names(recipe, xbuildenv), _names(parsed, xbuildenv)
    adds, drops = sorted(ours - theirs), sorted(theirs - ours)
    said = "; ".join(
        f"{verb} {', '.join(names)}" for verb, names in (("adds", adds), ("drops", drops)) if names
    )
    if said:
        console.warn(f"recipe {_KEY} differs from upstream's Requires-Dist: {said}")


def _names(requirements: Iterable[Requirement], xbuildenv: XBuildEnv) -> set[str]:
    """Canonical names of the requirements that apply on ``xbuildenv``'s Pyodide, no extra."""
    from packaging.markers import UndefinedComparison, UndefinedEnvironmentName
    from packaging.utils import canonicalize_name

    from smithy.markers import pyodide_environment

    env = pyodide_environment(xbuildenv.python_version, xbuildenv.emscripten_version)
    names: set[str] = set()
    for requirement in requirements:
        if _for_an_extra(str(requirement.marker or "")):
            continue
        try:
            holds = requirement.marker is None or requirement.marker.evaluate(env)
        except (UndefinedComparison, UndefinedEnvironmentName):
            holds = False
        if holds:
            names.add(canonicalize_name(requirement.name))
    return names


def _upstream(archive: zipfile.ZipFile, info_dir: str, metadata: bytes) -> bytes:
    """Upstream's METADATA: one kept by an earlier finalize, else the wheel's own."""
    kept = f"{info_dir}/{UPSTREAM_METADATA}"
    return archive.read(kept) if kept in archive.namelist() else metadata


def _with_build(wheel_file: bytes, build_number: int) -> bytes:
    headers, body = _headers(wheel_file.decode("utf-8"))
    eol = _eol(headers)
    kept = [entry for entry in headers if _field(entry) != "build"]
    return "".join([*_ended(kept, eol), f"Build: {build_number}{eol}", body]).encode("utf-8")


def _write(
    archive: zipfile.ZipFile, target: Path, changed: dict[str, bytes], info_dir: str
) -> None:
    """Copy ``archive`` into ``target`` with ``changed`` members in place of their old selves
    (or, if new, right after METADATA) and a new RECORD last."""
    record_name = f"{info_dir}/RECORD"
    metadata = archive.getinfo(f"{info_dir}/METADATA")
    added = [name for name in changed if name not in archive.namelist()]
    rows: list[tuple[str, str, str]] = []
    with zipfile.ZipFile(target, "w") as out:

        def put(name: str, data: bytes) -> None:
            out.writestr(_member(name, metadata), data)
            rows.append((name, _digest(hashlib.sha256(data).digest()), str(len(data))))

        for original in archive.infolist():
            name = original.filename
            if name == record_name:
                continue
            if name in changed:
                put(name, changed[name])
            elif original.is_dir():
                out.writestr(_member(name, original), b"")
            else:
                rows.append(_copy(archive, original, out))
            if name == metadata.filename:
                for new in added:
                    put(new, changed[new])
        rows.append((record_name, "", ""))
        out.writestr(_member(record_name, metadata), _record(rows))


def _copy(
    archive: zipfile.ZipFile, original: zipfile.ZipInfo, out: zipfile.ZipFile
) -> tuple[str, str, str]:
    sha = hashlib.sha256()
    size = 0
    big = original.file_size >= zipfile.ZIP64_LIMIT
    with (
        archive.open(original) as src,
        out.open(_member(original.filename, original), "w", force_zip64=big) as dst,
    ):
        while chunk := src.read(_CHUNK):
            sha.update(chunk)
            dst.write(chunk)
            size += len(chunk)
    return original.filename, _digest(sha.digest()), str(size)


def _member(name: str, like: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """A fresh entry for ``name`` with the time and permissions of ``like``, deflated."""
    info = zipfile.ZipInfo(name, date_time=like.date_time)
    info.external_attr = like.external_attr
    info.create_system = 3
    info.compress_type = zipfile.ZIP_STORED if name.endswith("/") else zipfile.ZIP_DEFLATED
    return info


def _record(rows: list[tuple[str, str, str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _digest(digest: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _dist_info(names: list[str]) -> str | None:
    """The ``<name>-<version>.dist-info`` folder holding the wheel's METADATA; None if not one."""
    found = [n for n in names if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
    return found[0].rsplit("/", 1)[0] if len(found) == 1 else None


def _requires_dist(metadata: str) -> list[str]:
    headers, _ = _headers(metadata)
    return [_value(entry) for entry in headers if _field(entry) == "requires-dist"]


def _headers(text: str) -> tuple[list[str], str]:
    """Header fields (each with its continuation lines and line ends) and the rest: the blank
    line and the body, as written."""
    lines = re.split(r"(?<=\n)", text)
    headers: list[str] = []
    for at, line in enumerate(lines):
        if line in ("\n", "\r\n", ""):
            return headers, "".join(lines[at:])
        if line[:1] in (" ", "\t") and headers:
            headers[-1] += line
        else:
            headers.append(line)
    return headers, ""


def _field(entry: str) -> str:
    return entry.split(":", 1)[0].strip().lower()


def _value(entry: str) -> str:
    return re.sub(r"\r?\n[ \t]*", " ", entry.split(":", 1)[-1]).strip()


def _ended(headers: list[str], eol: str) -> list[str]:
    """``headers`` with a line end after the last one, so that more can follow."""
    if headers and not headers[-1].endswith("\n"):
        return [*headers[:-1], headers[-1] + eol]
    return headers


def _eol(headers: list[str]) -> str:
    return "\r\n" if headers and headers[0].endswith("\r\n") else "\n"


def _marker(requirement: str) -> str:
    """The marker of a ``Requires-Dist`` value, as written or as packaging reads it."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return str(Requirement(requirement).marker or "")
    except InvalidRequirement:
        return requirement.partition(";")[2]


def _for_an_extra(marker: str) -> bool:
    """Whether a marker names ``extra`` (outside its quoted values)."""
    return bool(_EXTRA.search(_QUOTED.sub("", marker)))
