"""``bot status``: where every migration and feedstock of an org stands, as data.

Built from a :class:`~smithy.bot.survey.Survey` (what GitHub and the channel say now),
optionally the JSON reports of the ``bot run`` jobs that just ran (their failures, with a link
to the run), and what ``bot versions`` would decide (the package index: newer releases, version
pull requests). ``StatusReport.to_json`` is a documented, stable format (docs/status.md):
other tools read it. Keys are only ever added; ``schema`` changes if one ever changes meaning.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smithy.bot.plan import Graph, State
from smithy.errors import SmithyError, UsageError

if TYPE_CHECKING:
    from smithy.bot.survey import Survey
    from smithy.bot.version_plan import VersionDecision
    from smithy.github.client import GitHubClient
    from smithy.xbuildenv import Catalog

# bot versions' states for which the index answered with the project's page
ANSWERED = frozenset({"up-to-date", "ready", "pr-open", "declined", "opted-out"})
RETIRE_NOTE = (
    "Upstream publishes Pyodide wheels for every ABI the org targets: "
    "this feedstock could be retired."
)

SCHEMA = 1
STATES = tuple(str(s) for s in State)
# The progress bar: each part, the states it counts, its label and its mark in text
PROGRESS = {
    "done": ("up-to-date",),
    "in-pr": ("ready", "pr-open", "merged-awaiting-upload"),
    "waiting": ("awaiting-dependencies",),
    "declined": ("declined",),
    "failed": ("failed",),
}
PROGRESS_LABELS = {"done": "done", "in-pr": "in PR", "waiting": "waiting",
                   "declined": "declined", "failed": "failed"}  # fmt: skip
BAR_MARKS = {"done": "#", "in-pr": "=", "waiting": "-", "declined": ".", "failed": "!"}
BAR_WIDTH = 40
TOP_BLOCKERS = 10  # how many blockers the text shows (JSON and the page: all)


@dataclass(frozen=True)
class PullStatus:
    number: int
    url: str
    open: bool
    merged: bool
    ci: str | None  # success, failure, pending, error, expected; None when nothing reported
    edited: bool = False  # holds commits the bot did not make: the bot leaves its branch alone

    def to_json(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True, kw_only=True)
class VersionStatus:
    """The recipe's version on the default branch and what ``bot versions`` makes of it."""

    current: str
    newest: str | None = None  # the newest upstream release it takes, when newer than current
    state: str | None = None  # a bot versions state; None when the package index was not read
    reason: str | None = None
    pull: str | None = None  # the target version's pull request (open, closed or merged)
    upstream_wheel: str | None = None  # upstream's Pyodide wheel that PR takes as the source
    number: int | None = None  # that pull request's number (the page's link text)
    retire: bool | None = None  # upstream's own wheels cover every target; None: not asked

    def to_json(self) -> dict[str, Any]:
        keys = ("current", "newest", "state", "reason", "pull", "upstream_wheel")
        return {key: getattr(self, key) for key in keys}


@dataclass(frozen=True)
class VersionCheck:
    """Whether the package index was read; ``problem``: why not, when it was asked."""

    checked: bool = False
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class FeedstockStatus:
    name: str
    state: str
    reason: str
    pinned: str | None  # the xbuildenv on its default branch; None when unreadable
    repository: str  # the repository's web page
    link: str  # where to act: the PR, the failed run, the file at fault, or the repository
    waiting_on: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()  # feedstocks of the org it depends on
    pull: PullStatus | None = None
    version: VersionStatus | None = None  # None when the feedstock could not be read

    def to_json(self) -> dict[str, Any]:
        data = _plain(self)
        data["version"] = self.version.to_json() if self.version else None
        data["retire"] = self.version.retire if self.version else None
        return data


@dataclass(frozen=True)
class Blocker:
    """A feedstock that others wait for, directly or through others."""

    name: str
    state: str  # "" when it is not in this migration
    holds_back: tuple[str, ...]  # every feedstock waiting for it, transitively, by name
    waiting_on: tuple[tuple[str, str], ...]  # what it waits for itself, and their states

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "holds_back": len(self.holds_back),
            "held_back": list(self.holds_back),
            "waiting_on": [{"name": name, "state": state} for name, state in self.waiting_on],
        }


