"""Host requirements that are other recipes' outputs, fetched from the channel and put in place.

pyodide-build installs only the xbuildenv's cross-build packages as host requirements and
silently ignores the others. For those, the channel's newest fitting wheel (highest build) is
unpacked into ``HOSTSITEPACKAGES``; a library wheel's prefix goes into ``WASM_LIBRARY_DIR``
instead, its runtime files put back where the library's build installed them, so recipes find
``$WASM_LIBRARY_DIR/include``, ``lib/libx.so`` and ``lib/pkgconfig`` as in pyodide-recipes.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from smithy import console
from smithy.build.model import BuildError
from smithy.channel.model import MAIN, Channel, ChannelFile
from smithy.xbuildenv import XBuildEnv


@dataclass
class Placement:
    wheels: list[str] = field(default_factory=list)  # file names unpacked into site-packages
    libraries: list[str] = field(default_factory=list)  # library wheels put in the library dir
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


def choose_wheel(
    files: list[ChannelFile], xbuildenv: XBuildEnv, specifier: str, *, label: str = MAIN
) -> ChannelFile | None:
    """The newest wheel under ``label`` that runs on ``xbuildenv``: highest version, then the
    best tag, then the highest build number (PEP 427's tie-breaker, as pip and ``lock`` do)."""
    from packaging.specifiers import SpecifierSet

    from smithy.platform import InvalidWheelName, parse_wheel_name, rank

    wanted = SpecifierSet(specifier)
    best: tuple[object, ChannelFile] | None = None
    for f in files:
        if label not in f.labels or not f.filename.endswith(".whl"):
            continue
        try:
            parsed = parse_wheel_name(f.filename)
        except InvalidWheelName:
            continue
        score = rank(parsed, xbuildenv)
        if score is None or not wanted.contains(parsed.version, prereleases=True):
            continue
        key = (parsed.version, -score, parsed.build)  # as lock: the tag, then the build
        if best is None or key > best[0]:  # type: ignore[operator]
            best = (key, f)
    return best[1] if best else None


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
    """Unpack each host requirement's channel wheel where pyodide-build looks for it."""
    from smithy.platform import parse_wheel_name

    placement = Placement()
    for i, text in enumerate(requirements):
        name, specifier = parse_host_requirement(text, meta_path=meta_path, index=i)
        if name in cross_build:
            console.info(f"host requirement {name}: a cross-build package, pyodide-build's job")
            placement.skipped.append(name)
            continue
        wheel = choose_wheel(channel.files(name), xbuildenv, specifier, label=label)
        if wheel is None:
            console.warn(
                f"host requirement {text!r} is not on the channel {channel.description} "
                f"(label {label}) for xbuildenv {xbuildenv.version}; pyodide-build may still "
                "provide it from the xbuildenv's requirements.txt"
            )
            placement.missing.append(name)
            continue
        if parse_wheel_name(wheel.filename).library:
            console.info(f"host requirement {name}: {wheel.filename} -> {library_dir}")
            place_library(channel.download(wheel), wheel, library_dir)
            placement.libraries.append(wheel.filename)
        else:
            console.info(f"host requirement {name}: {wheel.filename} -> {site_packages}")
            unpack_wheel(channel.download(wheel), wheel, site_packages)
            placement.wheels.append(wheel.filename)
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


def place_library(data: bytes, file: ChannelFile, library_dir: Path) -> None:
    """A library wheel's prefix into ``library_dir``: ``libx/prefix/**`` at its root, each
    runtime file also at the prefix path its build installed it to, and the placeholder for
    the library's build folder replaced by ``library_dir``."""
    from smithy.build.library import PLACEHOLDER
    from smithy.fsutil import is_clean_relative
    from smithy.library import LibraryManifestError, read_manifest
    from smithy.platform import parse_wheel_name

    _check_sha256(data, file)
    project = parse_wheel_name(file.filename).project
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            manifest = read_manifest(archive, project)
            if manifest is None:
                raise BuildError(f"{file.filename} from the channel has no library manifest")
            members: dict[str, bytes] = {}
            inside = f"{manifest.prefix}/"
            for info in archive.infolist():
                if info.filename.startswith(inside) and not info.is_dir():
                    members[info.filename.removeprefix(inside)] = archive.read(info)
            for prefix_path, wheel_path in manifest.runtime.items():
                members[prefix_path] = archive.read(wheel_path)
    except (zipfile.BadZipFile, KeyError, LibraryManifestError) as exc:
        raise BuildError(f"{file.filename} from the channel is not a library wheel: {exc}") from exc
    marker = PLACEHOLDER.encode()
    for rel, content in sorted(members.items()):
        if not is_clean_relative(rel):
            raise BuildError(f"unsafe path in a library wheel from the channel: {rel}")
        target = library_dir.joinpath(*PurePosixPath(rel).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        target.write_bytes(content.replace(marker, str(library_dir).encode()))


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
