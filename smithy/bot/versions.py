"""``bot versions``: a pull request for each feedstock whose upstream released a newer version.

Per run: the org's feedstocks (one GraphQL query per 100 repositories), the package index (one
conditional request per feedstock, concurrent, see ``smithy.versions.index``), the bot's
version pull requests (one more query per 100), then per feedstock the pure decision
(``version_plan``) and, for those that need one, a pull request on the fixed branch
``pyodide-smithy/version-<V>``: the recipe's version, source URL and sha256 replaced (the file
the index lists, the same kind of source as before), then rerendered in a child process that
holds no secret, for the feedstock's *current* xbuildenv pin. So a version pull request never
moves the pin and a migration pull request never moves the version: they do not fight, and
whichever merges second is refreshed (migrations by the next ``bot run``, a version pull request
by ``bot-rerun`` or the rerender comment). Rerender resets ``build-number`` to 0 for the new
version.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smithy.bot.branch import Guard, Remote, check_out_theirs, clone, push
from smithy.bot.github_view import FeedstockView, list_repos, read_feedstocks, read_version_pulls
from smithy.bot.isolation import child_environment, rerender_in_child
from smithy.bot.plan import RERUN_LABEL, Pull, shard_of
from smithy.bot.run import (
    Action,
    actions_run_url,
    automerge_pull,
    bring_back,
    open_pull,
    unlabel,
)
from smithy.bot.version_plan import (
    VersionDecision,
    VersionState,
    branch_for_version,
    decide,
    version_of_branch,
)
from smithy.errors import SmithyError
from smithy.github.client import GitHubClient, github_errors

if TYPE_CHECKING:
    from smithy.gitio import LocalRepo
    from smithy.recipe.pypi_index import IndexFile
    from smithy.versions.index import IndexClient
    from smithy.versions.select import Update
    from smithy.xbuildenv import Catalog

META = "recipe/meta.yaml"


@dataclass
class VersionsResult:
    org: str
    decisions: list[VersionDecision] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    index_requests: int = 0
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "org": self.org,
            "run_url": actions_run_url(),
            "dry_run": self.dry_run,
            "index_requests": self.index_requests,
            "decisions": [d.to_json() for d in self.decisions],
            "actions": [a.to_json() for a in self.actions],
        }


def run_versions(
    org: str,
    *,
    index_url: str | None = None,
    metadata: str | None = None,
    dry_run: bool = False,
    max_prs: int | None = None,
    shard: tuple[int, int] | None = None,
) -> VersionsResult:
    """One pass of version updates over ``org``; see the module docstring."""
    from smithy.github.client import make_client

    client = make_client(forget_key=True)
    views, unreadable = read_feedstocks(client, org, list_repos(client, org))
    if shard is not None:
        views = [v for v in views if shard_of(v.feedstock.name, shard[1]) == shard[0]]
    from smithy.versions.index import IndexClient
    from smithy.xbuildenv import load_catalog

    index = IndexClient(index_url)
    decisions = survey_versions(client, org, views, index=index, catalog=load_catalog(metadata))
    decisions += [
        VersionDecision(feedstock=u.repo.name, state=VersionState.FAILED, reason=u.reason)
        for u in unreadable
    ]
    result = VersionsResult(org, decisions, dry_run=dry_run)
    by_name = {v.feedstock.name: v for v in views}
    opened = 0
    for d in decisions:
        view = by_name.get(d.feedstock)
        if view is None:
            continue
        if d.state is not VersionState.READY:
            if d.superseded and not dry_run and d.state is VersionState.UP_TO_DATE:
                _close_superseded(client, view, d, by=None)
            continue
        if dry_run:
            result.actions.append(Action(d.feedstock, "would open", d.reason))
            continue
        if d.pull is None and max_prs is not None and opened >= max_prs:
            result.actions.append(Action(d.feedstock, "skipped", f"--max-prs {max_prs} reached"))
            continue
        try:
            action = _update(client, org, view, d, metadata=metadata, index=index)
        except SmithyError as exc:
            action = Action(d.feedstock, "failed", str(exc))
        opened += action.action in ("opened", "reopened")
        result.actions.append(action)
    result.index_requests = index.requests
    return result


def survey_versions(
    client: GitHubClient,
    org: str,
    views: list[FeedstockView],
    *,
    index: IndexClient,
    catalog: Catalog | None = None,
) -> list[VersionDecision]:
    """Each feedstock's version decision: one index request per followed project (``index``
    counts them), one GraphQL query per 100 feedstocks for their version pull requests.
    ``catalog`` (the xbuildenvs) lets it propose upstream's own Pyodide wheels: a feedstock
    building an sdist whose target version upstream publishes a wheel of for the pinned ABI."""
    followed = {v.feedstock.name: project for v in views if (project := _project(v)) is not None}
    unread: dict[str, SmithyError] = {}
    pages = index.projects(sorted(set(followed.values())), errors=unread)
    updates: dict[str, Update | None] = {}
    switches: dict[str, IndexFile] = {}
    problems: dict[str, str] = {}
    elsewhere: set[str] = set()
    for view in views:
        name = view.feedstock.name
        if name not in followed:
            continue
        if (failure := unread.get(followed[name])) is not None:
            problems[name] = f"the package index could not be read: {failure}"
            continue
        if view.feedstock.version_updates and pages.get(followed[name]) is None:
            continue  # not on the index (404): not-checked, said below
        if view.feedstock.version_updates and not _from_index(view, pages[followed[name]]):
            elsewhere.add(name)  # named like the project's file, but not one the index lists
            continue
        try:
            updates[name] = _newest(view, pages.get(followed[name]))
            wheel = _upstream_wheel(view, pages.get(followed[name]), updates[name], catalog)
        except SmithyError as exc:
            problems[name] = str(exc)
            continue
        if wheel is not None:
            switches[name] = wheel
            found = updates[name]
            version = found.version if found else view.feedstock.version
            updates[name] = _to_wheel(view, followed[name], wheel, version)
    wanted = {
        view.repo.name: branch_for_version(u.version) if (u := updates.get(name)) else None
        for view in views
        if (name := view.feedstock.name) in updates
    }
    pulls = read_version_pulls(client, org, wanted) if wanted else {}
    decisions = []
    for view in views:
        f = view.feedstock
        if f.name in problems:
            decisions.append(_failed(f.name, f.version, problems[f.name]))
            continue
        if f.name not in followed or (f.version_updates and f.name not in updates):
            decisions.append(_not_checked(view, elsewhere=f.name in elsewhere))
            continue
        target, opens = pulls.get(view.repo.name, (None, {}))
        versions = {v: p for b, p in opens.items() if (v := version_of_branch(b)) is not None}
        decisions.append(
            decide(
                f,
                updates.get(f.name),
                target_pull=target,
                open_version_pulls=versions,
                switch=switches.get(f.name),
            )
        )
    return decisions


def _project(view: FeedstockView) -> str | None:
    """The index project a feedstock follows: its package, when the recipe's source is one of
    that project's files on an index (a wheel or sdist named for it); else None."""
    from smithy.platform import InvalidWheelName, parse_wheel_name
    from smithy.recipe.model import normalize

    f = view.feedstock
    if not f.version_updates:
        return normalize(f.outputs[0])
    filename = f.source.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    project = normalize(f.outputs[0])
    if filename.endswith(".whl"):
        try:
            return project if parse_wheel_name(filename).project == project else None
        except InvalidWheelName:
            return None
    from packaging.utils import InvalidSdistFilename, parse_sdist_filename

    try:
        name = parse_sdist_filename(filename)[0]
    except (InvalidSdistFilename, ValueError):
        return None
    return project if normalize(str(name)) == project else None