@dataclass(frozen=True)
class MigrationStatus:
    xbuildenv: str
    python: str
    emscripten: str
    abi: str
    abi_change: bool  # against the previous stable release
    prerelease: bool
    feedstocks: tuple[FeedstockStatus, ...]  # dependencies first

    def counts(self) -> dict[str, int]:
        seen = Counter(f.state for f in self.feedstocks)
        return {state: seen.get(state, 0) for state in STATES}

    def progress(self) -> dict[str, int]:
        """The counts in the progress bar's parts (``PROGRESS``)."""
        counts = self.counts()
        return {part: sum(counts[s] for s in states) for part, states in PROGRESS.items()}

    def blockers(self) -> tuple[Blocker, ...]:
        """Feedstocks others wait for, most held back first: along what waits on what (in an
        ABI migration, a dependency with no wheels for the new ABI yet), transitively."""
        states = {f.name: f.state for f in self.feedstocks}
        waits = Graph({f.name: frozenset(f.waiting_on) for f in self.feedstocks})
        held = waits.held_back()
        return tuple(
            Blocker(
                name=name,
                state=states.get(name, ""),
                holds_back=tuple(sorted(held[name], key=str.lower)),
                waiting_on=tuple((w, states.get(w, "")) for w in sorted(waits.edges.get(name, ()))),
            )
            for name in sorted(held, key=lambda n: (-len(held[n]), n.lower()))
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "xbuildenv": self.xbuildenv,
            "python": self.python,
            "emscripten": self.emscripten,
            "abi": self.abi,
            "abi_change": self.abi_change,
            "prerelease": self.prerelease,
            "counts": self.counts(),
            "feedstocks": [f.to_json() for f in self.feedstocks],
            "progress": self.progress(),
            "blockers": [b.to_json() for b in self.blockers()],
        }


@dataclass(frozen=True)
class StatusReport:
    org: str
    generated: str  # ISO 8601, UTC
    migrations: tuple[MigrationStatus, ...]
    runs: tuple[str, ...] = field(default=())  # links to the bot runs whose reports were read
    versions: VersionCheck = VersionCheck()  # whether the package index was read

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "org": self.org,
            "generated": self.generated,
            "runs": list(self.runs),
            "migrations": [m.to_json() for m in self.migrations],
            "versions": self.versions.to_json() | {"behind": self._behind_names()},
        }

    def behind(self) -> tuple[FeedstockStatus, ...] | None:
        """The feedstocks whose upstream released a newer version, by name; None when the
        package index was not read."""
        if not self.versions.checked:
            return None
        stocks = [f for m in self.migrations for f in m.feedstocks if f.version]
        return tuple(sorted((f for f in stocks if f.version and f.version.newest), key=_by_name))

    def _behind_names(self) -> list[str] | None:
        behind = self.behind()
        return None if behind is None else [f.name for f in behind]


def _by_name(f: FeedstockStatus) -> str:
    return f.name.lower()


def _plain(obj: Any) -> dict[str, Any]:
    """A dataclass as JSON-ready data, field by field in declaration order, tuples as lists."""

    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        return value

    return dict(convert(asdict(obj)))


@dataclass(frozen=True)
class RunFailure:
    reason: str
    link: str


def read_run_reports(paths: Iterable[Path]) -> tuple[dict[str, RunFailure], tuple[str, ...]]:
    """Failures (feedstock -> reason and link) from ``bot run --json`` reports, and the runs."""
    failures: dict[str, RunFailure] = {}
    runs: list[str] = []
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"cannot read the bot run report: {exc.strerror}", file=path) from None
        except ValueError as exc:
            raise UsageError(f"the bot run report is not JSON: {exc}", file=path) from None
        if not isinstance(data, dict) or not isinstance(data.get("decisions"), list):
            raise UsageError("not a `bot run --json` report (no decisions)", file=path)
        run_url = str(data.get("run_url") or "")
        if run_url:
            runs.append(run_url)
        for d in data["decisions"]:
            if isinstance(d, dict) and d.get("state") == str(State.FAILED):
                failures[str(d.get("feedstock"))] = RunFailure(str(d.get("reason", "")), run_url)
    return failures, tuple(dict.fromkeys(runs))


