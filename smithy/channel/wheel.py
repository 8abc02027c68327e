"""Wheels as the channel sees them: read once, checked before anything is sent."""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

from smithy.channel.rules import is_project_name
from smithy.errors import WheelError
from smithy.recipe.model import normalize
from smithy.xbuildenv import XBuildEnv


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


def read_wheel(path: Path) -> Wheel:
    """Read ``path`` and check it is a wheel whose METADATA agrees with its file name."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename
    from packaging.version import InvalidVersion, Version

    filename = path.name
    try:
        name, version, _, tags = parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion) as exc:
        raise WheelError(f"not a valid wheel file name: {exc}", file=path) from None
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
        platforms=frozenset(tag.platform for tag in tags),
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


def abi(xbuildenv: XBuildEnv) -> str:
    """Pyodide's ABI for an xbuildenv: ``2026_0`` for Python 3.14 (one per Python minor)."""
    major, minor = (int(p) for p in xbuildenv.python_short.split("."))
    return f"{2024 + (minor - 12) if major == 3 else 0}_0"


def fitting_platforms(xbuildenv: XBuildEnv) -> frozenset[str]:
    """Platform tags a wheel may carry to run on ``xbuildenv``'s Pyodide."""
    emscripten = xbuildenv.emscripten_version.replace(".", "_")
    return frozenset(
        {
            "any",
            f"pyemscripten_{abi(xbuildenv)}_wasm32",
            f"pyodide_{abi(xbuildenv)}_wasm32",
            f"emscripten_{emscripten}_wasm32",
        }
    )


_PYODIDE_PLATFORM = re.compile(
    r"any|(pyemscripten|pyodide)_\d{4}_\d+_wasm32|emscripten_\d+_\d+_\d+_wasm32"
)


def check_platform(wheel: Wheel, xbuildenv: XBuildEnv | None) -> None:
    """The wheel runs on ``xbuildenv``'s Pyodide (on some Pyodide, when none is given)."""
    if xbuildenv is None:
        foreign = sorted(p for p in wheel.platforms if not _PYODIDE_PLATFORM.fullmatch(p))
        if foreign:
            raise WheelError(
                f"platform {', '.join(foreign)} is not a Pyodide platform "
                "(pyemscripten_<abi>_wasm32, pyodide_<abi>_wasm32 or any)",
                file=wheel.path,
            )
        return
    fitting = fitting_platforms(xbuildenv)
    if not wheel.platforms <= fitting:
        wanted = f"pyemscripten_{abi(xbuildenv)}_wasm32 (or pyodide_{abi(xbuildenv)}_wasm32, any)"
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
