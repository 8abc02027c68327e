"""What ``bot versions`` does for each feedstock, decided from what was read: pure.

One fixed branch per target version (``pyodide-smithy/version-1.3.0``), so a re-run finds its
own pull request instead of opening a second one; a newer release supersedes the open pull
request of an older one; a pull request closed without merging is declined until it is
labelled ``bot-rerun`` (as migrations are).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from smithy.bot.plan import RERUN_LABEL, Feedstock, Pull

if TYPE_CHECKING:
    from smithy.recipe.pypi_index import IndexFile
    from smithy.versions.select import Update

BRANCH_PREFIX = "pyodide-smithy/version-"


class VersionState(StrEnum):
    UP_TO_DATE = "up-to-date"
    READY = "ready"  # open (or re-open, or refresh) the pull request now
    PR_OPEN = "pr-open"
    DECLINED = "declined"
    OPTED_OUT = "opted-out"
    NOT_CHECKED = "not-checked"  # no index source to follow (a source.path recipe, not on it)
    FAILED = "failed"


@dataclass(frozen=True, kw_only=True)
class VersionDecision:
    feedstock: str
    state: VersionState
    reason: str
    current: str = ""  # the recipe's version on the default branch
    newest: str | None = None  # the newest release the feedstock would take, if newer
    update: Update | None = None
    pull: Pull | None = None  # the target version's pull request, if any
    superseded: tuple[tuple[str, Pull], ...] = ()  # (version, open PR) to close for this one
    switch: IndexFile | None = None  # upstream's own Pyodide wheel the source becomes

    def to_json(self) -> dict[str, object]:
        return {
            "feedstock": self.feedstock,
            "state": self.state.value,
            "reason": self.reason,
            "current": self.current,
            "newest": self.newest,
            "pull": self.pull.url if self.pull else None,
            "superseded": [p.url for _, p in self.superseded],
            "upstream_wheel": self.switch.filename if self.switch else None,
        }


def branch_for_version(version: str) -> str:
    return f"{BRANCH_PREFIX}{version}"


def version_of_branch(branch: str) -> str | None:
    return branch.removeprefix(BRANCH_PREFIX) if branch.startswith(BRANCH_PREFIX) else None


def decide(
    feedstock: Feedstock,
    update: Update | None,
    *,
    target_pull: Pull | None,
    open_version_pulls: dict[str, Pull],
    switch: IndexFile | None = None,
) -> VersionDecision:
    """``open_version_pulls``: version -> the open pull request of the bot's branch for it.
    ``switch``: upstream's Pyodide wheel of ``update``'s version, when the recipe should take
    it as its source (then ``update`` may be the current version: a switch alone)."""
    if not feedstock.version_updates:
        return VersionDecision(
            feedstock=feedstock.name,
            state=VersionState.OPTED_OUT,
            reason="bot.version-updates is false",
            current=feedstock.version,
        )
    if update is None:
        return VersionDecision(
            feedstock=feedstock.name,
            state=VersionState.UP_TO_DATE,
            reason=f"{feedstock.version} is the newest release it takes",
            current=feedstock.version,
            superseded=tuple(sorted(open_version_pulls.items())),
        )
    state, why = _state(update, target_pull)
    return VersionDecision(
        feedstock=feedstock.name,
        state=state,
        reason=why.format(current=feedstock.version),
        current=feedstock.version,
        newest=update.version,
        update=update,
        pull=target_pull,
        superseded=tuple(
            (v, p) for v, p in sorted(open_version_pulls.items()) if v != update.version
        ),
        switch=switch,
    )


def _state(update: Update, pull: Pull | None) -> tuple[VersionState, str]:
    if pull is None:
        return (
            VersionState.READY,
            f"{update.version} is out ({{current}} on main): open a pull request",
        )
    n, v = pull.number, update.version
    if pull.open:
        if RERUN_LABEL in pull.labels:
            return VersionState.READY, f"pull request #{n} is labelled {RERUN_LABEL}: refresh it"
        return VersionState.PR_OPEN, f"pull request #{n} for {v} is open"
    if pull.merged:  # main was read before the merge reached it: nothing to do now
        return VersionState.UP_TO_DATE, f"pull request #{n} for {v} was merged"
    if RERUN_LABEL in pull.labels:
        return VersionState.READY, f"pull request #{n} was closed and is labelled {RERUN_LABEL}"
    return (
        VersionState.DECLINED,
        f"pull request #{n} for {v} was closed without merging: label it {RERUN_LABEL} to have "
        "it re-opened",
    )
