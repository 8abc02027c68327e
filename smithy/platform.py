"""What runs where: a wheel's name, build tag and platform tags, and the Pyodide ABI of an
xbuildenv. The one place that answers these questions for upload, review, lock, build and the bot.

The ABI of an xbuildenv is what Pyodide published for it, never a formula: the metadata's own
``abi_version`` when it has one, else the table ``data/pyodide-abis.json`` read from the
``pyodide-lock.json`` of npm's ``pyodide`` package of each release (``scripts/update-abi-table``).
A release missing there shares the ABI of the listed releases with the same Python minor and
Emscripten when they all agree; anything else is unknown, and said so, rather than guessed (the
table shows why no formula will do: Pyodide 315.0.0a2, Python 3.15, is ABI ``2026_5``). Two
xbuildenvs with the same ABI take each other's wheels; with different ones, nothing compiled
carries over: an Emscripten-only bump is a new ABI exactly when Pyodide gave it one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smithy.errors import XBuildEnvError

if TYPE_CHECKING:
    from packaging.tags import Tag
    from packaging.version import Version

    from smithy.xbuildenv import XBuildEnv

ABI_TABLE = Path(__file__).with_name("data") / "pyodide-abis.json"
ABI_PATTERN = r"[0-9]{4}_[0-9]+"
_ABI_PLATFORM = re.compile(rf"(pyemscripten|pyodide)_({ABI_PATTERN})_wasm32")
_LEGACY_PLATFORM = re.compile(r"emscripten_[0-9]+_[0-9]+_[0-9]+_wasm32")


class InvalidWheelName(ValueError):
    """A file name that is not a wheel's (PEP 427)."""


@dataclass(frozen=True)
class WheelName:
    """A wheel's file name, parsed once: ``name-1.2.0-3-cp314-cp314-pyemscripten_2026_0_wasm32``."""

    filename: str
    name: str  # as the file name writes it
    version: Version
    build: tuple[()] | tuple[int, str]  # PEP 427's build tag: () when absent, else (3, "")
    tags: frozenset[Tag]

    @property
    def project(self) -> str:
        from smithy.recipe.model import normalize

        return normalize(self.name)

    @property
    def build_number(self) -> int | None:
        return self.build[0] if self.build else None

    @property
    def platforms(self) -> frozenset[str]:
        return frozenset(t.platform for t in self.tags)

    @property
    def pure(self) -> bool:
        return self.platforms == {"any"}

    @property
    def library(self) -> bool:
        """A library wheel (``py3-none-pyemscripten_2026_0_wasm32``): no Python ABI, one Pyodide
        platform; what a ``shared_library``/``static_library`` feedstock publishes."""
        return bool(self.tags) and all(
            t.abi == "none" and t.interpreter.startswith("py") and t.platform != "any"
            for t in self.tags
        )

    @property
    def abis(self) -> frozenset[str]:
        """The Pyodide ABIs its platform tags name (``2026_0``); empty for pure wheels."""
        return frozenset(m[2] for p in self.platforms if (m := _ABI_PLATFORM.fullmatch(p)))

    @property
    def platform_family(self) -> str | None:
        """``pyemscripten_2026_0`` or ``pyodide_2026_0`` (what pyodide-lock's InfoSpec wants)."""
        for platform in sorted(self.platforms):
            if _ABI_PLATFORM.fullmatch(platform):
                return platform.removesuffix("_wasm32")
        return None

    def with_build(self, number: int) -> str:
        """This file name with the PEP 427 build tag ``number`` (any previous one replaced)."""
        parts = self.filename.removesuffix(".whl").split("-")
        return "-".join([parts[0], parts[1], str(number), *parts[-3:]]) + ".whl"

    def sort_key(self) -> tuple[Version, tuple[()] | tuple[int, str]]:
        """Newer version first, then the higher build number (PEP 427: a tag sorts after none)."""
        return (self.version, self.build)


def parse_wheel_name(filename: str) -> WheelName:
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename
    from packaging.version import InvalidVersion

    base = filename.rsplit("/", 1)[-1]
    try:
        name, version, build, tags = parse_wheel_filename(base)
    except (InvalidWheelFilename, InvalidVersion) as exc:
        raise InvalidWheelName(str(exc)) from None
    return WheelName(base, str(name), version, build, frozenset(tags))


def is_pyodide_platform(platform: str) -> bool:
    """A platform tag some Pyodide runs: ``any``, ``pyemscripten_/pyodide_<abi>_wasm32`` or
    the legacy ``emscripten_<version>_wasm32``."""
    return (
        platform == "any"
        or _ABI_PLATFORM.fullmatch(platform) is not None
        or _LEGACY_PLATFORM.fullmatch(platform) is not None
    )