def build_report(
    survey: Survey,
    *,
    failures: Mapping[str, RunFailure] | None = None,
    runs: tuple[str, ...] = (),
    generated: str,
    versions: Mapping[str, VersionStatus] | None = None,
    version_check: VersionCheck | None = None,
) -> StatusReport:
    """The report for ``survey``; ``failures``: from the bot runs' reports; ``versions``: from
    :func:`check_versions` (``version_check`` says whether the index was read)."""
    from smithy.platform import abi_of

    failures, versions = failures or {}, versions or {}
    by_target: dict[str, list[FeedstockStatus]] = {}
    for d in survey.decisions:
        view = survey.views.get(d.feedstock)
        target = survey.targets.get(d.feedstock, survey.default_target)
        unreadable = survey.unreadable_urls.get(d.feedstock, "")
        repository = view.repo.html_url if view else unreadable.partition("/blob/")[0]
        state, reason, link = str(d.state), d.reason, _link(d, repository) or unreadable
        failure = failures.get(d.feedstock)
        if failure is not None and d.state in (State.READY, State.PR_OPEN, State.FAILED):
            state, reason = str(State.FAILED), failure.reason
            link = failure.link or link
        pull = d.pull
        by_target.setdefault(target.version, []).append(
            FeedstockStatus(
                name=d.feedstock,
                state=state,
                reason=reason,
                pinned=view.feedstock.xbuildenv if view else None,
                repository=repository,
                link=link,
                waiting_on=d.waiting_on,
                depends_on=tuple(sorted(survey.graph.edges.get(d.feedstock, frozenset()))),
                pull=PullStatus(pull.number, pull.url, pull.open, pull.merged, pull.ci, pull.edited)
                if pull
                else None,
                version=versions.get(d.feedstock) or VersionStatus(current=view.feedstock.version)
                if view
                else None,
            )
        )
    migrations = []
    releases = {t.version: t for t in survey.targets.values()}
    releases.setdefault(survey.default_target.version, survey.default_target)
    for version, stocks in by_target.items():
        target = releases[version]
        migrations.append(
            MigrationStatus(
                xbuildenv=version,
                python=target.python_version,
                emscripten=target.emscripten_version,
                abi=abi_of(target),
                abi_change=survey.abi_moves.get(version, False),
                prerelease=target.prerelease,
                feedstocks=tuple(stocks),
            )
        )
    check = version_check or VersionCheck()
    return StatusReport(survey.org, generated, tuple(migrations), runs, check)


def version_status(current: str, decision: VersionDecision, retire: bool | None) -> VersionStatus:
    """``decision`` as the status shows it; ``current``: the version read from GitHub."""
    pull, current = decision.pull, decision.current or current
    return VersionStatus(
        current=current,
        newest=decision.newest if decision.newest != current else None,  # a switch alone
        state=str(decision.state),
        reason=decision.reason,
        pull=pull.url if pull else None,
        upstream_wheel=decision.switch.filename if decision.switch else None,
        number=pull.number if pull else None,
        retire=retire,
    )


def _link(decision: Any, repository: str) -> str:
    """The PR (its checks when CI reported) or, for a readable feedstock, its repository."""
    if decision.pull is not None:
        checks = "/checks" if decision.pull.open and decision.pull.ci else ""
        return f"{decision.pull.url}{checks}"
    return repository if decision.state != State.FAILED else ""


def text_lines(report: StatusReport, *, top: int = TOP_BLOCKERS) -> list[str]:
    """The report for a terminal: per migration a header, its progress bar, its ``top``
    blockers and a line per feedstock; then the feedstocks behind upstream."""
    lines = []
    for m in report.migrations:
        counts = ", ".join(f"{n} {s}" for s, n in m.counts().items() if n)
        abi_note = f", ABI {m.abi} (new)" if m.abi_change else ""
        lines.append(f"xbuildenv {m.xbuildenv} (Python {m.python}{abi_note}): {counts}")
        lines.append(f"  progress {progress_bar(m.progress())}")
        if blockers := m.blockers():
            lines.append(f"  biggest blockers ({min(top, len(blockers))} of {len(blockers)}):")
            lines += [f"    {blocker_text(b)}" for b in blockers[:top]]
        for f in m.feedstocks:
            ci = f" [CI {f.pull.ci}]" if f.pull and f.pull.open and f.pull.ci else ""
            version = f"\t{version_text(f.version)}" if f.version else ""
            lines.append(f"  {f.name}\t{f.state}{ci}\t{f.reason}{version}")
            if f.version and f.version.retire:
                lines.append(f"    {RETIRE_NOTE}")
    behind = report.behind()
    if behind is not None:
        total = sum(1 for m in report.migrations for f in m.feedstocks if f.version)
        lines.append(f"behind upstream: {len(behind)} of {total} feedstocks")
        lines += [f"  {f.name}: {version_text(f.version)}" for f in behind if f.version]
    return lines


