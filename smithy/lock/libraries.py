"""Library wheels in a lock (format: ``smithy.library``).

pyodide-lock's own reader refuses ``py3-none-pyemscripten_*`` wheels (its
``utils._check_wheel_compatible`` knows CPython, abi3 and pure tags only), so their entries are
made here. A shared library is an entry of ``package_type: shared_library`` unpacked into
site-packages (``install_dir: site``), which Pyodide puts on ``LD_LIBRARY_PATH``: its loader
loads such entries before the packages that depend on them, so a dependent's ``DT_NEEDED``
resolves. A static library is linked at build time and never loaded: like pyodide-build's own
lock, this one leaves it out, and a package whose run requirements name one is refused.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from smithy import console
from smithy.errors import ChannelError
from smithy.library import SHARED, STATIC, LibraryManifestError, read_manifest
from smithy.lock.resolve import COMMAND_LINE, Chosen, ResolutionError


def library_kind(path: Path, project: str) -> str | None:
    """``shared_library`` or ``static_library`` for a library wheel, ``None`` for one without a
    manifest; ChannelError naming the file when the manifest is wrong."""
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = read_manifest(archive, project)
    except (OSError, zipfile.BadZipFile, LibraryManifestError) as exc:
        raise ChannelError(f"unreadable library wheel: {exc}", file=path) from None
    return manifest.kind if manifest else None


def library_spec(path: Path, name: str, version: str, kind: str | None, sha256: str) -> Any:
    """The lock entry of a ``py3-none-<pyodide platform>`` wheel: a shared library's, or (no
    manifest: a Python package that only avoids the CPython ABI) an ordinary package's."""
    from pyodide_lock.spec import PackageSpec
    from pyodide_lock.utils import parse_top_level_import_name

    shared = kind == SHARED
    return PackageSpec(
        name=name,
        version=version,
        file_name=str(path),
        install_dir="site",
        sha256=sha256,
        package_type="shared_library" if shared else "package",
        imports=[] if shared else (parse_top_level_import_name(path) or []),
        depends=[],
    )


def leave_out_static(chosen: dict[str, Chosen]) -> list[str]:
    """Take static libraries out of ``chosen`` (saying so for those the command line asked
    for) and return their names; ResolutionError when a package depends on one."""
    from smithy.platform import parse_wheel_name

    static = sorted(
        name
        for name, c in chosen.items()
        if parse_wheel_name(c.file.filename).library and library_kind(c.path, name) == STATIC
    )
    problems = [
        f"{c.file.package} {c.version} depends on {lib}, a static library: it is linked at build "
        "time and never loaded, so it belongs in the recipe's host requirements, not in run"
        for lib in static
        for c in chosen.values()
        if lib in c.depends
    ]
    if problems:
        raise ResolutionError(problems)
    for name in static:
        if chosen[name].asked_by == COMMAND_LINE:
            console.info(f"{name} is a static library, used only at build time: not in the lock")
        del chosen[name]
    return static