# ABIs ---------------------------------------------------------------------------------------


def abi_of(xbuildenv: XBuildEnv) -> str:
    """Pyodide's ABI for ``xbuildenv`` (``2026_0``), as Pyodide published it; XBuildEnvError
    when no source names it."""
    known = known_abi(xbuildenv)
    if known is None:
        raise XBuildEnvError(
            f"the Pyodide ABI of xbuildenv {xbuildenv.version} (Python "
            f"{xbuildenv.python_version}, Emscripten {xbuildenv.emscripten_version}) is not "
            "known to this pyodide-smithy: update pyodide-smithy (its table is read from "
            "Pyodide's published releases)",
            key="xbuildenv",
        )
    return known


def known_abi(xbuildenv: XBuildEnv) -> str | None:
    if xbuildenv.abi_version:
        return xbuildenv.abi_version
    table = _table()
    if xbuildenv.version in table:
        return str(table[xbuildenv.version]["abi_version"])
    peers = {
        row["abi_version"]
        for row in table.values()
        if _minor(str(row.get("python", ""))) == xbuildenv.python_short
        and row.get("emscripten") == xbuildenv.emscripten_version
    }
    return peers.pop() if len(peers) == 1 else None


def same_abi(one: XBuildEnv, other: XBuildEnv) -> bool:
    """Whether wheels built for one run on the other. An unknown ABI matches only itself (the
    same Python and Emscripten): moving to or from it is a rebuild."""
    a, b = known_abi(one), known_abi(other)
    if a is not None and b is not None:
        return a == b
    return (one.python_version, one.emscripten_version) == (
        other.python_version,
        other.emscripten_version,
    )


def platforms_for(xbuildenv: XBuildEnv) -> frozenset[str]:
    """Platform tags a wheel may carry to run on ``xbuildenv``'s Pyodide."""
    abi = abi_of(xbuildenv)
    emscripten = xbuildenv.emscripten_version.replace(".", "_")
    return frozenset(
        {
            "any",
            f"pyemscripten_{abi}_wasm32",
            f"pyodide_{abi}_wasm32",
            f"emscripten_{emscripten}_wasm32",
        }
    )


def rank(wheel: WheelName, xbuildenv: XBuildEnv) -> int | None:
    """How well a wheel fits ``xbuildenv`` (lower is better: its own ABI's pyemscripten tag,
    the legacy pyodide tag, a library's ``py3-none``, abi3, pure); ``None`` when it does not run
    there."""
    fitting = platforms_for(xbuildenv)
    target = f"cp{xbuildenv.python_short.replace('.', '')}"
    minor = int(xbuildenv.python_short.split(".")[1])
    best: int | None = None
    for tag in wheel.tags:
        if tag.platform not in fitting:
            continue
        if tag.platform == "any" and tag.abi == "none":
            ok = tag.interpreter in ("py3", "py2.py3") or (
                tag.interpreter.startswith("py3") and int(tag.interpreter[3:] or 0) <= minor
            )
            score = 4
        elif tag.abi == "none":  # a library wheel: tied to the ABI, not to a CPython
            ok = tag.interpreter in ("py3", "py2.py3") and tag.platform.startswith(
                ("pyemscripten_", "pyodide_")
            )
            score = 2
        elif tag.abi == "abi3":
            ok = tag.interpreter.startswith("cp3") and int(tag.interpreter[3:]) <= minor
            score = 3
        else:
            ok = tag.interpreter == target and tag.abi == target
            score = 0 if tag.platform.startswith("pyemscripten_") else 1
        if ok and (best is None or score < best):
            best = score
    return best


def _minor(python: str) -> str:
    return ".".join(python.split(".")[:2])


@cache
def _table() -> dict[str, dict[str, Any]]:
    """xbuildenv version -> {abi_version, python, emscripten, …} from the shipped table."""
    try:
        data = json.loads(ABI_TABLE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    rows: dict[str, dict[str, Any]] = {}
    for version, row in (data.get("releases") or {}).items():
        abi = str(row.get("abi_version", ""))
        if not re.fullmatch(ABI_PATTERN, abi):
            continue
        platform = str(row.get("platform", ""))  # emscripten_5_0_3
        emscripten = platform.removeprefix("emscripten_").replace("_", ".")
        rows[version] = {"abi_version": abi, "python": row.get("python"), "emscripten": emscripten}
    return rows
