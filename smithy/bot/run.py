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

from smithy.bot.github_view import FeedstockView
from smithy.bot.plan import RERUN_LABEL, Decision, State, branch_for, shard_of, status_url_for
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
        view, target = by_name[d.feedstock], targets[d.feedstock]
        refresh = d.state == State.PR_OPEN
        if dry_run:
            what = "would refresh" if refresh else "would open"
            result.actions.append(Action(d.feedstock, what, pull=d.pull.number if d.pull else None))
            continue
        if not refresh and max_prs is not None and opened >= max_prs:
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
    """Re-render a shallow clone for ``target``, push it to the migration's branch, and make
    sure exactly one pull request shows it."""
    from smithy.feedstock.rerender import run_rerender
    from smithy.github.register import git_auth_env
    from smithy.gitio import open_repo

    name, branch = view.feedstock.name, branch_for(target)
    url = view.repo.clone_url
    env = git_auth_env(client, url)
    tmp = Path(tempfile.mkdtemp(prefix="smithy-bot-"))
    try:
        clone = tmp / name
        _git(tmp, "clone", "--quiet", "--depth", "1", url, str(clone), env=env)
        try:
            rerendered = run_rerender(clone, xbuildenv=target.version, metadata=metadata)
        except SmithyError as exc:  # name the file as it is in the repository, not in the clone
            if exc.file and Path(exc.file).is_relative_to(clone):
                exc.file = Path(exc.file).relative_to(clone).as_posix()
            raise
        local = open_repo(clone)
        if local is None:
            raise GitHubError(f"cannot open the clone of {name}")
        title = title_for(target)
        if rerendered.commit is None:
            return Action(name, "unchanged", "re-rendering changes nothing")
        tree = local.git("rev-parse", "HEAD^{tree}", what="read the tree").strip()
        pushed = _push(
            local, url, branch, tree, env, what=f"push {branch} to {view.repo.full_name}"
        )
        if decision.state == State.PR_OPEN and decision.pull is not None:
            what = "pushed" if pushed else "unchanged"
            return Action(name, what, f"pull request #{decision.pull.number}", decision.pull.number)
        gh_repo = client.github.get_repo(view.repo.full_name)
        pull = decision.pull
        if pull is not None and not pull.open and not pull.merged:
            with github_errors(f"re-open #{pull.number} of {view.repo.full_name}", client):
                pr = gh_repo.get_pull(pull.number)
                pr.edit(state="open")
                if RERUN_LABEL in pull.labels:
                    pr.remove_from_labels(RERUN_LABEL)
            return Action(name, "reopened", f"labelled {RERUN_LABEL}", pull.number)
        body = pull_body(
            target, pinned, status_url=status_url, waited_for=decision.waited_for, feedstock=name
        )
        return _open_pull(client, org, view, branch=branch, title=title, body=body)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _git(cwd: Path, *args: str, env: dict[str, str]) -> str:
    import os
    import subprocess

    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=os.environ | env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        message = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise GitHubError(f"git {args[0]} failed: {message}")
    return done.stdout


def _push(local: Any, url: str, branch: str, tree: str, env: dict[str, str], *, what: str) -> bool:
    """Force-push HEAD to ``branch`` unless its tip already holds ``tree``; True when pushed.

    A concurrent run may hold the ref's lock: look again (it may have pushed the same tree),
    then try once more.
    """
    import time

    from smithy.errors import GitError

    for attempt in range(3):
        if _branch_tree(local, url, branch, env) == tree:
            return False
        try:
            local.git(
                "push", "--quiet", "--force", url, f"HEAD:refs/heads/{branch}", what=what, env=env
            )  # fmt: skip
        except GitError:
            if attempt == 2:
                raise
            time.sleep(0.5 * (attempt + 1))
        else:
            return True
    return False


def _branch_tree(local: Any, url: str, branch: str, env: dict[str, str]) -> str | None:
    """The tree at the tip of ``branch`` on the remote, or None when there is no such branch."""
    from smithy.errors import GitError

    heads = local.git("ls-remote", url, f"refs/heads/{branch}", what="list the remote", env=env)
    if not heads.strip():
        return None
    ref = "refs/pyodide-smithy/bot-branch"
    try:
        local.git(
            "fetch", "--quiet", "--no-tags", "--depth", "1", url, f"+refs/heads/{branch}:{ref}",
            what=f"fetch {branch}", env=env,
        )  # fmt: skip
        return str(local.git("rev-parse", f"{ref}^{{tree}}", what="read the tree").strip())
    except GitError:
        return None


def _open_pull(
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


def title_for(target: XBuildEnv) -> str:
    return f"MNT: Re-render for xbuildenv {target.version}"


def pull_body(
    target: XBuildEnv,
    pinned: XBuildEnv | None,
    *,
    feedstock: str,
    status_url: str,
    waited_for: tuple[str, ...] = (),
) -> str:
    """What changed, why now, where the migration stands, and what closing the PR means."""
    from smithy.feedstock.init import pyodide_build_for

    def row(what: str, old: str | None, new: str) -> str:
        return f"| {what} | {old or '?'} | {new} |"

    abi_change = pinned is not None and target.abi_breaking_from(pinned)
    lines = [
        f"Re-render this feedstock for the Pyodide cross-build environment {target.version}.",
        "",
        "| | now | after |",
        "| --- | --- | --- |",
        row("xbuildenv", pinned.version if pinned else None, target.version),
        row("Python", pinned.python_version if pinned else None, target.python_version),
        row(
            "Emscripten",
            pinned.emscripten_version if pinned else None,
            target.emscripten_version,
        ),
        row(
            "pyodide-build",
            pyodide_build_for(pinned) if pinned else None,
            pyodide_build_for(target),
        ),
        "",
        "**The ABI changes**: wheels must be rebuilt, and feedstocks that depend on this one "
        "wait until its new wheels are published."
        if abi_change
        else "The ABI does not change.",
        "",
        *(
            [
                "This pull request waited until these feedstocks published wheels for the new "
                "ABI: " + ", ".join(f"`{d}`" for d in waited_for) + ".",
                "",
            ]
            if waited_for
            else []
        ),
        f"Where every feedstock stands in this migration: {status_url}?feedstock={feedstock}",
        "",
        "Closing this pull request without merging declines the migration: the bot will leave "
        f"this feedstock alone until the `{RERUN_LABEL}` label is added or the pull request "
        "is re-opened.",
        "",
        "_Opened by pyodide-smithy bot._",
    ]
    return "\n".join(lines)
