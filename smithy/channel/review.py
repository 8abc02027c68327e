"""``review`` and ``promote``: what waits in staging, how it differs from main, and moving it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from smithy.channel.model import MAIN, Channel, ChannelFile
from smithy.channel.registry import Registry
from smithy.channel.wheel import wheel_names, wheel_requires
from smithy.errors import ChannelError, NetworkError
from smithy.platform import platforms_for
from smithy.xbuildenv import XBuildEnv


@dataclass(frozen=True, kw_only=True)
class Review:
    staged: ChannelFile
    baseline: ChannelFile | None  # the newest file of the package in main
    files_added: tuple[str, ...] = ()
    files_removed: tuple[str, ...] = ()
    requires_added: tuple[str, ...] = ()
    requires_removed: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())
    requires_dist: tuple[str, ...] = ()  # the staged wheel's: the recipe's run requirements
    upstream_requires_dist: tuple[str, ...] | None = None  # UPSTREAM_METADATA's, when kept

    @property
    def new_version(self) -> bool:
        return self.baseline is None or self.baseline.version != self.staged.version

    @property
    def size_change(self) -> int | None:
        return None if self.baseline is None else self.staged.size - self.baseline.size

    @property
    def build(self) -> int | None:
        return _build(self.staged.filename)

    @property
    def baseline_build(self) -> int | None:
        return None if self.baseline is None else _build(self.baseline.filename)

    @property
    def differs_from_upstream(self) -> bool:
        upstream = self.upstream_requires_dist
        return upstream is not None and set(upstream) != set(self.requires_dist)

    def to_json(self) -> dict[str, Any]:
        upstream = self.upstream_requires_dist
        return {
            "file": self.staged.to_json(),
            "baseline": self.baseline.to_json() if self.baseline else None,
            "new_version": self.new_version,
            "size_change": self.size_change,
            "files_added": list(self.files_added),
            "files_removed": list(self.files_removed),
            "requires_added": list(self.requires_added),
            "requires_removed": list(self.requires_removed),
            "problems": list(self.problems),
            "build": self.build,
            "baseline_build": self.baseline_build,
            "requires_dist": list(self.requires_dist),
            "upstream_requires_dist": None if upstream is None else list(upstream),
            "requires_differ_from_upstream": self.differs_from_upstream,
        }

    def lines(self) -> list[str]:
        """The review as ``review`` prints it for people, one file's block."""
        f, p = self.staged, self.staged.provenance
        out = [f"{f.filename}  ({_shown(self.build)}, {f.size} bytes, uploaded {f.upload_time})"]
        if p:
            out.append(
                f"  from      {p.feedstock or '?'} @ {p.commit or '?'}  "
                f"xbuildenv {p.xbuildenv or '?'}"
            )
            if p.run_url:
                out.append(f"  CI run    {p.run_url}")
        if self.differs_from_upstream:
            recipe = ", ".join(self.requires_dist) or "nothing"
            upstream = ", ".join(self.upstream_requires_dist or ()) or "nothing"
            out.append(f"  needs     recipe: {recipe}; upstream: {upstream}")
        if self.baseline is None:
            out.append("  new       no version of this package in main yet")
        else:
            kind = "new version" if self.new_version else "same version, new file"
            if not self.new_version and self.build != self.baseline_build:
                kind = "same version, new build"
            out.append(
                f"  vs main   {self.baseline.filename} ({_shown(self.baseline_build)}): {kind}, "
                f"size {self.size_change:+d} bytes"
            )
            out += [f"  + file    {name}" for name in self.files_added]
            out += [f"  - file    {name}" for name in self.files_removed]
            out += [f"  + needs   {req}" for req in self.requires_added]
            out += [f"  - needs   {req}" for req in self.requires_removed]
        out += [f"  PROBLEM   {problem}" for problem in self.problems]
        return out


