"""Wheels as the channel sees them: read once, checked before anything is sent."""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smithy.channel.rules import is_project_name
from smithy.errors import WheelError
from smithy.recipe.model import normalize
from smithy.xbuildenv import XBuildEnv

if TYPE_CHECKING:
    from smithy.platform import WheelName


@dataclass(frozen=True, kw_only=True)
class Wheel:
    path: Path
    filename: str
    name: str  # METADATA Name, as written
    version: str
    platforms: frozenset[str]
    summary: str  # one line; "" when METADATA has none
    license: str | None
    requires_dist: tuple[str, ...]
    sha256: str
    size: int

    @property
    def project(self) -> str:
        """PEP 503 normalised name: what an index calls the project."""
        return normalize(self.name)

    @property
    def name_info(self) -> WheelName:
        """The file name parsed: version, build tag, tags."""
        from smithy.platform import parse_wheel_name

        return parse_wheel_name(self.filename)


def read_wheel(path: Path) -> Wheel:
    """Read ``path`` and check it is a wheel whose METADATA agrees with its file name."""
    from packaging.version import InvalidVersion, Version

    from smithy.platform import InvalidWheelName, parse_wheel_name

    filename = path.name
    try:
        parsed = parse_wheel_name(filename)
    except InvalidWheelName as exc:
        raise WheelError(f"not a valid wheel file name: {exc}", file=path) from None
    name, version = parsed.name, parsed.version
    try:
        data = path.read_bytes()
        with zipfile.ZipFile(path) as archive:
            metadata = _metadata(archive, path)
    except FileNotFoundError:
        raise WheelError("no such file", file=path) from None
    except (OSError, zipfile.BadZipFile) as exc:
        raise WheelError(f"not a readable wheel: {exc}", file=path) from exc
    meta_name = metadata.get("Name", "").strip()
    meta_version = metadata.get("Version", "").strip()
    if not is_project_name(meta_name):  # it goes into Anaconda.org's URL paths as written
        raise WheelError(
            f"METADATA Name {meta_name!r} is not a valid project name", file=path, key="Name"
        )
    if normalize(meta_name) != normalize(str(name)):
        raise WheelError(
            f"METADATA Name {meta_name!r} does not match the file name", file=path, key="Name"
        )
    try:
        same = Version(meta_version) == version
    except InvalidVersion:
        same = False
    if not same:
        raise WheelError(
            f"METADATA Version {meta_version!r} does not match the file name ({version})",
            file=path,
            key="Version",
        )
    # A missing Summary (or setuptools' "UNKNOWN") is blank, not a refusal: Anaconda.org takes
    # a blank one, and "summary required" is only anaconda-client's own check.
    summary = " ".join((metadata.get("Summary") or "").split())
    if summary.upper() == "UNKNOWN":
        summary = ""
    return Wheel(
        path=path,
        filename=filename,
        name=meta_name,
        version=meta_version,
        platforms=parsed.platforms,
        summary=summary,
        license=(metadata.get("License-Expression") or metadata.get("License") or None),
        requires_dist=tuple(metadata.get_all("Requires-Dist") or ()),
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )


def _metadata(archive: zipfile.ZipFile, path: Path) -> Any:
    found = [n for n in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
    if len(found) != 1:
        raise WheelError("the wheel has no single .dist-info/METADATA", file=path)
    return HeaderParser().parsestr(archive.read(found[0]).decode("utf-8", "replace"))


def check_platform(wheel: Wheel, xbuildenv: XBuildEnv | None) -> None:
    """The wheel runs on ``xbuildenv``'s Pyodide (on some Pyodide, when none is given)."""
    from smithy.platform import abi_of, is_pyodide_platform, platforms_for, rank

    if xbuildenv is None:
        foreign = sorted(p for p in wheel.platforms if not is_pyodide_platform(p))
        if foreign:
            raise WheelError(
                f"platform {', '.join(foreign)} is not a Pyodide platform "
                "(pyemscripten_<abi>_wasm32, pyodide_<abi>_wasm32 or any)",
                file=wheel.path,
            )
        return
    if wheel.platforms <= platforms_for(xbuildenv) and rank(wheel.name_info, xbuildenv) is None:
        raise WheelError(
            f"tags {', '.join(sorted(map(str, wheel.name_info.tags)))} do not fit xbuildenv "
            f"{xbuildenv.version}: its Python is {xbuildenv.python_short}",
            file=wheel.path,
        )
    if not wheel.platforms <= platforms_for(xbuildenv):
        abi = abi_of(xbuildenv)
        wanted = f"pyemscripten_{abi}_wasm32 (or pyodide_{abi}_wasm32, any)"
        raise WheelError(
            f"platform {', '.join(sorted(wheel.platforms))} does not fit xbuildenv "
            f"{xbuildenv.version}, which needs {wanted}",
            file=wheel.path,
        )


def wheel_names(data: bytes) -> set[str]:
    """The member names of a wheel given as bytes."""
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return set(archive.namelist())


def wheel_requires(data: bytes) -> tuple[str, ...]:
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        found = [n for n in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
        if not found:
            return ()
        text = archive.read(found[0]).decode("utf-8", "replace")
    return tuple(HeaderParser().parsestr(text).get_all("Requires-Dist") or ())
