"""The one place that builds the PyGithub client, and turns its exceptions into GitHubError.

PyGithub is imported inside functions only, so ``pyodide-smithy --help`` never loads it.
Tokens are never printed: messages carry GitHub's status and message, scrubbed of secrets.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from smithy.errors import SmithyError

if TYPE_CHECKING:
    from github import Auth, Github

API_URL_ENV = "PYODIDE_SMITHY_GITHUB_API_URL"
TOKEN_ENV = "GITHUB_TOKEN"  # noqa: S105 - the variable's name, not a token
APP_ID_ENV = "PYODIDE_SMITHY_GITHUB_APP_ID"
APP_KEY_ENV = "PYODIDE_SMITHY_GITHUB_APP_KEY"
INSTALLATION_ENV = "PYODIDE_SMITHY_GITHUB_INSTALLATION_ID"
THROTTLE_ENV = "PYODIDE_SMITHY_GITHUB_THROTTLE"
DEFAULT_API_URL = "https://api.github.com"


class GitHubError(SmithyError):
    """GitHub refused a request, could not be reached, or holds something we will not touch."""

    exit_code = 18


@dataclass(frozen=True)
class GitHubClient:
    """A PyGithub client and the credentials behind it (for git over HTTPS); ``app``: the App's
    own credentials when acting as one of its installations (to read what it was granted)."""

    github: Github
    auth: Auth.Token | Auth.AppInstallationAuth
    api_url: str
    app: Auth.AppAuth | None = None

    def token(self) -> str:
        """The token git sends (an App installation's is minted, then cached, by PyGithub)."""
        with github_errors("get an installation token", self):
            return self.auth.token


def make_client(*, forget_key: bool = False) -> GitHubClient:
    """The client the environment describes (see the module's ``*_ENV`` names).

    ``forget_key``: take the App's private key out of ``os.environ`` once it is read (the
    client keeps it, to mint installation tokens), so that nothing this process starts later,
    nor anything that reads its environment, can find it: the bot does so before it reads any
    feedstock.
    """
    from github import Github

    api_url = (os.environ.get(API_URL_ENV) or DEFAULT_API_URL).rstrip("/")
    try:
        auth, app = _auth()
    finally:
        if forget_key:
            os.environ.pop(APP_KEY_ENV, None)
    throttle = _throttle()
    if throttle is None:  # real GitHub: PyGithub's defaults keep us clear of secondary limits
        github = Github(auth=auth, base_url=api_url, lazy=True)
    else:
        github = Github(
            auth=auth,
            base_url=api_url,
            lazy=True,
            seconds_between_requests=throttle,
            seconds_between_writes=throttle,
        )
    return GitHubClient(github, auth, api_url, app)


def _auth() -> tuple[Auth.Token | Auth.AppInstallationAuth, Auth.AppAuth | None]:
    from github import Auth

    if token := os.environ.get(TOKEN_ENV, "").strip():
        return Auth.Token(token), None
    app_id = os.environ.get(APP_ID_ENV, "").strip()
    key_path = os.environ.get(APP_KEY_ENV, "").strip()
    installation = os.environ.get(INSTALLATION_ENV, "").strip()
    if not (app_id and key_path and installation):
        raise GitHubError(
            f"no GitHub credentials: set ${TOKEN_ENV}, or ${APP_ID_ENV}, ${APP_KEY_ENV} "
            f"(a PEM file or the key itself) and ${INSTALLATION_ENV}"
        )
    if not installation.isdigit():
        raise GitHubError(f"${INSTALLATION_ENV} must be a number", key=INSTALLATION_ENV)
    if key_path.startswith("-----BEGIN"):  # the key itself, as a CI secret holds it
        key = key_path
        if "PRIVATE KEY" not in key:
            raise GitHubError(f"${APP_KEY_ENV} holds a PEM block that is not a private key")
    else:
        try:
            key = Path(key_path).read_text(encoding="utf-8")
        except OSError as exc:
            raise GitHubError(f"cannot read the App's private key: {exc.strerror}") from None
        if "PRIVATE KEY" not in key:
            raise GitHubError("the App's private key is not a PEM file", file=key_path)
    app = Auth.AppAuth(app_id, key)
    return app.get_installation_auth(int(installation)), app


def _throttle() -> float | None:
    """Seconds between requests and writes from ``$PYODIDE_SMITHY_GITHUB_THROTTLE``."""
    text = os.environ.get(THROTTLE_ENV, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise GitHubError(f"${THROTTLE_ENV} must be a number of seconds, not {text!r}")
    return value


@contextmanager
def github_errors(
    what: str, client: GitHubClient | None = None, *, needs: str | None = None
) -> Iterator[None]:
    """GithubException (and transport failures) as GitHubError: status and GitHub's message.

    ``needs``: what the call needs of the credentials, said when GitHub refuses with 403 or 404
    (GitHub answers 404 to a token that may not see what it asks for, and 403 "Resource not
    accessible by integration" to an App lacking a permission); the permission GitHub names in
    ``X-Accepted-GitHub-Permissions`` (Apps, fine-grained tokens) or ``X-Accepted-OAuth-Scopes``
    (classic tokens) is added.
    """
    from github import GithubException
    from requests import RequestException

    try:
        yield
    except GithubException as exc:
        data = exc.data if isinstance(exc.data, dict) else {}
        said = data.get("message") or _graphql_message(data) or exc.message or "no message"
        message = str(said).splitlines()[0]
        hint = _needs(exc, needs) if exc.status in (403, 404) else ""
        raise GitHubError(
            _scrub(f"GitHub refused to {what}: {exc.status} {message}{hint}", client)
        ) from None
    except RequestException as exc:
        from smithy.http import reason

        raise GitHubError(_scrub(f"cannot reach GitHub to {what}: {reason(exc)}", client)) from None


def _graphql_message(data: dict[str, object]) -> str | None:
    """The first error's message of a GraphQL answer (``{"errors": [{"message": …}]}``)."""
    errors = data.get("errors")
    first = errors[0] if isinstance(errors, list) and errors else None
    if not isinstance(first, dict) or not first.get("message"):
        return None
    return str(first["message"])


def _needs(exc: Exception, needs: str | None) -> str:
    headers = getattr(exc, "headers", None) or {}
    named = [
        f"{label} {value}"
        for header, label in (
            ("x-accepted-github-permissions", "permission"),
            ("x-accepted-oauth-scopes", "token scope"),
        )
        if (value := str(headers.get(header) or "").strip())
    ]
    said = "; ".join([*([needs] if needs else []), *(f"GitHub asks for {n}" for n in named)])
    return f" ({said})" if said else ""


def _scrub(message: str, client: GitHubClient | None) -> str:
    """``message`` without the environment's token (belt and braces: GitHub never echoes it)."""
    secrets = [os.environ.get(TOKEN_ENV, "").strip()]
    if client is not None and isinstance(client.auth, _token_class()):
        secrets.append(client.auth.token)
    # A string this short is no credential worth hiding, and replacing it would mangle words.
    for secret in (s for s in secrets if len(s) >= 8):
        message = message.replace(secret, "***")
    return message


def _token_class() -> type[Auth.Token]:
    from github import Auth

    return Auth.Token
