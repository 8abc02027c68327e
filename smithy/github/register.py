"""``register-github``: create ``ORG/<name>-feedstock``, push, protect, allow auto-merge, set the
upload secret."""

from __future__ import annotations

import base64
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smithy.errors import GitError
from smithy.github.access import ADMIN_NEEDED, SECRET_NEEDED, check_access
from smithy.github.client import GitHubClient, GitHubError, github_errors, make_client
from smithy.gitio import DEFAULT_BRANCH, LocalRepo, open_repo

if TYPE_CHECKING:
    from github.Repository import Repository

SECRET_NAME = "ANACONDA_API_TOKEN"  # noqa: S105 - the secret's name, not a token
WORKFLOW = Path(".github/workflows/build.yml")
CHECKED_JOBS = ("build", "test")
TEMP_REF = "refs/pyodide-smithy/register-github"


@dataclass(frozen=True)
class RegisterResult:
    repo: str  # ORG/name-feedstock
    html_url: str
    sha: str  # the feedstock's commit the repository's default branch now holds
    created: bool
    pushed: bool
    protected_branch: str
    status_checks: tuple[str, ...]
    secret_set: bool
    auto_merge: bool  # the repository allows auto-merge (its PRs merge once checks pass)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["status_checks"] = list(self.status_checks)
        return out


def run_register(
    feedstock: Path, *, org: str, secret_token: str | None, client: GitHubClient | None = None
) -> RegisterResult:
    """Register ``feedstock`` as ``org``'s repository; idempotent but for the secret. The
    credentials' permissions are checked (``smithy.github.access``) before anything is made.

    ``client``: one to reuse (default: a new one from the environment), as ``bot import`` does,
    one per thread (a PyGithub client is not thread-safe) rather than one App token per
    repository. The steps run in a fixed order, create, push, protect, allow auto-merge, set
    the secret: ``bot import`` counts a repository that allows auto-merge as registered."""
    from smithy.feedstock.state import RECIPE_DIR, check_feedstock
    from smithy.recipe.load import load_recipe

    feedstock = feedstock.absolute()
    check_feedstock(feedstock)
    recipe = load_recipe(feedstock / RECIPE_DIR)
    local, sha = _clean_head(feedstock)
    checks = _status_checks(feedstock)
    client = client or make_client()
    full_name = f"{org}/{recipe.feedstock_name}"
    repo = _existing(client, full_name)
    check_access(client, full_name, repo, secret=bool(secret_token))
    created = repo is None
    if repo is None:
        repo = _create(client, org, recipe.feedstock_name, recipe.summary, recipe.home)
    with github_errors(f"read {full_name}", client):
        branch = repo.default_branch or DEFAULT_BRANCH
        clone_url, html_url = str(repo.clone_url), str(repo.html_url)
    pushed = _sync(local, client, clone_url, branch=branch, sha=sha, full_name=full_name)
    _set_origin(local, html_url)
    _protect(client, repo, full_name, branch, checks)
    auto_merge = _allow_auto_merge(client, repo, full_name)
    if secret_token:
        what = f"set the {SECRET_NAME} secret of {full_name}"
        with github_errors(what, client, needs=SECRET_NEEDED):
            repo.create_secret(SECRET_NAME, secret_token)
    return RegisterResult(
        repo=full_name,
        html_url=html_url,
        sha=sha,
        created=created,
        pushed=pushed,
        protected_branch=branch,
        status_checks=checks,
        secret_set=bool(secret_token),
        auto_merge=auto_merge,
    )


def _clean_head(feedstock: Path) -> tuple[LocalRepo, str]:
    """The feedstock's repository and the commit of its default branch; refuses a dirty one."""
    local = open_repo(feedstock)
    if local is None:
        raise GitHubError("the feedstock is not a git repository", file=feedstock)
    if local.git("status", "--porcelain", what="read the status").strip():
        raise GitHubError(
            "the feedstock has uncommitted changes: commit them first", file=feedstock
        )
    try:
        sha = local.git(
            "rev-parse",
            "--verify",
            "--quiet",
            f"refs/heads/{DEFAULT_BRANCH}^{{commit}}",
            what="read the default branch",
        ).strip()
    except GitError:
        sha = ""
    if not sha:
        raise GitHubError(f"the feedstock has no commits on {DEFAULT_BRANCH}", file=feedstock)
    return local, sha


