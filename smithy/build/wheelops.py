"""What happens to a wheel after it is fetched or built, as pyodide-build does it.

``build.post`` runs in the unpacked wheel (``python -m wheel unpack``/``pack``, like
``pyodide_build.common.modify_wheel``); tests are unvendored with pyodide-build's own
``unvendor_tests_in_wheel``.
"""

from __future__ import annotations

import re
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

from smithy import console
from smithy.build import runner
from smithy.build.model import BuildError, BuildSpec, retained_patterns

_SHARED_OBJECT = re.compile(r"\.(so|pyd|dylib|dll)(\.[0-9]+)*$", re.IGNORECASE)


def wheel_version(filename: str) -> str:
    from packaging.utils import parse_wheel_filename

    return str(parse_wheel_filename(filename)[1])


def check_version(filename: str, version: str, *, meta_path: Path) -> None:
    """pyodide-build's ``check_versions_match``: the wheel is the version the recipe names."""
    from packaging.utils import InvalidWheelFilename
    from packaging.version import InvalidVersion

    try:
        found = wheel_version(filename)
    except (InvalidWheelFilename, InvalidVersion) as exc:
        raise BuildError(f"not a valid wheel file name: {exc}", file=meta_path) from None
    if found != version:
        raise BuildError(
            f"version mismatch: meta.yaml says {version!r} but the wheel {filename} is {found!r}",
            file=meta_path,
            key="package.version",
        )


def impurity(wheel: Path) -> str | None:
    """Why ``wheel`` is not pure Python (a platform tag, compiled files); ``None`` if it is."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        tags = parse_wheel_filename(wheel.name)[3]
    except InvalidWheelFilename as exc:
        return f"it is not a valid wheel file name ({exc})"
    impure_tags = sorted(str(t) for t in tags if (t.abi, t.platform) != ("none", "any"))
    if impure_tags:
        return f"it is tagged {', '.join(impure_tags)}, not none-any"
    try:
        with zipfile.ZipFile(wheel) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile) as exc:
        return f"it is not a readable wheel ({exc})"
    compiled = sorted(n for n in names if _SHARED_OBJECT.search(n))
    if compiled:
        more = f" and {len(compiled) - 3} more" if len(compiled) > 3 else ""
        return f"it holds compiled files: {', '.join(compiled[:3])}{more}"
    return None


def apply_post(wheel: Path, script: str | None, *, env: Mapping[str, str], meta_path: Path) -> Path:
    """Run ``build.post`` with ``bash -ce`` in the unpacked wheel, then repack it.

    Returns the repacked wheel (its name comes from the unpacked ``.dist-info``, as with
    pyodide-build's ``modify_wheel``).
    """
    if not script:
        return wheel
    from smithy.build.runner import BashSession

    with tempfile.TemporaryDirectory(prefix="pyodide-smithy-post-") as tmp:
        unpacked = _unpack(wheel, Path(tmp))
        BashSession(env).run(
            script, what="build.post", cwd=unpacked, file=meta_path, key="build.post"
        )
        wheel.unlink()
        return _pack(unpacked, wheel.parent)


def retag(wheel: Path, platform: str) -> Path:
    """``python -m wheel tags --platform-tag PLATFORM --remove``, like pyodide-build's retag."""
    before = set(wheel.parent.glob("*.whl"))
    runner.run(
        [sys.executable, "-m", "wheel", "tags", wheel, "--platform-tag", platform, "--remove"],
        what=f"retagging {wheel.name} to {platform}",
    )
    return _new_wheel(wheel.parent, before - {wheel})


def unvendor(wheel: Path, spec: BuildSpec) -> Path | None:
    """Move the wheel's tests into ``<name>-tests.zip`` next to it, honouring the recipe.

    ``build.unvendor-tests: false`` keeps them; ``build._retain-test-patterns`` keeps the test
    files that match. Returns the archive, or ``None`` when nothing was moved.
    """
    patterns = retained_patterns(spec)
    if patterns is None:
        console.info(f"keeping the tests in {wheel.name} (build.unvendor-tests is false)")
        return None
    from pyodide_build.recipe.unvendor import unvendor_tests_in_wheel

    target = wheel.absolute()  # the function chdir()s
    keep = f", keeping {', '.join(patterns)}" if patterns else ""
    console.info(f"unvendoring the tests of {wheel.name}{keep}")
    try:
        archive = unvendor_tests_in_wheel(target, patterns)
    except SystemExit as exc:  # pyodide-build's run_command exits when `wheel` fails
        raise BuildError(f"unvendoring the tests of {wheel.name} failed ({exc.code})") from None
    except (OSError, ValueError, RuntimeError) as exc:
        raise BuildError(f"unvendoring the tests of {wheel.name} failed: {exc}") from exc
    return Path(archive) if archive is not None else None


def _unpack(wheel: Path, into: Path) -> Path:
    runner.run(
        [sys.executable, "-m", "wheel", "unpack", wheel, "-d", into],
        what=f"unpacking {wheel.name}",
    )
    folders = [p for p in into.iterdir() if p.is_dir()]
    if len(folders) != 1:
        raise BuildError(f"unpacking {wheel.name} gave {len(folders)} folders, not one")
    return folders[0]


def _pack(unpacked: Path, into: Path) -> Path:
    before = set(into.glob("*.whl"))
    runner.run(
        [sys.executable, "-m", "wheel", "pack", unpacked, "-d", into],
        what=f"repacking {unpacked.name}",
    )
    return _new_wheel(into, before)


def _new_wheel(folder: Path, before: set[Path]) -> Path:
    made = sorted(set(folder.glob("*.whl")) - before, key=lambda p: p.stat().st_mtime)
    if not made:
        raise BuildError(f"no wheel appeared in {folder}")
    return made[-1]