def _newest(view: FeedstockView, files: list[IndexFile] | None) -> Update | None:
    from smithy.versions.select import newest

    f = view.feedstock
    if not f.version_updates or files is None:
        return None
    filename = f.source.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return newest(
        files,
        current=f.version,
        current_filename=filename,
        prereleases=f.version_prereleases,
        constraint=f.versions,
    )


def _upstream_wheel(
    view: FeedstockView, files: list[IndexFile] | None, update: Update | None, catalog: Any
) -> IndexFile | None:
    """Upstream's Pyodide wheel of the version the feedstock would build, for its pinned
    xbuildenv's ABI, when its recipe builds an sdist; else None."""
    from smithy.recipe.upstream import pyodide_wheel

    f = view.feedstock
    if catalog is None or not files or f.source.split("?", 1)[0].endswith(".whl"):
        return None
    try:
        pinned = catalog.get(f.xbuildenv)
    except SmithyError:
        return None
    return pyodide_wheel(files, update.version if update else f.version, pinned)


def _to_wheel(view: FeedstockView, project: str, wheel: IndexFile, version: str) -> Update:
    """``version`` (the newest, or the current one) from upstream's Pyodide wheel."""
    from smithy.versions.select import Update

    return Update(
        name=project,
        current=view.feedstock.version,
        version=version,
        filename=wheel.filename,
        url=wheel.url,
        sha256=wheel.sha256,
        kind="wheel",
    )


def _failed(name: str, version: str, reason: str) -> VersionDecision:
    return VersionDecision(
        feedstock=name, state=VersionState.FAILED, reason=reason, current=version
    )


def _from_index(view: FeedstockView, files: list[IndexFile] | None) -> bool:
    """Whether the recipe's source is one of the files the index lists (by sha256): a GitHub
    archive named like an sdist of the project is not, and is not followed."""
    from smithy.versions.select import source_on_index

    sha = view.feedstock.source_sha256
    return bool(files) and bool(sha) and source_on_index(files or [], sha) is not None


def _not_checked(view: FeedstockView, *, elsewhere: bool = False) -> VersionDecision:
    f = view.feedstock
    if elsewhere:
        why = (
            f"the recipe's source ({f.source}) is not a file the package index lists (no file "
            "there has its sha256): not followed"
        )
    elif not f.source:
        why = "the recipe's source is a path, not a release on the package index"
    elif _project(view) is None:
        why = f"the recipe's source ({f.source}) is not a file of the package index"
    else:
        why = f"{f.outputs[0]} is not on the package index"
    return VersionDecision(
        feedstock=f.name, state=VersionState.NOT_CHECKED, reason=why, current=f.version
    )


