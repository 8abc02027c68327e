"""``bot run``: plan the org's migration to the newest xbuildenv and open (or refresh) its PRs.

Every PR lives on one fixed branch per migration (``branch_for``), so re-runs, concurrent runs
and shards converge on one PR per feedstock.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smithy.bot.branch import Guard, Remote, check_out_theirs, clone, push
from smithy.bot.github_view import FeedstockView
from smithy.bot.isolation import rerender_in_child
from smithy.bot.plan import (
    RERENDER_COMMAND,
    RERUN_LABEL,
    Decision,
    Pull,
    State,
    branch_for,
    shard_of,
    status_url_for,
)
from smithy.bot.pull_text import pull_body, title_for
from smithy.bot.survey import read_org
from smithy.errors import SmithyError, UsageError
from smithy.github.client import GitHubClient, GitHubError, github_errors

if TYPE_CHECKING:
    from github.PullRequest import PullRequest

    from smithy.xbuildenv import XBuildEnv


@dataclass(frozen=True)
class Action:
    feedstock: str
    action: str  # opened | adopted | reopened | pushed | unchanged | skipped | failed | would-open
    detail: str = ""
    pull: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "feedstock": self.feedstock,
            "action": self.action,
            "detail": self.detail,
            "pull": self.pull,
        }


@dataclass
class BotResult:
    org: str
    targets: dict[str, str]  # feedstock -> the xbuildenv it migrates to
    decisions: list[Decision] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "org": self.org,
            "run_url": actions_run_url(),
            "dry_run": self.dry_run,
            "decisions": [
                {
                    "feedstock": d.feedstock,
                    "state": str(d.state),
                    "reason": d.reason,
                    "target": self.targets.get(d.feedstock),
                    "waiting_on": list(d.waiting_on),
                    "pull": d.pull.number if d.pull else None,
                }
                for d in self.decisions
            ],
            "actions": [a.to_json() for a in self.actions],
        }


def actions_run_url() -> str:
    """This GitHub Actions run's page, when running in one (else empty)."""
    import os

    parts = [os.environ.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY")]
    run_id = os.environ.get("GITHUB_RUN_ID", "")
    return f"{parts[0]}/{parts[1]}/actions/runs/{run_id}" if all(parts) and run_id else ""


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``I/N`` -> (I, N) with 0 <= I < N."""
    if text is None:
        return None
    index, _, count = text.partition("/")
    if not (index.strip().isdigit() and count.strip().isdigit()):
        raise UsageError(f"--shard must be I/N, not {text!r}", key="--shard")
    i, n = int(index), int(count)
    if n < 1 or i >= n:
        raise UsageError(f"--shard {text}: need 0 <= I < N", key="--shard")
    return i, n


def run_bot(
    org: str,
    *,
    xbuildenv: str | None = None,
    metadata: str | None = None,
    channel: str | None = None,
    dry_run: bool = False,
    max_prs: int | None = None,
    shard: tuple[int, int] | None = None,
    status_url: str | None = None,
) -> BotResult:
    """One pass of the bot over ``org``; see the module docstring. ``status_url``: the status
    page PRs link to (default: the org's admin repository's GitHub Pages site)."""
    client, seen = read_org(org, xbuildenv=xbuildenv, metadata=metadata, channel=channel)
    decisions = list(seen.decisions)
    if shard is not None:
        decisions = [d for d in decisions if shard_of(d.feedstock, shard[1]) == shard[0]]
    by_name, targets, current = seen.views, seen.targets, seen.current

    result = BotResult(org, {n: t.version for n, t in targets.items()}, decisions, dry_run=dry_run)
    opened = 0
    for i, d in enumerate(decisions):
        if d.state not in (State.READY, State.PR_OPEN):
            continue
        view, target, pull = by_name[d.feedstock], targets[d.feedstock], d.pull
        number = pull.number if pull else None
        if d.state == State.PR_OPEN and pull and pull.edited and RERUN_LABEL not in pull.labels:
            result.actions.append(Action(d.feedstock, "skipped", EDITED, number))
            continue
        if dry_run:
            what = "would refresh" if d.state == State.PR_OPEN else "would open"
            what = "would re-render on top" if pull and pull.edited else what
            result.actions.append(Action(d.feedstock, what, pull=number))
            continue
        if d.state == State.READY and max_prs is not None and opened >= max_prs:
            result.actions.append(Action(d.feedstock, "skipped", f"--max-prs {max_prs} reached"))
            continue
        try:
            action = _migrate(
                client,
                org,
                view,
                decision=d,
                target=target,
                pinned=current.get(d.feedstock),
                metadata=metadata,
                status_url=status_url or status_url_for(org),
            )
        except SmithyError as exc:
            action = Action(d.feedstock, "failed", str(exc))
            decisions[i] = replace(d, state=State.FAILED, reason=f"the bot failed: {exc}")
        if action.action in ("opened", "reopened"):
            opened += 1
        result.actions.append(action)
    return result


EDITED = (
    f"edited by maintainers: the bot leaves the branch alone (`{RERENDER_COMMAND}` or the "
    f"{RERUN_LABEL} label re-render it on top of their commits)"
)
REFUSED = "the branch holds a commit the bot did not make, or moved while the bot ran: left alone"


def _migrate(
    client: GitHubClient,
    org: str,
    view: FeedstockView,
    *,
    decision: Decision,
    target: XBuildEnv,
    pinned: XBuildEnv | None,
    metadata: str | None,
    status_url: str,
) -> Action:
    """Re-render a shallow clone for ``target`` in a child process that holds no secret, push
    it to the migration's branch unless that holds a commit the bot did not make, and make
    sure exactly one pull request shows it.

    The branch is the default branch's head plus one commit of the bot's, replaced as the
    render changes; once maintainers pushed to it, only ``bot-rerun`` (or the rerender
    command) adds a re-render, on top of their commits.

    A closed pull request labelled ``bot-rerun`` is re-opened first (before anything is
    pushed). GitHub refuses (422) when its branch was deleted, force-pushed or recreated since
    it closed: then a new pull request opens from the refreshed branch (on top of the
    maintainers' commits when the branch's tip is theirs), its text links the old one, and the
    old one loses the label.
    """
    from smithy.github.register import git_auth_env

    name, branch, url = view.feedstock.name, branch_for(target), view.repo.clone_url
    read = git_auth_env(client, url) if view.repo.private else {}
    remote = Remote(url, branch, read, git_auth_env(client, url))
    pull, replaced, reopened = bring_back(client, view, decision.pull)
    alive = pull is not None and (pull.open or reopened)
    on_top = alive and pull is not None and pull.edited
    if alive and pull is not None:  # over the head the survey read, and no other commit
        guard = Guard(pull.head)
    else:  # over no branch, a run's leftover, or a merged pull request's head
        guard = Guard(pull.head if pull else "", leftover=True)
    tmp = Path(tempfile.mkdtemp(prefix="smithy-bot-"))
    try:
        local = clone(remote, tmp / name, branch=branch if on_top else None)
        if on_top and pull is not None:  # the branch must be what the survey read
            head = local.git("rev-parse", "HEAD", what="read the clone").strip()
            if head != pull.head:
                return Action(name, "skipped", REFUSED, pull.number)
        theirs = check_out_theirs(local, remote) if replaced is not None else None
        if theirs is not None:  # a maintainer's branch: the render goes on top, kept
            guard = Guard(theirs)
        rendered = rerender_in_child(local.root, xbuildenv=target.version, metadata=metadata)
        commit = rendered.commit
        what = f"push {branch} to {view.repo.full_name}"
        outcome = "unchanged" if commit is None else push(local, remote, guard, what=what)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if outcome == "refused":
        return Action(name, "skipped", REFUSED, pull.number if pull else None)
    if alive and pull is not None:
        if RERUN_LABEL in pull.labels:
            unlabel(client, view, pull.number)
        how = " on top of the maintainers' commits" if on_top else ""
        done = (
            ("reopened", f"labelled {RERUN_LABEL}")
            if reopened
            else (outcome, f"pull request #{pull.number}{how}")
        )
        return Action(name, *done, pull.number)
    if commit is None and theirs is None:
        return Action(name, "unchanged", "re-rendering changes nothing")
    body = pull_body(
        target,
        pinned,
        status_url=status_url,
        waited_for=decision.waited_for,
        feedstock=name,
        replaces=replaced.number if replaced is not None else None,
        build_number=rendered.build_number,
    )
    action = open_pull(client, org, view, branch=branch, title=title_for(target), body=body)
    if replaced is not None and RERUN_LABEL in replaced.labels:
        unlabel(client, view, replaced.number)
    if action.pull is not None:
        automerge_pull(client, view, action.pull)
    return action


def automerge_pull(client: GitHubClient, view: FeedstockView, number: int) -> None:
    """Turn on GitHub's auto-merge for a pull request the bot just opened, when the feedstock
    opted in (``bot.automerge``) and its recipe tests something; a refusal is said, not fatal."""
    from smithy import console
    from smithy.github.automerge import enable_automerge, wants_automerge

    f = view.feedstock
    if not wants_automerge(f.automerge, f.has_tests):
        return
    done = enable_automerge(client, view.repo.full_name, number)
    if not done.enabled:
        console.warn(f"{f.name}: auto-merge not enabled on #{number}: {done.reason}")


def bring_back(
    client: GitHubClient, view: FeedstockView, pull: Pull | None
) -> tuple[Pull | None, Pull | None, bool]:
    """For a closed pull request (labelled bot-rerun): (it, None, True) once re-opened, or
    (None, it, False) when GitHub will not re-open it and a new one must replace it."""
    if pull is None or pull.open or pull.merged:
        return pull, None, False
    if reopen(client, view, pull.number):
        return pull, None, True
    return None, pull, False


def reopen(client: GitHubClient, view: FeedstockView, number: int) -> bool:
    """Re-open pull request ``number`` (before anything is pushed: GitHub refuses to re-open
    one whose branch was force-pushed or recreated); False when GitHub refuses (422)."""
    from github import GithubException

    full_name = view.repo.full_name
    try:
        with github_errors(f"re-open #{number} of {full_name}", client):
            client.github.get_repo(full_name).get_pull(number).edit(state="open")
    except GitHubError as exc:
        error = exc.__context__
        if isinstance(error, GithubException) and error.status == 422:
            return False
        raise
    return True


def unlabel(client: GitHubClient, view: FeedstockView, number: int) -> None:
    """The request is done: take its label off (someone may have already: 404 "Label does not
    exist", which PyGithub leaves a plain GithubException)."""
    from github import GithubException

    full_name = view.repo.full_name
    try:
        with github_errors(f"remove the {RERUN_LABEL} label of #{number} of {full_name}", client):
            client.github.get_repo(full_name).get_pull(number).remove_from_labels(RERUN_LABEL)
    except GitHubError as exc:
        error = exc.__context__
        if not (isinstance(error, GithubException) and error.status == 404):
            raise


def open_pull(
    client: GitHubClient,
    org: str,
    view: FeedstockView,
    *,
    branch: str,
    title: str,
    body: str,
) -> Action:
    from github import GithubException

    name, full_name = view.feedstock.name, view.repo.full_name
    gh_repo = client.github.get_repo(full_name)
    try:
        with github_errors(f"open a pull request on {full_name}", client):
            pr: PullRequest = gh_repo.create_pull(
                base=view.repo.default_branch,
                head=branch,
                title=title,
                body=body,
                maintainer_can_modify=True,
            )
        return Action(name, "opened", pr.html_url or "", pr.number)
    except GitHubError as exc:
        error = exc.__context__
        if not (isinstance(error, GithubException) and error.status == 422):
            raise
    with github_errors(f"find the pull request of {full_name}", client):  # another run won
        for found in gh_repo.get_pulls(state="open", head=f"{org}:{branch}"):
            return Action(name, "adopted", found.html_url or "", found.number)
    raise GitHubError(f"GitHub refused the pull request on {full_name} and none is open")
