"""``upload``: check every wheel, then send them in parallel; a re-run finishes what failed."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from smithy import console
from smithy.channel.local import LocalChannel
from smithy.channel.model import Channel, ChannelFile, Outcome, Provenance
from smithy.channel.rules import check_label
from smithy.channel.wheel import Wheel, check_platform, read_wheel
from smithy.errors import ChannelError, NetworkError, SmithyError, UsageError, WheelError
from smithy.recipe.model import normalize
from smithy.xbuildenv import XBuildEnv

ATTEMPTS = 3
JOBS = 8
DIFFERENT = "already on the channel with another"  # … sha256 (…) / md5 (…)


@dataclass(frozen=True)
class UploadResult:
    filename: str
    outcome: Outcome | None  # None: failed
    error: str | None = None
    refused: bool = False  # its name is on the channel with other bytes: no retry will do


@dataclass(frozen=True, kw_only=True)
class Origin:
    """What provenance needs to know besides the wheel itself."""

    feedstock: str | None = None
    commit: str | None = None
    xbuildenv: str | None = None
    package: str | None = None  # the feedstock's recipe package: its only output


def check_wheels(
    paths: Sequence[Path], xbuildenv: XBuildEnv | None, *, package: str | None = None
) -> list[Wheel]:
    """Read and check every wheel; refuse them all, each with its reason, if any fails.

    ``package``: inside a feedstock, its recipe's package; a wheel of another project is not
    the feedstock's output and would carry the feedstock's name as its provenance.
    """
    for path in paths:  # a shell glob that matched nothing arrives as itself: `dist/*.whl`
        if not path.exists() and any(c in path.name for c in "*?["):
            raise UsageError(
                f"no wheels matched {path}: build them first "
                f"(`pyodide-smithy build --output {path.parent}/`)",
                file=path.parent,
            )
    wheels: list[Wheel] = []
    problems: list[SmithyError] = []
    for path in paths:
        try:
            wheel = read_wheel(path)
            check_platform(wheel, xbuildenv)
            if package is not None and wheel.project != normalize(package):
                raise WheelError(
                    f"{wheel.name} is not an output of this feedstock, which builds {package}",
                    file=path,
                )
            wheels.append(wheel)
        except WheelError as exc:
            problems.append(exc)
    names = [w.filename for w in wheels]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        problems.append(WheelError(f"given twice: {', '.join(duplicates)}"))
    if problems:
        for problem in problems[:-1]:
            print(f"error: {problem}", file=sys.stderr)
        last = problems[-1]
        if len(problems) == 1:
            raise last
        raise WheelError(
            f"{last.message} ({last.where()}); {len(problems)} wheels refused, nothing sent"
        )
    return wheels


def run_upload(
    paths: Sequence[Path],
    channel: Channel,
    *,
    label: str,
    xbuildenv: XBuildEnv | None,
    origin: Origin,
    replace: bool = False,
    jobs: int = JOBS,
) -> list[UploadResult]:
    """Upload ``paths`` to ``label``; at the end, raise a ChannelError naming every failure."""
    check_label(label)
    wheels = check_wheels(paths, xbuildenv, package=origin.package)
    if isinstance(channel, LocalChannel) and not channel.root.exists():
        console.info(f"{channel.root} does not exist yet: creating a new local channel there")
    listing = _list(channel, {w.project: w.name for w in wheels}, jobs)
    uploading = console.counting(len(wheels), "uploading")
    with uploading as advance, ThreadPoolExecutor(max_workers=jobs) as pool:

        def one(wheel: Wheel) -> UploadResult:
            try:
                outcome = _upload_one(
                    channel,
                    wheel,
                    listing.get(wheel.project, []),
                    label=label,
                    origin=origin,
                    replace=replace,
                )
                return UploadResult(wheel.filename, outcome)
            except SmithyError as exc:
                refused = DIFFERENT in exc.message
                return UploadResult(wheel.filename, None, str(exc), refused=refused)
            finally:
                advance()

        results = list(pool.map(one, wheels))
    failed = [r for r in results if r.outcome is None]
    alone = len(failed) == 1 and failed[0].refused  # its own line is the error
    for result in results:
        if result.outcome is None and not alone:
            console.warn(f"{result.filename}: {result.error}")
        elif result.outcome is not None:
            console.info(f"{result.outcome:>9}  {result.filename}")
    if alone:
        raise ChannelError(str(failed[0].error))
    if failed:
        raise ChannelError(_failure(failed, len(results)), file=channel.description)
    return results


def _failure(failed: list[UploadResult], total: int) -> str:
    """The last line of an upload that left ``failed`` behind: what to do about them."""
    names = ", ".join(r.filename for r in failed)
    refused = sum(r.refused for r in failed)
    head = f"{len(failed)} of {total} wheels failed ({names})"
    if not refused:
        return f"{head}; run the same command again to finish"
    fix = "a rebuild is published under a new build number"
    if refused == len(failed):
        return f"{head}: each name is on the channel with other bytes, and {fix}"
    return f"{head}; {fix} (see above); run the same command again to finish the others"


def _list(channel: Channel, names: dict[str, str], jobs: int) -> dict[str, list[ChannelFile]]:
    """One listing per package, not one per file (asked by METADATA Name; a remote channel
    tries the project's other spellings only when that one is not there)."""
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        found = pool.map(channel.files, names.values())
        return dict(zip(names, found, strict=True))


def _upload_one(
    channel: Channel,
    wheel: Wheel,
    known: list[ChannelFile],
    *,
    label: str,
    origin: Origin,
    replace: bool,
) -> Outcome:
    provenance = Provenance.from_ci(
        wheel.sha256, feedstock=origin.feedstock, commit=origin.commit, xbuildenv=origin.xbuildenv
    )
    deleted = sent = False
    for attempt in range(ATTEMPTS):
        if attempt:  # what happened to the last try? ask, then act on the answer
            known = channel.files(wheel.name)
        existing = next((f for f in known if f.filename == wheel.filename), None)
        try:
            if existing is None:
                sent = True
                channel.put(wheel, labels=(label,), provenance=provenance)
                return "replaced" if deleted else "uploaded"
            difference = _difference(channel, existing, wheel)
            if difference is None:
                if label in existing.labels and sent:  # the last try worked; its answer was lost
                    return "replaced" if deleted else "uploaded"
                if label in existing.labels:
                    return "exists"
                channel.set_label(existing, label, present=True)
                return "labelled"
            if not replace:
                raise ChannelError(_refusal(wheel, existing, difference, origin))
            deleted = True  # even if its answer is lost: the next look tells
            channel.delete(existing)
            # The server may have deleted the emptied release and package: put() re-creates them.
            sent = True
            channel.put(wheel, labels=(label,), provenance=provenance)
            return "replaced"
        except NetworkError:
            if attempt == ATTEMPTS - 1:
                raise
        except ChannelError as exc:
            if attempt == ATTEMPTS - 1 or DIFFERENT in exc.message:
                raise
    raise AssertionError("unreachable")


def _refusal(wheel: Wheel, existing: ChannelFile, difference: str, origin: Origin) -> str:
    """One line for a file whose name the channel holds with other bytes: a rebuild needs a new
    build number, since a published file never changes under its name (installers and locks
    pin its sha256)."""
    from smithy.platform import InvalidWheelName, parse_wheel_name

    try:
        number = parse_wheel_name(existing.filename).build_number
    except InvalidWheelName:
        number = None
    build = "no build tag" if number is None else f"build {number}"
    what = difference.split(" ", 1)[0]  # sha256 or md5
    fix = (
        "bump build-number in pyodide-smithy.yml to publish a rebuild"
        if origin.package is not None
        else "give a rebuild a higher build tag (PEP 427) to publish it"
    )
    return (
        f"{wheel.filename} is {DIFFERENT} {what} ({build}): {fix} "
        "(--replace overwrites the published file instead)"
    )


def _difference(channel: Channel, existing: ChannelFile, wheel: Wheel) -> str | None:
    """How the file on the channel differs from ``wheel``, or None if it is the same: by the
    sha256 the channel lists, else its md5, else (an old Anaconda.org file answers
    ``"sha256": "None"``) by downloading and hashing its bytes."""
    if existing.sha256 or existing.md5:
        return existing.differs(wheel.path.read_bytes())
    actual = hashlib.sha256(channel.download(existing)).hexdigest()
    if actual != wheel.sha256:
        return f"sha256 ({actual[:12]}… downloaded, {wheel.sha256[:12]}… here)"
    return None
