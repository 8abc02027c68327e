"""Staged recipes: new recipes proposed to the admin repository under ``recipes/<name>/``.

A pull request's recipes are checked as a feedstock's own CI checks its recipe: ``stage_init``
makes the feedstock in a folder of its own and says what that CI needs before it builds. Once
merged, ``run_stage_merge`` makes each recipe a registered feedstock and takes it out of
``recipes/`` in a commit of its own. Every step may be repeated: a re-run skips what an earlier
run finished, and never makes a second repository.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from smithy import console
from smithy.errors import GitError, SmithyError, UsageError
from smithy.gitio import DEFAULT_BRANCH, LocalRepo

if TYPE_CHECKING:
    from github.Repository import Repository

    from smithy.github.client import GitHubClient

META = "meta.yaml"
FEEDSTOCK_META = "recipe/meta.yaml"
PUSH_TRIES = 3
State = Literal["registered", "exists", "failed"]


def ci_facts(feedstock: Path) -> dict[str, str]:
    """What the feedstock's CI must know before it builds (the values its build.yml is rendered
    with): the host Python, pyodide-build, the xbuildenv and Emscripten, and whether it needs
    Emscripten and runs tests. Every value is one the feedstock's settings or Pyodide's
    metadata already passed through their checks."""
    from smithy.build.core import read_feedstock
    from smithy.render.context import make_context

    fs = read_feedstock(feedstock)
    context = make_context(fs.recipe, fs.config, fs.xbuildenv)
    return {
        "name": fs.recipe.name,
        "version": fs.recipe.version,
        "kind": context.kind.value,
        "python": fs.xbuildenv.python_version,
        "pyodide_build": fs.config.pyodide_build,
        "xbuildenv": fs.xbuildenv.version,
        "emscripten": fs.xbuildenv.emscripten_version,
        "needs_emscripten": str(context.kind.needs_emscripten).lower(),
        "runs_tests": str(context.runs_tests).lower(),
    }


def stage_init(
    recipe: Path, output: Path, *, channel: str | None = None, metadata: str | None = None
) -> dict[str, str]:
    """``init`` of the staged recipe folder ``recipe`` into ``output``; its :func:`ci_facts`."""
    from smithy.feedstock.init import run_init

    made = run_init(str(recipe), output=output, channel=channel, metadata=metadata)
    return ci_facts(made.feedstock)


@dataclass(frozen=True)
class StagedOutcome:
    """What became of one staged recipe: its feedstock ``registered`` now, or one that
    ``exists`` already with this recipe; ``removed`` once ``recipes/<name>`` is gone."""

    recipe: str
    repo: str | None
    state: State
    detail: str
    removed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe,
            "repo": self.repo,
            "state": self.state,
            "detail": self.detail,
            "removed": self.removed,
        }


@dataclass(frozen=True)
class StageMergeResult:
    org: str
    outcomes: tuple[StagedOutcome, ...]

    @property
    def ok(self) -> bool:
        return all(o.state != "failed" and o.removed for o in self.outcomes)

    def to_json(self) -> dict[str, Any]:
        return {"org": self.org, "ok": self.ok, "recipes": [o.to_json() for o in self.outcomes]}


@dataclass(frozen=True)
class _Admin:
    """The clone of the admin repository, where its branch is pushed, and who pushes."""

    clone: LocalRepo
    remote: str
    branch: str
    client: GitHubClient

    def auth(self) -> dict[str, str]:
        from smithy.github.register import git_auth_env

        return git_auth_env(self.client, self.remote)


def staged_recipes(recipes: Path) -> list[Path]:
    """The recipe folders under ``recipes`` (each with a meta.yaml), by name."""
    if not recipes.is_dir():
        return []
    found = (p for p in recipes.iterdir() if p.is_dir() and not p.is_symlink())
    return sorted((p for p in found if (p / META).is_file()), key=lambda p: p.name)


def run_stage_merge(
    recipes: Path, *, org: str, channel: str | None = None, metadata: str | None = None
) -> StageMergeResult:
    """Register a feedstock for every recipe under ``recipes`` (a folder of a clone of the
    admin repository), then remove the recipe in a commit pushed to the clone's branch.

    A recipe whose feedstock already exists with the same recipe is not made again: its
    registration is finished (protection, auto-merge) and the recipe removed. A recipe that
    fails is kept for the next run and the others go on. GitHub credentials as for
    register-github.
    """
    from smithy.github.client import make_client

    if not recipes.is_dir():  # the last recipe's removal took the folder away
        console.info(f"no staged recipes: {recipes} is no folder")
        return StageMergeResult(org=org, outcomes=())
    clone = _work_tree(recipes)
    remote = clone.git("remote", "get-url", "origin", what="read the origin remote").strip()
    # The key leaves the environment once read: nothing this run starts (git) inherits it.
    admin = _Admin(clone, remote, _branch(clone), make_client(forget_key=True))
    _catch_up(admin)  # a re-run's checkout may predate the removals of the run it repeats
    outcomes = []
    for folder in staged_recipes(recipes.absolute()):
        outcome = _merge_one(folder, admin.client, org=org, channel=channel, metadata=metadata)
        console.info(f"{folder.name}: {outcome.state} ({outcome.detail})")
        if outcome.state != "failed":
            outcome = _remove(admin, folder, outcome)
        outcomes.append(outcome)
    return StageMergeResult(org=org, outcomes=tuple(outcomes))


def _work_tree(recipes: Path) -> LocalRepo:
    probe = LocalRepo(recipes.absolute())
    try:
        top = probe.git("rev-parse", "--show-toplevel", what="find the admin repository")
    except GitError:
        raise UsageError("the staged recipes are not in a git clone", file=recipes) from None
    return LocalRepo(Path(top.strip()))


def _branch(admin: LocalRepo) -> str:
    try:
        name = admin.git("symbolic-ref", "--short", "-q", "HEAD", what="read the branch")
    except GitError:  # a detached checkout
        return DEFAULT_BRANCH
    return name.strip() or DEFAULT_BRANCH


def _merge_one(
    folder: Path, client: GitHubClient, *, org: str, channel: str | None, metadata: str | None
) -> StagedOutcome:
    from smithy.bot.bulk_github import same_recipe
    from smithy.feedstock.init import run_init
    from smithy.github.register import run_register
    from smithy.recipe.load import load_recipe

    repo_name: str | None = None
    try:
        recipe = load_recipe(folder)
        repo_name = f"{org}/{recipe.feedstock_name}"
        staged = (folder / META).read_text(encoding="utf-8")
        repo, held = _remote_recipe(client, repo_name)
        with tempfile.TemporaryDirectory(prefix="pyodide-smithy-stage-") as tmp:
            if held is not None and same_recipe(held, staged):
                return _finish(folder.name, repo, client=client, org=org, tmp=Path(tmp))
            made = run_init(
                str(folder), output=Path(tmp) / recipe.feedstock_name, channel=channel,
                metadata=metadata,
            )  # fmt: skip
            if held is not None:  # init may have made upstream's own wheel the source
                ours = (made.feedstock / FEEDSTOCK_META).read_text(encoding="utf-8")
                if not same_recipe(held, ours):
                    detail = f"{repo_name} exists and holds another recipe: left staged"
                    return StagedOutcome(folder.name, repo_name, "failed", detail)
                return _finish(folder.name, repo, client=client, org=org, tmp=Path(tmp))
            done = run_register(made.feedstock, org=org, secret_token=None, client=client)
    except (SmithyError, OSError, UnicodeDecodeError) as exc:
        return StagedOutcome(folder.name, repo_name, "failed", str(exc))
    how = "created" if done.created else "pushed to the empty repository"
    return StagedOutcome(folder.name, done.repo, "registered", f"{how}, {done.html_url}")


def _remote_recipe(client: GitHubClient, full_name: str) -> tuple[Repository | None, str | None]:
    """The repository ``full_name`` (None if there is none) and the recipe/meta.yaml its
    default branch holds (None if empty or without one)."""
    from github import GithubException, UnknownObjectException

    from smithy.github.client import github_errors

    repo = client.github.get_repo(full_name)  # lazy: the attribute access below is the GET
    with github_errors(f"look up {full_name}", client):
        try:
            branch = repo.default_branch
        except UnknownObjectException:
            return None, None
        try:
            found = repo.get_contents(FEEDSTOCK_META, ref=branch)
        except GithubException as exc:
            if exc.status in (404, 409):  # no such file; an empty repository
                return repo, None
            raise
    if isinstance(found, list):
        return repo, None
    return repo, found.decoded_content.decode("utf-8", errors="replace")


def _finish(
    name: str, repo: Repository | None, *, client: GitHubClient, org: str, tmp: Path
) -> StagedOutcome:
    """The feedstock exists with this recipe (an earlier run made it): register-github on a
    clone of it finishes what that run may not have (protection, auto-merge), pushing
    nothing."""
    from smithy.github.client import github_errors
    from smithy.github.register import git_auth_env, run_register

    assert repo is not None
    with github_errors(f"read {repo.full_name}", client):
        url = str(repo.clone_url)
    clone = tmp / "clone"
    auth = git_auth_env(client, url)
    LocalRepo(tmp).git("clone", "--quiet", url, str(clone), what="clone the feedstock", env=auth)
    done = run_register(clone, org=org, secret_token=None, client=client)
    return StagedOutcome(name, done.repo, "exists", f"already registered, {done.html_url}")


def _remove(admin: _Admin, folder: Path, outcome: StagedOutcome) -> StagedOutcome:
    """``recipes/<name>`` removed in one commit, pushed; the outcome says whether it is."""
    import dataclasses

    from smithy import gitio

    path = folder.relative_to(admin.clone.root).as_posix()
    message = f"Remove the staged recipe {folder.name}: it is {outcome.repo} now [skip ci]\n"
    try:
        shutil.rmtree(folder)
        gitio.commit_paths(admin.clone, [path], message)
        _push(admin)
    except SmithyError as exc:
        detail = f"{outcome.detail}; not removed: {exc}"
        return dataclasses.replace(outcome, detail=detail)
    return dataclasses.replace(outcome, removed=True)


def _push(admin: _Admin) -> None:
    """Push HEAD to the branch; when the branch moved meanwhile, rebase onto it and try again."""
    for attempt in range(PUSH_TRIES):
        try:
            admin.clone.git(
                "push", "--quiet", admin.remote, f"HEAD:refs/heads/{admin.branch}",
                what=f"push to {admin.branch}", env=admin.auth(),
            )  # fmt: skip
            return
        except GitError:
            if attempt == PUSH_TRIES - 1:
                raise
            _catch_up(admin)


def _catch_up(admin: _Admin) -> None:
    """Rebase the clone onto the remote branch (a commit of this run's whose change the branch
    already holds drops out), so that recipes removed meanwhile are not seen again."""
    clone, branch = admin.clone, admin.branch
    clone.git(
        "fetch", "--quiet", "--no-tags", admin.remote, f"refs/heads/{branch}",
        what=f"fetch {branch}", env=admin.auth(),
    )  # fmt: skip
    try:
        clone.git("merge-base", "--is-ancestor", "FETCH_HEAD", "HEAD", what="compare histories")
        return
    except GitError:
        pass
    try:
        clone.git("rebase", "--quiet", "FETCH_HEAD", what=f"rebase onto {branch}")
    except GitError:
        clone.git("rebase", "--abort", what="abandon the rebase")
        raise
