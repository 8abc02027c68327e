"""``lock``: a ``pyodide-lock.json`` made with pyodide-lock's own classes from a channel's wheels.

pyodide-lock derives both its wheel-compatibility tag and its marker environment from
``info.platform``: ``emscripten_<ver>`` rejects ``pyemscripten_<abi>`` wheels, and
``pyemscripten_<abi>`` turns ``sys_platform`` into ``pyemscripten``. So the lock's ``info`` is
the one Pyodide ships (``emscripten_<ver>``, right markers), each wheel is read with an
``InfoSpec`` of its own platform family, and dependencies come from our resolver.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import zipfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from smithy import console
from smithy.channel.local import LocalChannel
from smithy.channel.model import Channel, ChannelFile
from smithy.errors import ChannelError, UsageError
from smithy.lock.libraries import leave_out_static, library_kind, library_spec
from smithy.lock.resolve import Chosen, resolve
from smithy.paths import cache_dir
from smithy.platform import abi_of, parse_wheel_name
from smithy.xbuildenv import XBuildEnv

_TESTS = re.compile(r"(^|/)(tests?)/|(^|/)(test_[^/]*|[^/]*_test)\.py$")


@dataclass(frozen=True, kw_only=True)
class LockResult:
    lock: Path
    package_base_url: str
    packages: list[dict[str, Any]]
    replaced: list[str] = field(default_factory=list)
    unvendored: list[str] = field(default_factory=list)

    @property
    def total_size(self) -> int:
        return sum(int(p["size"]) for p in self.packages)

    def to_json(self) -> dict[str, Any]:
        return {
            "lock": str(self.lock),
            "packageBaseUrl": self.package_base_url,
            "packages": self.packages,
            "total_size": self.total_size,
            "replaced_from_base": self.replaced,
            "unvendored_tests": self.unvendored,
        }


def info_spec(xbuildenv: XBuildEnv, platform: str | None = None) -> Any:
    """The lock's ``info`` as Pyodide ships it, or a variant naming one wheel platform family."""
    from pyodide_lock.spec import InfoSpec

    default = f"emscripten_{xbuildenv.emscripten_version.replace('.', '_')}"
    return InfoSpec(
        platform=platform or default,
        python=xbuildenv.python_version,
        arch="wasm32",
        abi_version=abi_of(xbuildenv),
    )


