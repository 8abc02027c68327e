"""Host requirements that are other recipes' outputs, fetched from the channel and put in place.

pyodide-build installs only the xbuildenv's cross-build packages as host requirements and
silently ignores the others. For those, the channel's wheel for this xbuildenv is unpacked
into ``HOSTSITEPACKAGES``, and a library's install prefix (``<name>-<version>-prefix.tar.gz``,
what CI keeps of a library build) into ``WASM_LIBRARY_DIR``.
"""

from __future__ import annotations

import io
import re
import shutil
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from smithy import console
from smithy.build.model import BuildError
from smithy.channel.model import MAIN, Channel, ChannelFile
from smithy.xbuildenv import XBuildEnv

_PREFIX = re.compile(r"^(?P<name>.+)-(?P<version>[^-]+)-prefix\.tar\.gz$")


@dataclass
class Placement:
    wheels: list[str] = field(default_factory=list)  # file names unpacked into site-packages
    prefixes: list[str] = field(default_factory=list)  # tarballs unpacked into the library dir
    skipped: list[str] = field(default_factory=list)  # cross-build packages: pyodide-build's
    missing: list[str] = field(default_factory=list)  # neither on the channel nor cross-build


def parse_host_requirement(text: str, *, meta_path: Path | None, index: int) -> tuple[str, str]:
    """``(normalised name, specifier)`` of one ``requirements.host`` entry."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise BuildError(
            f"invalid host requirement {text!r}: {exc}",
            file=meta_path,
            key=f"requirements.host[{index}]",
        ) from None
    return str(canonicalize_name(req.name)), str(req.specifier)


def choose_files(
    files: list[ChannelFile], xbuildenv: XBuildEnv, specifier: str, *, label: str = MAIN
) -> tuple[ChannelFile | None, ChannelFile | None]:
    """The newest fitting wheel and the newest prefix tarball under ``label``."""
    from packaging.specifiers import SpecifierSet
    from packaging.version import InvalidVersion, Version

    from smithy.platform import InvalidWheelName, WheelName, parse_wheel_name, platforms_for

    wanted = SpecifierSet(specifier)
    fitting = platforms_for(xbuildenv)
    wheels: list[tuple[WheelName, ChannelFile]] = []
    prefixes: list[tuple[Version, ChannelFile]] = []
    for f in files:
        if label not in f.labels:
            continue
        try:
            if f.filename.endswith(".whl"):
                parsed = parse_wheel_name(f.filename)
                fits = parsed.platforms <= fitting
                if fits and wanted.contains(parsed.version, prereleases=True):
                    wheels.append((parsed, f))
            elif match := _PREFIX.match(f.filename):
                version = Version(match["version"])
                if wanted.contains(version, prereleases=True):
                    prefixes.append((version, f))
        except (InvalidWheelName, InvalidVersion):
            continue
    wheel = max(wheels, key=lambda p: p[0].sort_key())[1] if wheels else None  # build tag too
    prefix = max(prefixes, key=lambda p: p[0])[1] if prefixes else None
    return wheel, prefix


def place_host_requirements(
    requirements: tuple[str, ...],
    channel: Channel,
    xbuildenv: XBuildEnv,
    *,
    site_packages: Path,
    library_dir: Path,
    cross_build: frozenset[str] = frozenset(),
    label: str = MAIN,
    meta_path: Path | None = None,
) -> Placement:
    """Unpack each host requirement's channel wheel and prefix tarball where pyodide-build looks."""
    placement = Placement()
    for i, text in enumerate(requirements):
        name, specifier = parse_host_requirement(text, meta_path=meta_path, index=i)
        if name in cross_build:
            console.info(f"host requirement {name}: a cross-build package, pyodide-build's job")
            placement.skipped.append(name)
            continue
        wheel, prefix = choose_files(channel.files(name), xbuildenv, specifier, label=label)
        if wheel is None and prefix is None:
            console.warn(
                f"host requirement {text!r} is not on the channel {channel.description} "
                f"(label {label}) for xbuildenv {xbuildenv.version}; pyodide-build may still "
                "provide it from the xbuildenv's requirements.txt"
            )
            placement.missing.append(name)
            continue
        if wheel is not None:
            console.info(f"host requirement {name}: {wheel.filename} -> {site_packages}")
            unpack_wheel(channel.download(wheel), wheel, site_packages)
            placement.wheels.append(wheel.filename)
        if prefix is not None:
            console.info(f"host requirement {name}: {prefix.filename} -> {library_dir}")
            unpack_prefix(channel.download(prefix), prefix, library_dir)
            placement.prefixes.append(prefix.filename)
    return placement


def unpack_wheel(data: bytes, file: ChannelFile, site_packages: Path) -> None:
    """Install a wheel's files into ``site_packages`` (purelib/platlib data included)."""
    _check_sha256(data, file)
    site_packages.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            _remove_installed(site_packages, _dist_info(infos, file))
            for info in infos:
                target = _wheel_target(info.filename, site_packages)
                if target is None or info.is_dir():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
    except zipfile.BadZipFile as exc:
        raise BuildError(f"{file.filename} from the channel is not a wheel: {exc}") from exc


def unpack_prefix(data: bytes, file: ChannelFile, library_dir: Path) -> None:
    _check_sha256(data, file)
    library_dir.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            archive.extractall(library_dir, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise BuildError(f"cannot unpack {file.filename} from the channel: {exc}") from exc


def _check_sha256(data: bytes, file: ChannelFile) -> None:
    """The bytes are the channel's file: by its sha256, else its md5 (old Anaconda.org files
    answer ``"sha256": "None"``)."""
    mismatch = file.differs(data)
    if mismatch is not None:
        raise BuildError(f"{file.filename} from the channel differs from its record: {mismatch}")


def _dist_info(infos: list[zipfile.ZipInfo], file: ChannelFile) -> str:
    for info in infos:
        parts = PurePosixPath(info.filename).parts
        if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA":
            return parts[0]
    raise BuildError(f"{file.filename} from the channel has no .dist-info/METADATA")


def _wheel_target(name: str, site_packages: Path) -> Path | None:
    """Where a wheel member goes; ``None`` for scripts, headers and data, which stay out."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BuildError(f"unsafe path in a wheel from the channel: {name}")
    first = path.parts[0]
    if first.endswith(".data"):
        if len(path.parts) < 3 or path.parts[1] not in ("purelib", "platlib"):
            return None
        path = PurePosixPath(*path.parts[2:])
    return site_packages.joinpath(*path.parts)


def _remove_installed(site_packages: Path, dist_info: str) -> None:
    """Remove an earlier version of the same project (its RECORD's files and .dist-info)."""
    from packaging.utils import canonicalize_name

    def project(folder: str) -> str:
        return canonicalize_name(folder.removesuffix(".dist-info").rsplit("-", 1)[0])

    for old in site_packages.glob("*.dist-info"):
        if project(old.name) != project(dist_info):
            continue
        record = old / "RECORD"
        if record.is_file():
            for line in record.read_text(encoding="utf-8", errors="replace").splitlines():
                rel = line.split(",", 1)[0]
                candidate = (site_packages / rel).resolve()
                inside = rel and candidate.is_relative_to(site_packages.resolve())
                if inside and (candidate.is_file() or candidate.is_symlink()):
                    candidate.unlink()
        shutil.rmtree(old, ignore_errors=True)
