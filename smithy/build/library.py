"""A library build's outputs packed as a library wheel (format: smithy/library.py).

pyodide-build leaves a library's results in two places: what the recipe's script installed into
``WASM_LIBRARY_DIR`` (headers, static archives, ``.pc`` files, the ``.so``) and, for a shared
library, ``dist/<name>-<version>.zip`` of ``$DISTDIR`` (the runtime files). The wheel carries
this library's part of the prefix (files new or changed since the host requirements were put
there) and the runtime files at its top.

The prefix is made relocatable: ``.pc`` files name ``${pcfiledir}`` instead of the build's
folder (as scipy-openblas's wheels do), libtool ``.la`` files are left out (they hold absolute
paths and nothing needs them), and any other text file naming the build's folder gets a
placeholder the dependent's build replaces with its own ``WASM_LIBRARY_DIR`` (as conda does).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from smithy import console
from smithy.build.model import BuildError
from smithy.library import SHARED, STATIC, LibraryManifest, import_name
from smithy.platform import abi_of
from smithy.recipe.model import BuildKind, Recipe
from smithy.xbuildenv import XBuildEnv

PLACEHOLDER = "@PYODIDE_SMITHY_WASM_LIBRARY_DIR@"
DATE = (1980, 1, 1, 0, 0, 0)
_SKIP = (".la",)
_SHARED_OBJECT = re.compile(r"\.so(\.[0-9]+)*$")  # what Pyodide's loader dlopens

HELPER = '''\
"""Where the {name} {version} library lives in this Pyodide or build environment.

Published by a pyodide-smithy library feedstock: the runtime files sit at the top of
site-packages (on LD_LIBRARY_PATH in Pyodide), the headers, archives and pkg-config files
under prefix/.
"""

from pathlib import Path

_HERE = Path(__file__).parent
RUNTIME = {runtime!r}


def get_prefix() -> str:
    return str(_HERE / "prefix")


def get_include_dir() -> str:
    return str(_HERE / "prefix" / "include")


def get_lib_dir() -> str:
    return str(_HERE / "prefix" / "lib")


def get_pkgconfig_dir() -> str:
    return str(_HERE / "prefix" / "lib" / "pkgconfig")


def get_runtime_files() -> list[str]:
    """The library's shared objects as installed (absolute paths)."""
    return [str(_HERE.parent / p) for p in RUNTIME.values()]