def run_lock(
    requests: list[str],
    channels: Channel | Sequence[Channel],
    *,
    label: str,
    xbuildenv: XBuildEnv,
    output: Path,
    base: Path | None = None,
    base_url: str | None = None,
    copy: Path | None = None,
    unvendor: bool = True,
) -> LockResult:
    if base_url is not None and copy is not None:
        raise UsageError("--base-url and --copy exclude each other", key="--copy")
    sources: list[Channel] = list(channels) if isinstance(channels, list | tuple) else [channels]  # type: ignore[list-item]
    fetch = _Fetcher(label, sources)
    info = info_spec(xbuildenv)
    lock = _base(base, info)
    chosen = resolve(
        requests,
        fetch.files,
        xbuildenv,
        fetch,
        _requires,
        provided=_versions(lock),
        prefetch=fetch.prefetch,
    )
    leave_out_static(chosen)
    replaced = sorted(set(chosen) & set(lock.packages))
    unvendored: list[str] = []
    if copy is not None:
        copy = copy.absolute()  # pyodide-build's unvendoring changes the working directory
        copy.mkdir(parents=True, exist_ok=True)
    for name, c in sorted(chosen.items()):
        path = c.path
        if copy is not None:
            path = copy / c.file.filename
            if path.resolve() != c.path.resolve():
                shutil.copyfile(c.path, path)
        spec = _package_spec(path, name, c, xbuildenv)
        lock.packages[name] = spec
        if copy is not None and unvendor and spec.package_type == "package" and _has_tests(path):
            tests = _unvendor(path, spec, name)
            lock.packages[tests.name] = tests
            unvendored.append(name)
    base_for_names = _name_files(
        lock, chosen, unvendored, copy=copy, base_url=base_url, fetch=fetch
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.partial")
    lock.to_json(tmp, indent=2)
    tmp.replace(output)
    names = sorted([*chosen, *(f"{n}-tests" for n in unvendored)])
    for name in replaced:
        console.info(
            f"replaced {name} from the base lock with the channel's {chosen[name].version}"
        )
    return LockResult(
        lock=output,
        package_base_url=base_for_names,
        packages=_summary(lock, names, copy)
        if copy
        else _sizes(_summary(lock, names, None), chosen),
        replaced=replaced,
        unvendored=unvendored,
    )


def _versions(lock: Any) -> dict[str, Version]:
    """What the base lock provides, for the resolver: canonical name -> version."""
    out: dict[str, Version] = {}
    for name, package in lock.packages.items():
        try:
            out[canonicalize_name(name)] = Version(str(package.version))
        except InvalidVersion:
            continue
    return out


def _base(base: Path | None, info: Any) -> Any:
    from pyodide_lock.spec import PyodideLockSpec

    if base is None:
        return PyodideLockSpec(info=info, packages={})
    try:
        spec = PyodideLockSpec.from_json(base)
    except FileNotFoundError:
        raise UsageError("base lock not found", file=base) from None
    except Exception as exc:  # pyodide-lock raises several kinds for a bad file
        raise UsageError(f"unreadable base lock: {exc}", file=base) from exc
    if spec.info.abi_version and spec.info.abi_version != info.abi_version:
        raise UsageError(
            f"base lock is for ABI {spec.info.abi_version}, the xbuildenv for {info.abi_version}",
            file=base,
        )
    spec.info = info
    return spec


def _package_spec(path: Path, name: str, c: Chosen, xbuildenv: XBuildEnv) -> Any:
    """pyodide-lock's entry for the wheel at ``path``; its dependencies are the resolver's."""
    from pyodide_lock.utils import package_spec_from_wheel

    parsed = parse_wheel_name(c.file.filename)
    if parsed.library:
        version = str(_metadata(path).get("Version", "")).strip() or str(c.version)
        spec = library_spec(path, name, version, library_kind(path, name), _sha256(path))
    else:
        spec = package_spec_from_wheel(path, info=info_spec(xbuildenv, parsed.platform_family))
    spec.depends = sorted(c.depends)
    return spec


def _has_tests(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        return any(_TESTS.search(n) for n in archive.namelist() if ".dist-info/" not in n)


def _unvendor(wheel: Path, spec: Any, name: str) -> Any:
    """Move the wheel's tests into ``<name>-tests.zip`` with pyodide-build's own unvendoring."""
    from pyodide_build.recipe.unvendor import unvendor_tests_in_wheel
    from pyodide_lock.spec import PackageSpec

    archive = unvendor_tests_in_wheel(wheel)
    if archive is None:
        return spec
    spec.sha256 = _sha256(wheel)
    spec.unvendored_tests = True
    return PackageSpec(
        name=f"{name}-tests",
        version=spec.version,
        file_name=str(archive),
        install_dir="site",
        sha256=_sha256(archive),
        package_type="package",
        imports=[],
        depends=[name],
    )


def _name_files(
    lock: Any,
    chosen: dict[str, Chosen],
    unvendored: list[str],
    *,
    copy: Path | None,
    base_url: str | None,
    fetch: _Fetcher,
) -> str:
    """Set every new entry's ``file_name``; return the ``packageBaseUrl`` they are relative to.

    Pyodide in Node.js joins ``file_name`` to ``packageBaseUrl`` and ignores absolute URLs
    there, so names are relative to one base (the copy folder, ``--base-url``, or the longest
    common prefix of the channel's file URLs) that ``--json`` reports.
    """
    if copy is not None:
        for name in [*chosen, *(f"{n}-tests" for n in unvendored)]:
            spec = lock.packages[name]
            spec.file_name = Path(spec.file_name).name
        return str(copy.absolute()) + "/"
    urls = {name: fetch.url(c.file) for name, c in chosen.items()}
    base = base_url if base_url is not None else _common_base(list(urls.values()))
    for name, url in urls.items():
        inside = url.startswith(base)
        lock.packages[name].file_name = url.removeprefix(base) if inside else url
        if not inside:
            console.warn(f"{name}: {url} is outside {base}; Pyodide in Node.js will not find it")
    return base.removeprefix("file://")


def _common_base(urls: list[str]) -> str:
    if not urls:
        return ""
    folders = [url[: url.rfind("/") + 1] for url in urls]
    prefix = os.path.commonprefix(folders)  # noqa: RUF071 - URLs: a string prefix, cut at "/"
    return prefix[: prefix.rfind("/") + 1]


def _summary(lock: Any, names: list[str], folder: Path | None) -> list[dict[str, Any]]:
    out = []
    for name in names:
        spec = lock.packages[name]
        size = (folder / spec.file_name).stat().st_size if folder is not None else 0
        out.append(
            {
                "name": name,
                "version": spec.version,
                "file_name": spec.file_name,
                "size": size,
                "sha256": spec.sha256,
            }
        )
    return out


def _sizes(rows: list[dict[str, Any]], chosen: dict[str, Chosen]) -> list[dict[str, Any]]:
    for row in rows:
        row["size"] = chosen[row["name"]].path.stat().st_size
    return rows


def _requires(path: Path) -> list[str]:
    return _metadata(path).get_all("Requires-Dist") or []


def _metadata(path: Path) -> Any:
    from email.parser import HeaderParser

    with zipfile.ZipFile(path) as archive:
        found = [n for n in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
        if not found:
            raise ChannelError("the wheel has no METADATA", file=path)
        text = archive.read(found[0]).decode("utf-8", "replace")
    return HeaderParser().parsestr(text)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Fetcher:
    """The label's files of each project, listed when the resolver first asks (a remote channel
    one request per project, many at once; a local one read once), where each one is on disk
    (downloaded into the cache if remote) and its URL. A file name belongs to the first channel
    that has it."""

    def __init__(self, label: str, sources: Sequence[Channel], jobs: int = 8) -> None:
        self.label = label
        self.sources = list(sources)
        self.jobs = jobs
        self.owner: dict[str, Channel] = {}
        self._listed: dict[str, list[ChannelFile]] = {}
        self._local: dict[int, dict[str, list[ChannelFile]]] = {}

    def files(self, name: str) -> list[ChannelFile]:
        """The files of project ``name`` (any spelling) in the label, over every channel."""
        self.prefetch([name])
        return self._listed[canonicalize_name(name)]

    def prefetch(self, names: Iterable[str]) -> None:
        """List the projects ``names`` (as requirements spell them) not listed yet, at once."""
        asked: dict[str, str] = {canonicalize_name(n): n for n in names}
        todo = {key: n for key, n in asked.items() if key not in self._listed}
        if not todo:
            return
        found = [self._list(source, todo) for source in self.sources]
        for key in todo:
            self._listed[key] = [
                f
                for source, listing in zip(self.sources, found, strict=True)
                for f in listing[key]
                if self.label in f.labels and self.owner.setdefault(f.filename, source) is source
            ]

    def _list(self, channel: Channel, names: dict[str, str]) -> dict[str, list[ChannelFile]]:
        """``{canonical: files}``: a local channel read once, a remote one asked per project."""
        if isinstance(channel, LocalChannel):
            if id(channel) not in self._local:
                grouped: dict[str, list[ChannelFile]] = {}
                for f in channel.files():
                    grouped.setdefault(f.project, []).append(f)
                self._local[id(channel)] = grouped
            return {key: self._local[id(channel)].get(key, []) for key in names}
        with ThreadPoolExecutor(max_workers=min(self.jobs, len(names))) as pool:
            return dict(zip(names, pool.map(channel.files, names.values()), strict=True))

    def __call__(self, f: ChannelFile) -> Path:
        channel = self.owner[f.filename]
        if isinstance(channel, LocalChannel):
            path = channel.root / self.label / "files" / f.filename
            if path.is_file():
                return path
            raise ChannelError(f"{f.filename} is missing from the channel", file=path)
        # The cache is keyed by sha256; a file the channel lists without one (an old Anaconda.org
        # upload: "sha256": "None") is downloaded, checked against its md5, and keyed by its hash.
        target = cache_dir() / "wheels" / f.sha256 / f.filename
        if not f.sha256 or not target.is_file():
            data = channel.download(f)
            wrong = f.differs(data)
            if wrong is not None:
                raise ChannelError(f"{f.filename} as downloaded has another {wrong}", file=f.url)
            from smithy.fsutil import write_atomic

            target = cache_dir() / "wheels" / hashlib.sha256(data).hexdigest() / f.filename
            write_atomic(target, data)
        return target

    def url(self, f: ChannelFile) -> str:
        if isinstance(self.owner[f.filename], LocalChannel):
            return self(f).absolute().as_uri()
        return f.url