def pending(
    staging: Channel, main: Channel, label: str, package: str | None = None
) -> list[tuple[ChannelFile, list[ChannelFile]]]:
    """Files with ``label`` in ``staging`` that ``main`` does not hold in its main label."""
    staged = [f for f in staging.files(package) if label in f.labels]
    out = []
    mains: dict[str, list[ChannelFile]] = {}
    for f in staged:
        if f.project not in mains:
            mains[f.project] = [m for m in main.files(f.package) if MAIN in m.labels]
        if all(m.filename != f.filename for m in mains[f.project]):
            out.append((f, mains[f.project]))
    return out


def run_review(
    staging: Channel, main: Channel, *, label: str, package: str | None = None
) -> list[Review]:
    reviews = []
    for staged, in_main in pending(staging, main, label, package):
        data = staging.download(staged)
        problems = list(_integrity(staged, data))
        requires, upstream = _requirements(data, staged, problems)
        baseline = _baseline(staged, in_main)
        if baseline is None:
            reviews.append(
                Review(
                    staged=staged,
                    baseline=None,
                    problems=tuple(problems),
                    requires_dist=requires,
                    upstream_requires_dist=upstream,
                )
            )
            continue
        old = main.download(baseline)
        new_names, old_names = _content(data), _content(old)
        new_req, old_req = set(wheel_requires(data)), set(wheel_requires(old))
        reviews.append(
            Review(
                staged=staged,
                baseline=baseline,
                files_added=tuple(sorted(new_names - old_names)),
                files_removed=tuple(sorted(old_names - new_names)),
                requires_added=tuple(sorted(new_req - old_req)),
                requires_removed=tuple(sorted(old_req - new_req)),
                problems=tuple(problems),
                requires_dist=requires,
                upstream_requires_dist=upstream,
            )
        )
    return reviews


def _requirements(
    data: bytes, staged: ChannelFile, problems: list[str]
) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """The staged wheel's Requires-Dist and upstream's (None when it keeps none)."""
    import io
    import zipfile

    from smithy.build.finalize import read_requirements
    from smithy.errors import WheelError

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.filename = staged.filename
            ours, upstream = read_requirements(archive)
    except (WheelError, zipfile.BadZipFile) as exc:
        problems.append(f"unreadable metadata: {exc}")
        return (), None
    return tuple(ours), None if upstream is None else tuple(upstream)


def run_promote(
    package: str,
    version: str,
    filename: str | None,
    *,
    staging: Channel,
    main: Channel,
    label: str,
    xbuildenv: XBuildEnv | None,
    registry: Registry | None,
) -> list[ChannelFile]:
    """Check, then copy the staged files of ``package`` ``version`` into main's main label."""
    chosen = [
        f
        for f, _ in pending(staging, main, label, package)
        if f.version == version and (filename is None or f.filename == filename)
    ]
    if not chosen:
        what = filename or f"{package} {version}"
        raise ChannelError(
            f"nothing to promote: {what} is not waiting in label {label!r}",
            file=staging.description,
        )
    for f in chosen:
        refusals = list(_integrity(f, staging.download(f)))
        if registry is not None:
            refusals += registry.refusals(f)
        if xbuildenv is not None:
            tags = _platforms(f.filename) - platforms_for(xbuildenv)
            if tags:
                refusals.append(
                    f"platform {', '.join(sorted(tags))} does not fit xbuildenv {xbuildenv.version}"
                )
        if refusals:
            raise ChannelError(
                f"refusing to promote {f.filename}: {'; '.join(refusals)}", file=staging.description
            )
    for f in chosen:
        _promote_one(f, staging, main, label)
    return chosen


def _promote_one(f: ChannelFile, staging: Channel, main: Channel, label: str) -> None:
    """Copy ``f`` into main; after a failed try, look at what main holds before trying again."""
    from smithy.channel.upload import ATTEMPTS

    for attempt in range(ATTEMPTS):
        if attempt and any(
            m.filename == f.filename and _same(m, f) and MAIN in m.labels
            for m in main.files(f.package)
        ):
            return  # the last try worked; its answer was lost
        try:
            _copy(f, staging, main, label)
            return
        except (ChannelError, NetworkError):
            if attempt == ATTEMPTS - 1:
                raise