def progress_bar(progress: Mapping[str, int], width: int = BAR_WIDTH) -> str:
    """``[####==---.!] 33% done: # 4 done, = 2 in PR, …``: a part of at least one mark for
    every part with any feedstock, the rest by largest remainder."""
    total = sum(progress.values())
    exact = {part: n * width / (total or 1) for part, n in progress.items()}
    cells = {part: max(1, int(x)) if progress[part] else 0 for part, x in exact.items()}
    while sum(cells.values()) < width and total:
        grow = max(cells, key=lambda p: (exact[p] - cells[p], progress[p]))
        cells[grow] += 1
    while sum(cells.values()) > width:
        cells[max(cells, key=lambda p: cells[p])] -= 1
    bar = "".join(BAR_MARKS[part] * n for part, n in cells.items())
    done = 100 * progress.get("done", 0) // (total or 1)
    legend = ", ".join(f"{BAR_MARKS[p]} {n} {PROGRESS_LABELS[p]}" for p, n in progress.items())
    return f"[{bar.ljust(width)}] {done}% done: {legend}"


def blocker_text(b: Blocker) -> str:
    """``scipy-feedstock holds back 15 (awaiting-dependencies: waits on numpy-feedstock
    pr-open)``."""
    waits = ", ".join(f"{name} {state}".rstrip() for name, state in b.waiting_on)
    detail = f"{b.state}: waits on {waits}" if waits else b.state
    return f"{b.name} holds back {len(b.holds_back)}" + (f" ({detail})" if detail else "")


def version_text(v: VersionStatus) -> str:
    """``version 1.2.3 → 1.3.0 (pr-open: URL)``: on main, newer upstream (and the upstream
    Pyodide wheel the PR switches to), the state, the PR."""
    text = f"version {v.current}" + (f" → {v.newest}" if v.newest else "")
    text += f", upstream's wheel {v.upstream_wheel}" if v.upstream_wheel else ""
    if v.state is None:
        return text
    detail = v.pull or (v.reason if v.state == "failed" else None)
    return f"{text} ({v.state}: {detail})" if detail else f"{text} ({v.state})"


def gather_status(
    org: str,
    *,
    xbuildenv: str | None = None,
    metadata: str | None = None,
    channel: str | None = None,
    reports: Iterable[Path] = (),
    versions: bool = False,
    index_url: str | None = None,
) -> StatusReport:
    """Read the org now (as ``bot run`` does, acting on nothing) and build its report;
    ``versions``: also ask the package index (``index_url``, default as ``bot versions``) and
    GitHub what ``bot versions`` would do."""
    from datetime import UTC, datetime

    from smithy.bot.survey import read_org

    failures, runs = read_run_reports(reports)  # bad reports fail before anything is read
    client, seen = read_org(org, xbuildenv=xbuildenv, metadata=metadata, channel=channel)
    decisions: dict[str, VersionStatus] = {}
    check = None
    if versions:
        decisions, check = check_versions(client, seen, seen.catalog, index_url)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return build_report(
        seen, failures=failures, runs=runs, generated=now, versions=decisions, version_check=check
    )


def check_versions(
    client: GitHubClient, survey: Survey, catalog: Catalog | None, index_url: str | None
) -> tuple[dict[str, VersionStatus], VersionCheck]:
    """What ``bot versions`` would decide for each readable feedstock, and whether upstream's
    own Pyodide wheels of its version cover every xbuildenv the org's feedstocks migrate to
    (from the pages the check read: no further request). None, and why, when the package index
    answered nothing (or GitHub, asked for the version pull requests, failed): the migration
    status stands without them."""
    from smithy.bot.version_plan import VersionState
    from smithy.bot.versions import survey_versions
    from smithy.recipe.upstream import covers
    from smithy.versions.index import IndexClient

    index = IndexClient(index_url)
    try:
        views = list(survey.views.values())
        decisions = survey_versions(client, survey.org, views, index=index, catalog=catalog)
    except SmithyError as exc:
        return {}, VersionCheck(problem=str(exc))
    failed = [d for d in decisions if d.state is VersionState.FAILED]
    if failed and not any(d.state in ANSWERED for d in decisions):
        return {}, VersionCheck(problem=failed[0].reason)
    targets = list(dict.fromkeys(survey.targets.values()))
    out = {}
    for d in decisions:
        f = survey.views[d.feedstock].feedstock
        retire = None
        if d.state in ANSWERED:
            with contextlib.suppress(SmithyError):  # the page the check read: from memory
                retire = covers(index.seen(f.outputs[0]) or [], f.version, targets)
        out[d.feedstock] = version_status(f.version, d, retire)
    return out, VersionCheck(checked=True)