'''


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    """``WASM_LIBRARY_DIR`` before the library's own build: relative path -> sha256."""

    files: dict[str, str]


def snapshot(libs: Path) -> Snapshot:
    return Snapshot(files=dict(_digests(libs)))


def library_wheel(
    recipe: Recipe,
    kind: BuildKind,
    xbuildenv: XBuildEnv,
    *,
    libs: Path,
    before: Snapshot,
    runtime_zip: Path | None,
    out: Path,
) -> Path:
    """Pack the library the build made into ``out``; the build number is stamped later."""
    from packaging.version import InvalidVersion, Version

    try:
        version = str(Version(recipe.version))
    except InvalidVersion:
        raise BuildError(
            f"package.version {recipe.version!r} is not a PEP 440 version, which a library "
            "wheel needs: write the upstream version as numbers (e.g. 3.2.1)",
            file=recipe.directory / "meta.yaml",
            key="package.version",
        ) from None
    prefix = {p: d for p, d in _digests(libs) if before.files.get(p) != d and not _skipped(p)}
    runtime = _runtime_files(runtime_zip) if kind is BuildKind.SHARED_LIBRARY else {}
    if not prefix and not runtime:
        raise BuildError(
            f"the library build installed nothing into {libs} (WASM_LIBRARY_DIR)",
            file=recipe.directory / "meta.yaml",
            key="build.script",
        )
    placed: dict[str, str] = {}  # prefix path -> wheel path, for runtime files found there
    by_digest = {_sha256(data): wheel_path for wheel_path, data in runtime.items()}
    for rel, digest in prefix.items():
        if digest in by_digest:  # the file, or a link to it (libx.so -> libx.so.1)
            placed[rel] = by_digest[digest]
    manifest = LibraryManifest(
        name=recipe.name,
        version=version,
        kind=SHARED if kind is BuildKind.SHARED_LIBRARY else STATIC,
        runtime=placed,
    )
    members: dict[str, bytes] = dict(runtime)
    for rel in sorted(prefix):
        if rel in placed:
            continue  # one copy, at the top: Pyodide loads every .so of a wheel
        if _SHARED_OBJECT.search(rel):
            console.warn(
                f"{rel} in WASM_LIBRARY_DIR is a shared object missing from $DISTDIR: Pyodide "
                f"will load it from {manifest.prefix}/, where nothing finds it by name; copy it "
                "into $DISTDIR in build.script"
            )
        members[f"{manifest.prefix}/{rel}"] = _relocated(libs / rel, rel, libs)  # links: copies
    package = import_name(recipe.name)
    members[f"{package}/__init__.py"] = HELPER.format(
        name=recipe.name, version=version, runtime=dict(sorted(placed.items()))
    ).encode()
    members[f"{package}/library.json"] = manifest.to_json().encode()
    return _write_wheel(recipe, manifest, members, abi=abi_of(xbuildenv), out=out)


def _runtime_files(runtime_zip: Path | None) -> dict[str, bytes]:
    if runtime_zip is None:
        raise BuildError("pyodide-build left no zip of the shared library's $DISTDIR")
    files: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(runtime_zip) as archive:
            for info in archive.infolist():
                name = PurePosixPath(info.filename)
                if info.is_dir():
                    continue
                if name.is_absolute() or ".." in name.parts or not name.parts:
                    raise BuildError(f"unsafe path {info.filename!r} in {runtime_zip.name}")
                files[str(name)] = archive.read(info)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BuildError(f"cannot read {runtime_zip}: {exc}") from exc
    return files


def _relocated(path: Path, rel: str, libs: Path) -> bytes:
    data = path.read_bytes()
    build_dir = str(libs).encode()
    if build_dir not in data:
        return data
    if rel.endswith(".pc"):
        up = "/".join([".."] * (len(PurePosixPath(rel).parts) - 1))
        return data.replace(build_dir, f"${{pcfiledir}}/{up}".encode())
    return data.replace(build_dir, PLACEHOLDER.encode())


def _write_wheel(
    recipe: Recipe, manifest: LibraryManifest, members: dict[str, bytes], *, abi: str, out: Path
) -> Path:
    package, version = manifest.package, manifest.version
    dist = f"{package}-{version}"
    tag = f"py3-none-pyemscripten_{abi}_wasm32"
    about = (
        f"Metadata-Version: 2.1\nName: {recipe.name}\nVersion: {version}\n"
        f"Summary: The {recipe.name} {manifest.kind.replace('_', ' ')} for Pyodide\n"
    )
    if recipe.license and recipe.license.isprintable():  # one line: no header of its own
        about += f"License: {recipe.license}\n"
    about += "".join(f"Requires-Dist: {r}\n" for r in recipe.run_requirements)
    members[f"{dist}.dist-info/METADATA"] = about.encode()
    members[f"{dist}.dist-info/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: pyodide-smithy\nRoot-Is-Purelib: false\nTag: {tag}\n"
    ).encode()
    if any(m.startswith(f"{manifest.prefix}/lib/pkgconfig/") for m in members):
        members[f"{dist}.dist-info/entry_points.txt"] = (
            f"[pkg_config]\n{package} = {package}.prefix.lib.pkgconfig\n".encode()
        )
    record = f"{dist}.dist-info/RECORD"
    lines = [f"{name},sha256={_b64(data)},{len(data)}" for name, data in members.items()]
    members[record] = ("\n".join([*lines, f"{record},,"]) + "\n").encode()
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{dist}-{tag}.whl"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if name.endswith(".so") else 0o644) << 16
            archive.writestr(info, data)
    return target


def _digests(root: Path) -> list[tuple[str, str]]:
    if not root.is_dir():
        return []
    found = []
    resolved = root.resolve()
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            if path.is_symlink() and not path.resolve().is_relative_to(resolved):
                continue  # a link out of the prefix: not this library's file
            if not path.is_file():
                continue
            found.append((path.relative_to(root).as_posix(), _sha256(path.read_bytes())))
    return sorted(found)


def _skipped(rel: str) -> bool:
    return rel.endswith(_SKIP)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


__all__ = ["PLACEHOLDER", "STATIC", "Snapshot", "library_wheel", "snapshot"]
