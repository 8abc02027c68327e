"""``bot status``: where every migration and feedstock of an org stands, as data.

Built from a :class:`~smithy.bot.survey.Survey` (what GitHub and the channel say now) and,
optionally, the JSON reports of the ``bot run`` jobs that just ran (their failures, with a
link to the run). ``StatusReport.to_json`` is a documented, stable format (docs/status.md):
other tools read it. Keys are only ever added; ``schema`` changes if one ever changes meaning.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smithy.bot.plan import State
from smithy.errors import UsageError

if TYPE_CHECKING:
    from smithy.bot.survey import Survey

SCHEMA = 1
STATES = tuple(str(s) for s in State)


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

    def to_json(self) -> dict[str, Any]:
        return _plain(self)


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
        }


@dataclass(frozen=True)
class StatusReport:
    org: str
    generated: str  # ISO 8601, UTC
    migrations: tuple[MigrationStatus, ...]
    runs: tuple[str, ...] = field(default=())  # links to the bot runs whose reports were read

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "org": self.org,
            "generated": self.generated,
            "runs": list(self.runs),
            "migrations": [m.to_json() for m in self.migrations],
        }


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
) -> StatusReport:
    """The report for ``survey``; ``failures``: from the bot runs' reports."""
    from smithy.platform import abi_of

    failures = failures or {}
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
    return StatusReport(survey.org, generated, tuple(migrations), runs)


def _link(decision: Any, repository: str) -> str:
    """The PR (its checks when CI reported) or, for a readable feedstock, its repository."""
    if decision.pull is not None:
        checks = "/checks" if decision.pull.open and decision.pull.ci else ""
        return f"{decision.pull.url}{checks}"
    return repository if decision.state != State.FAILED else ""


def text_lines(report: StatusReport) -> list[str]:
    """The report for a terminal: one header per migration, one line per feedstock."""
    lines = []
    for m in report.migrations:
        counts = ", ".join(f"{n} {s}" for s, n in m.counts().items() if n)
        abi_note = f", ABI {m.abi} (new)" if m.abi_change else ""
        lines.append(f"xbuildenv {m.xbuildenv} (Python {m.python}{abi_note}): {counts}")
        for f in m.feedstocks:
            ci = f" [CI {f.pull.ci}]" if f.pull and f.pull.open and f.pull.ci else ""
            lines.append(f"  {f.name}\t{f.state}{ci}\t{f.reason}")
    return lines


def gather_status(
    org: str,
    *,
    xbuildenv: str | None = None,
    metadata: str | None = None,
    channel: str | None = None,
    reports: Iterable[Path] = (),
) -> StatusReport:
    """Read the org now (as ``bot run`` does, acting on nothing) and build its report."""
    from datetime import UTC, datetime

    from smithy.bot.survey import read_org

    failures, runs = read_run_reports(reports)  # bad reports fail before anything is read
    _, seen = read_org(org, xbuildenv=xbuildenv, metadata=metadata, channel=channel)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return build_report(seen, failures=failures, runs=runs, generated=now)