def _update(
    client: GitHubClient,
    org: str,
    view: FeedstockView,
    decision: VersionDecision,
    *,
    metadata: str | None,
    index: IndexClient,
) -> Action:
    """Push the version's branch (main + the recipe edit + the render) and make sure one pull
    request shows it; close the older versions' pull requests it supersedes."""
    from smithy.bot.version_text import gather_report, version_body, version_title
    from smithy.github.register import git_auth_env

    assert decision.update is not None
    update, f = decision.update, view.feedstock
    name, branch, url = f.name, branch_for_version(update.version), view.repo.clone_url
    read = git_auth_env(client, url) if view.repo.private else {}
    remote = Remote(url, branch, read, git_auth_env(client, url))
    pull, replaced, reopened = bring_back(client, view, decision.pull)
    alive = pull is not None and (pull.open or reopened)
    guard = Guard(pull.head) if alive and pull else Guard(pull.head if pull else "", leftover=True)
    tmp = Path(tempfile.mkdtemp(prefix="smithy-bot-"))
    try:
        local = clone(remote, tmp / name)
        theirs = check_out_theirs(local, remote) if replaced is not None else None
        if theirs is not None:
            guard = Guard(theirs)
        meta = local.root / META
        before = meta.read_text(encoding="utf-8")
        dropped = _edit_recipe(local, before, decision)
        identity = child_environment()
        local.git("commit", "-q", "-am", f"{f.outputs[0]} {update.version}", what="commit the "
                  "recipe", env=identity)  # fmt: skip
        rendered = rerender_in_child(local.root, xbuildenv=f.xbuildenv, metadata=metadata)
        report = gather_report(local.root, before, update, index_url=None, index=index)
        outcome = push(local, remote, guard, what=f"push {branch} to {view.repo.full_name}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if outcome == "refused":
        return Action(name, "skipped", "the branch holds a commit the bot did not make: left "
                      "alone", pull.number if pull else None)  # fmt: skip
    if alive and pull is not None:
        if RERUN_LABEL in pull.labels:
            unlabel(client, view, pull.number)
        _close_superseded(client, view, decision, by=pull)
        return Action(name, "reopened" if reopened else outcome, f"pull request #{pull.number}",
                      pull.number)  # fmt: skip
    body = version_body(
        f,
        update,
        report,
        build_number=rendered.build_number,
        replaces=replaced.number if replaced is not None else None,
        switch=dropped,
    )
    action = open_pull(client, org, view, branch=branch, title=version_title(f, update), body=body)
    if replaced is not None and RERUN_LABEL in replaced.labels:
        unlabel(client, view, replaced.number)
    if action.pull is not None:
        automerge_pull(client, view, action.pull)
        _close_superseded(client, view, decision, by=_opened(action))
    return action


def _edit_recipe(
    local: LocalRepo, before: str, decision: VersionDecision
) -> tuple[str, ...] | None:
    """Write the new recipe into the clone: the three tokens replaced, or, for upstream's
    Pyodide wheel, the wheel recipe (its dropped keys returned, the files only they named
    removed)."""
    from smithy.recipe.upstream import wheel_recipe
    from smithy.versions.recipe_edit import update_meta

    assert decision.update is not None
    meta = local.root / META
    if decision.switch is None:
        meta.write_text(update_meta(before, decision.update, meta), encoding="utf-8")
        return None
    switched = wheel_recipe(before, decision.switch, meta)
    meta.write_text(switched.meta_yaml, encoding="utf-8")
    for name in switched.left_out:
        local.git("rm", "-q", "--", f"recipe/{name}", what=f"remove recipe/{name}")
    return switched.dropped


def _opened(action: Action) -> Pull:
    """The pull request just opened, as the superseded ones' comment names it."""
    return Pull(number=action.pull or 0, open=True, merged=False, url=action.detail)


def _close_superseded(
    client: GitHubClient, view: FeedstockView, decision: VersionDecision, *, by: Pull | None
) -> None:
    """Close the open pull requests of older (or obsolete) versions, each with a comment naming
    what replaces it."""
    gh_repo = None
    for version, old in decision.superseded:
        if by is not None and old.number == by.number:
            continue
        if by is not None:
            text = (
                f"Superseded by #{by.number} ({decision.newest}): closing this one for {version}."
            )
        else:
            text = (
                f"No longer proposed: the default branch is at {decision.current}, and {version} "
                "is not the newest release this feedstock takes (already merged by hand, "
                "yanked, or outside `bot.versions`). Closing it."
            )
        with github_errors(f"close #{old.number} of {view.repo.full_name}", client):
            gh_repo = gh_repo or client.github.get_repo(view.repo.full_name)
            pr = gh_repo.get_pull(old.number)
            pr.create_issue_comment(text)
            pr.edit(state="closed")