def _status_checks(feedstock: Path) -> tuple[str, ...]:
    """The workflow's job ids that pull requests must pass: ``build``, and ``test`` if any."""
    from smithy.errors import FeedstockError
    from smithy.yamlio import load_yaml_text

    path = feedstock / WORKFLOW
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise FeedstockError(f"not a rendered feedstock: no {WORKFLOW}", file=feedstock) from None
    workflow = load_yaml_text(text, path, error=FeedstockError)
    jobs = workflow.get("jobs") if isinstance(workflow, dict) else None
    found = tuple(job for job in CHECKED_JOBS if isinstance(jobs, dict) and job in jobs)
    if not found:
        raise FeedstockError("the workflow has no build job", file=path, key="jobs")
    return found


def _existing(client: GitHubClient, full_name: str) -> Repository | None:
    from github import UnknownObjectException

    repo = client.github.get_repo(full_name)  # lazy: the attribute access below is the GET
    try:
        with github_errors(f"look up {full_name}", client):
            _ = repo.clone_url
    except GitHubError as exc:
        if isinstance(exc.__context__, UnknownObjectException):
            return None
        raise
    return repo


def _create(
    client: GitHubClient, org: str, name: str, summary: str | None, home: str | None
) -> Repository:
    options: dict[str, Any] = {"private": False, "has_issues": True}
    if summary:
        options["description"] = summary
    if home:
        options["homepage"] = home
    needs = "needs to be allowed to create repositories in the organization: Administration (write)"
    with github_errors(f"create {org}/{name}", client, needs=needs):
        return client.github.get_organization(org).create_repo(name, **options)


def _sync(
    local: LocalRepo, client: GitHubClient, url: str, *, branch: str, sha: str, full_name: str
) -> bool:
    """Push ``sha`` unless the remote branch already holds it; True when pushed. Refuses a
    repository whose branch holds history that is not this feedstock's."""
    env = git_auth_env(client, url)
    heads = local.git("ls-remote", url, f"refs/heads/{branch}", what="list the remote", env=env)
    if heads.strip():
        what = "fetch the repository's default branch"
        local.git(
            "fetch",
            "--quiet",
            "--no-tags",
            url,
            f"+refs/heads/{branch}:{TEMP_REF}",
            what=what,
            env=env,
        )
        try:
            if _is_ancestor(local, sha, TEMP_REF):
                return False
            if not _is_ancestor(local, TEMP_REF, sha):
                raise GitHubError(f"{full_name} exists and holds something else")
        finally:
            local.git("update-ref", "-d", TEMP_REF, what="drop the fetched ref")
    local.git(
        "push", "--quiet", url, f"{sha}:refs/heads/{branch}", what=f"push to {full_name}", env=env
    )
    return True


def _is_ancestor(local: LocalRepo, ancestor: str, descendant: str) -> bool:
    try:
        local.git("merge-base", "--is-ancestor", ancestor, descendant, what="compare histories")
    except GitError:
        return False
    return True


def git_auth_env(client: GitHubClient, url: str) -> dict[str, str]:
    """For http(s) remotes, the token as an ``http.extraheader`` passed through git's
    environment: never in the URL, the command line (``ps``) or any output."""
    if not url.startswith(("https://", "http://")):
        return {}
    basic = base64.b64encode(f"x-access-token:{client.token()}".encode()).decode()
    count = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)
    return {
        "GIT_CONFIG_COUNT": str(count + 1),
        f"GIT_CONFIG_KEY_{count}": "http.extraheader",
        f"GIT_CONFIG_VALUE_{count}": f"AUTHORIZATION: basic {basic}",
    }


def _set_origin(local: LocalRepo, html_url: str) -> None:
    try:
        local.git("remote", "get-url", "origin", what="read the origin remote")
    except GitError:
        local.git("remote", "add", "origin", f"{html_url}.git", what="add the origin remote")


def _protect(
    client: GitHubClient, repo: Repository, full_name: str, branch: str, checks: tuple[str, ...]
) -> None:
    """Checks up to date with the base, one approval, no force pushes or deletions."""
    required: list[str | tuple[str, int]] = list(checks)
    with github_errors(f"protect {branch} of {full_name}", client, needs=ADMIN_NEEDED):
        repo.get_branch(branch).edit_protection(
            strict=True,
            checks=required,
            enforce_admins=False,
            required_approving_review_count=1,
            allow_force_pushes=False,
            allow_deletions=False,
        )


def _allow_auto_merge(client: GitHubClient, repo: Repository, full_name: str) -> bool:
    """Turn on the repository's Allow auto-merge (``allow_auto_merge``, false by default) unless
    it is on, so that the bot may ask GitHub to merge its pull requests once the required
    checks pass (``smithy.github.automerge``); what GitHub then holds."""
    with github_errors(f"allow auto-merge on {full_name}", client, needs=ADMIN_NEEDED):
        if not repo.allow_auto_merge:
            repo.edit(allow_auto_merge=True)
        return bool(repo.allow_auto_merge)