def _copy(f: ChannelFile, staging: Channel, main: Channel, label: str) -> None:
    from smithy.channel.anaconda import AnacondaChannel

    if staging.description == main.description:
        staging.set_label(f, MAIN, present=True)
    elif (
        isinstance(staging, AnacondaChannel)
        and isinstance(main, AnacondaChannel)
        and staging.api_url == main.api_url
    ):
        staging.copy_to(f, main, from_label=label, to_label=MAIN)
    else:
        _upload_bytes(f, staging.download(f), main)


def _upload_bytes(f: ChannelFile, data: bytes, main: Channel) -> None:
    import tempfile
    from pathlib import Path

    from smithy.channel.wheel import read_wheel

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f.filename
        path.write_bytes(data)
        assert f.provenance is not None  # _integrity refused files without one
        main.put(read_wheel(path), labels=(MAIN,), provenance=f.provenance)


def _integrity(f: ChannelFile, data: bytes) -> list[str]:
    """What is wrong with ``data``, the bytes the channel serves for ``f``: they must hash to the
    sha256 recorded at upload, and agree with the channel's listing (its sha256, else its md5;
    an old Anaconda.org file lists ``"sha256": "None"``, which says nothing)."""
    actual = hashlib.sha256(data).hexdigest()
    out = []
    if f.provenance is None:
        out.append("no provenance was recorded at upload")
    elif actual != f.provenance.sha256 or (f.sha256 and f.sha256 != f.provenance.sha256):
        shown = actual if actual != f.provenance.sha256 else f.sha256
        out.append(
            f"sha256 on the channel ({shown[:12]}…) differs from the one recorded at upload "
            f"({f.provenance.sha256[:12]}…)"
        )
    listed = f.differs(data)
    if listed is not None:
        out.append(f"the bytes served differ from the channel's listing: {listed}")
    return out


def _same(a: ChannelFile, b: ChannelFile) -> bool:
    """Whether two listings name the same bytes, by what both record (sha256, md5, size)."""
    if a.sha256 and b.sha256:
        return a.sha256 == b.sha256
    if a.md5 and b.md5:
        return a.md5 == b.md5
    return a.size == b.size


def _baseline(staged: ChannelFile, in_main: list[ChannelFile]) -> ChannelFile | None:
    """The file of main the staged one follows: the newest version, a file of the same tags
    before another, the highest build."""
    from packaging.version import InvalidVersion, Version

    from smithy.platform import InvalidWheelName, WheelName, parse_wheel_name

    def parsed(filename: str) -> WheelName | None:
        try:
            return parse_wheel_name(filename)
        except InvalidWheelName:
            return None

    ours = parsed(staged.filename)

    def key(f: ChannelFile) -> tuple[Any, bool, tuple[()] | tuple[int, str]]:
        try:
            version: Any = Version(f.version)
        except InvalidVersion:
            version = Version("0")
        theirs = parsed(f.filename)
        same_tags = ours is not None and theirs is not None and theirs.tags == ours.tags
        return version, same_tags, theirs.build if theirs else ()

    return max(in_main, key=key, default=None)


def _build(filename: str) -> int | None:
    from smithy.platform import InvalidWheelName, parse_wheel_name

    try:
        return parse_wheel_name(filename).build_number
    except InvalidWheelName:
        return None


def _shown(build: int | None) -> str:
    return "no build tag" if build is None else f"build {build}"


def _platforms(filename: str) -> set[str]:
    from smithy.platform import InvalidWheelName, parse_wheel_name

    try:
        return set(parse_wheel_name(filename).platforms)
    except InvalidWheelName:
        return {filename}


def _content(data: bytes) -> set[str]:
    """Files inside a wheel, without its .dist-info (RECORD and friends change every build)."""
    return {n for n in wheel_names(data) if ".dist-info/" not in n and not n.endswith("/")}
