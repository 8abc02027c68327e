"""What ``register-github`` needs of its GitHub credentials, checked before anything is made.

An App installation (and a fine-grained token) acts with the permissions it was granted, not a
role (docs, "Permissions required for GitHub Apps"): creating the repository and protecting its
branch are Administration (write), the upload secret is Secrets (write), the push Contents
(write) and, for ``.github/workflows/``, Workflows (write). A classic token acts with its user's
role (protecting a branch "requires admin or owner permissions") within its scopes: ``repo``
(secrets "need the `repo` scope") and ``workflow`` (to push workflow files). GitHub tells an
App's permissions (``GET /app/installations/{id}``) and a classic token's scopes (the
``X-OAuth-Scopes`` header of every answer) but not a fine-grained token's: those are known only
when GitHub refuses, and the refusal names the permission (``github_errors``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from smithy.github.client import GitHubClient, GitHubError, github_errors

if TYPE_CHECKING:
    from github.Repository import Repository

LEVEL = {"read": 1, "write": 2, "admin": 3}


@dataclass(frozen=True)
class Permission:
    """One App permission: its API name, level and title (as the App's settings page shows
    it), and why register-github needs it."""

    name: str
    access: str
    title: str
    why: str

    def __str__(self) -> str:
        return f"{self.title} ({self.access})"


ADMINISTRATION = Permission(
    "administration", "write", "Administration", "to create the repository and protect main"
)
CONTENTS = Permission("contents", "write", "Contents", "to push the feedstock")
WORKFLOWS = Permission("workflows", "write", "Workflows", "to push its .github/workflows")
SECRETS = Permission("secrets", "write", "Secrets", "to store the upload token")
CLASSIC_SCOPES = {"repo": "to create, push, protect and set secrets", "workflow": WORKFLOWS.why}
# For a token: said when GitHub refuses a step (a role or scope GitHub cannot tell up front).
ADMIN_NEEDED = "needs admin on the repository: a classic token's user, or Administration (write)"
SECRET_NEEDED = "needs write access and Secrets (write), or a classic token with the repo scope"  # noqa: S105 - words


def app_permissions(*, secret: bool) -> tuple[Permission, ...]:
    """What an App installation needs, with Secrets only when a secret is to be stored."""
    return (ADMINISTRATION, CONTENTS, WORKFLOWS, *((SECRETS,) if secret else ()))


def check_access(
    client: GitHubClient, full_name: str, repo: Repository | None, *, secret: bool
) -> None:
    """Refuse, naming what is missing, credentials GitHub says cannot register ``full_name``
    (``repo``: the repository when it exists, as read already)."""
    if client.app is not None:
        _check_app(client, secret=secret)
    else:
        _check_token(client, full_name, repo, secret=secret)


def _check_app(client: GitHubClient, *, secret: bool) -> None:
    from github import Auth, GithubIntegration

    auth = client.auth
    assert client.app is not None
    assert isinstance(auth, Auth.AppInstallationAuth)
    number = auth.installation_id
    options = client.github.requester.kwargs | {"auth": client.app}
    with github_errors(f"read the App's installation {number}", client):
        granted = GithubIntegration(**options).get_app_installation(number).permissions or {}
    missing = [
        p
        for p in app_permissions(secret=secret)
        if LEVEL.get(str(granted.get(p.name, "")), 0) < LEVEL[p.access]
    ]
    if missing:
        needs = ", ".join(f"{p} {p.why}" for p in missing)
        raise GitHubError(
            f"the GitHub App's installation {number} lacks {needs}: grant them in the App's "
            "settings, then accept them in the organization's installation"
        )


def _check_token(
    client: GitHubClient, full_name: str, repo: Repository | None, *, secret: bool
) -> None:
    scopes = client.github.oauth_scopes  # X-OAuth-Scopes of the answers so far (classic tokens)
    if scopes is not None:
        held = {s.strip() for s in scopes}
        wanted = dict(CLASSIC_SCOPES)
        if not secret and "public_repo" in held:
            wanted.pop("repo")  # a public repository without a secret: public_repo will do
        if missing := [f"{s} {why}" for s, why in wanted.items() if s not in held]:
            raise GitHubError(f"the GitHub token lacks the scope {', '.join(missing)}")
    if repo is not None:
        with github_errors(f"read {full_name}", client):
            admin = repo.permissions.admin if repo.permissions is not None else None
        if admin is False:
            raise GitHubError(
                f"the GitHub token's user is not an admin of {full_name}: register-github "
                "needs admin to protect its main branch"
            )
