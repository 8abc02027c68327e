"""The closure of requested packages over a channel's wheels, for one Pyodide.

Newest version that fits, unless pinned; markers evaluated as that Pyodide evaluates them;
every requirement that cannot be met is reported at once, with who asked for it. The channel
is asked for a project's files only when the closure reaches it (one listing each), so a lock
of three packages reads three packages, however many the channel holds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from smithy.channel.model import ChannelFile
from smithy.errors import UsageError
from smithy.markers import pyodide_environment
from smithy.xbuildenv import XBuildEnv

if TYPE_CHECKING:
    from smithy.platform import WheelName

COMMAND_LINE = "the command line"


class ResolutionError(UsageError):
    """Requirements the channel cannot satisfy; ``problems`` holds one line each, ``missing``
    the projects found nowhere, for which the message says what to do."""

    exit_code = 15

    def __init__(self, problems: list[str], missing: list[str] | None = None) -> None:
        count = f"{len(problems)} requirement{'' if len(problems) == 1 else 's'}"
        lines = "\n  ".join(problems)
        message = f"{count} cannot be satisfied:\n  {lines}"
        if missing:
            name = missing[0]
            message += (
                f"\nto get {', '.join(missing)}: publish it from a feedstock "
                f"(`pyodide-smithy init {name}`, then build and upload it), or lock on top "
                "of a Pyodide distribution's lock that has it (`--base pyodide-lock.json`)"
            )
        super().__init__(message)
        self.problems = problems
        self.missing = missing or []


@dataclass
class Chosen:
    file: ChannelFile
    version: Version
    path: Path
    requires: list[Requirement]
    asked_by: str
    extras: set[str] = field(default_factory=set)
    depends: list[str] = field(default_factory=list)


def tag_rank(filename: str, xbuildenv: XBuildEnv) -> int | None:
    """How well a wheel fits (lower is better); ``None`` when it does not run there."""
    from smithy.platform import parse_wheel_name, rank

    return rank(parse_wheel_name(filename), xbuildenv)


def resolve(
    requests: list[str],
    files: Callable[[str], Sequence[ChannelFile]],
    xbuildenv: XBuildEnv,
    materialize: Callable[[ChannelFile], Path],
    read_requires: Callable[[Path], list[str]],
    *,
    provided: Mapping[str, Version] | None = None,
    prefetch: Callable[[Iterable[str]], None] | None = None,
) -> dict[str, Chosen]:
    """Choose one file per needed project; raise :class:`ResolutionError` listing every problem.

    ``files(name)``: the channel's files of one project, asked once per project the closure
    reaches, with the name as the requirement spells it; ``prefetch(names)``, when given, is
    told the projects about to be asked for, to list them at once. ``provided`` (canonical
    name -> version) is what a base lock already holds: a requirement that no channel file fits
    is met by it when its version fits.
    """
    env = pyodide_environment(xbuildenv.python_version, xbuildenv.emscripten_version)
    base = provided or {}
    chosen: dict[str, Chosen] = {}
    problems: list[str] = []
    missing: list[str] = []
    pending: deque[tuple[Requirement, str]] = deque()
    catalog = _Catalog(files, xbuildenv, prefetch, upcoming=pending)
    for text in requests:
        try:
            pending.append((Requirement(text), COMMAND_LINE))
        except InvalidRequirement as exc:
            problems.append(f"{text!r} (asked by {COMMAND_LINE}): not a requirement: {exc}")

    def need(c: Chosen, extras: set[str]) -> None:
        for extra in sorted(extras | {""}):
            for req in c.requires:
                if req.marker is not None and not req.marker.evaluate(env | {"extra": extra}):
                    continue
                if req.marker is None and extra:
                    continue  # already added with the base requirements
                name = canonicalize_name(req.name)
                if name not in c.depends:
                    c.depends.append(name)
                pending.append((req, f"{c.file.package} {c.version}"))

    while pending:
        req, who = pending.popleft()
        name = canonicalize_name(req.name)
        if name in chosen:
            c = chosen[name]
            if not req.specifier.contains(c.version, prereleases=True):
                problems.append(
                    f"{req} (asked by {who}): {name} {c.version} was chosen for {c.asked_by}"
                )
            new = set(req.extras) - c.extras
            if new:
                c.extras |= new
                need(c, new)
            continue
        runnable, present = catalog.options(req.name)
        fitting = [(v, f) for v, f in runnable if req.specifier.contains(v, prereleases=True)]
        stable = [(v, f) for v, f in fitting if not v.is_prerelease]
        if not fitting:
            if name in base and req.specifier.contains(base[name], prereleases=True):
                continue  # the base lock's entry stays and serves it
            if not present and name not in base and name not in missing:
                missing.append(name)
            problems.append(_missing(req, who, runnable, present, base.get(name)))
            continue
        version, file = (stable or fitting)[0]
        path = materialize(file)
        requires = _parse(read_requires(path), file, problems)
        c = chosen[name] = Chosen(file, version, path, requires, who, set(req.extras))
        need(c, set(req.extras))
    if problems:
        raise ResolutionError(problems, missing)
    return chosen


class _Catalog:
    """The channel's files per project, listed when the closure first reaches the project;
    ``prefetch`` then hears of every project waiting in ``upcoming`` not listed yet."""

    def __init__(
        self,
        files: Callable[[str], Sequence[ChannelFile]],
        xbuildenv: XBuildEnv,
        prefetch: Callable[[Iterable[str]], None] | None,
        *,
        upcoming: deque[tuple[Requirement, str]],
    ) -> None:
        self._files, self._xbuildenv, self._prefetch = files, xbuildenv, prefetch
        self._upcoming = upcoming
        self._announced: set[str] = set()
        self._listed: dict[str, tuple[list[tuple[Version, ChannelFile]], bool]] = {}

    def options(self, asked_as: str) -> tuple[list[tuple[Version, ChannelFile]], bool]:
        """The project's files that run here (best first), and whether it has any wheel; the
        channel is asked with the name as the requirement spells it."""
        name = canonicalize_name(asked_as)
        if name not in self._listed:
            waiting = {canonicalize_name(r.name): r.name for r, _ in reversed(self._upcoming)}
            waiting[name] = asked_as
            news = [waiting[key] for key in sorted(waiting) if key not in self._announced]
            if self._prefetch is not None and news:
                self._announced.update(canonicalize_name(n) for n in news)
                self._prefetch(news)
            self._listed[name] = _options(name, self._files(asked_as), self._xbuildenv)
        return self._listed[name]


def _options(
    name: str, files: Iterable[ChannelFile], xbuildenv: XBuildEnv
) -> tuple[list[tuple[Version, ChannelFile]], bool]:
    """The files of project ``name`` that run on ``xbuildenv``, best first, and whether the
    channel holds any wheel of it at all.

    Best is the newest version, then the best tag, then the highest build (PEP 427: the build
    tag breaks ties between names alike in every other part; no tag sorts below build 0). pip
    sorts the same way, and micropip, which ignores build tags, keeps the first of equal tags
    on an index page, which lists the highest build first (``channel.simple_pages``).
    """
    from smithy.platform import InvalidWheelName, parse_wheel_name, rank

    ranked: list[tuple[WheelName, int, ChannelFile]] = []
    present = False
    for f in files:
        try:
            parsed = parse_wheel_name(f.filename)
        except InvalidWheelName:
            continue
        if parsed.project != name:
            continue
        present = True
        fit = rank(parsed, xbuildenv)
        if fit is not None:
            ranked.append((parsed, fit, f))
    ranked.sort(key=lambda e: e[0].build, reverse=True)
    ranked.sort(key=lambda e: e[1])
    ranked.sort(key=lambda e: e[0].version, reverse=True)
    return [(p.version, f) for p, _, f in ranked], present


def _missing(
    req: Requirement,
    who: str,
    options: list[tuple[Version, ChannelFile]],
    present: bool,
    in_base: Version | None,
) -> str:
    if in_base is not None and not options:
        return f"{req} (asked by {who}): the base lock has {req.name} {in_base}, which does not fit"
    if not present:
        return f"{req} (asked by {who}): {req.name} is not on the channel"
    if not options:
        return f"{req} (asked by {who}): no wheel of {req.name} on the channel runs on this Pyodide"
    versions = ", ".join(str(v) for v in sorted({v for v, _ in options}, reverse=True)[:6])
    return f"{req} (asked by {who}): no version fits; the channel has {versions}"


def _parse(lines: list[str], file: ChannelFile, problems: list[str]) -> list[Requirement]:
    out = []
    for line in lines:
        try:
            out.append(Requirement(line))
        except InvalidRequirement:
            problems.append(f"{file.filename}: unreadable Requires-Dist {line!r}")
    return out
