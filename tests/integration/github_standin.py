"""A GitHub REST (and GraphQL: the bot's queries, one mutation) stand-in on 127.0.0.1 that PyGithub talks to.

Give PyGithub ``base_url=standin.base_url``. Repositories are bare git repositories under
``git_root``; their ``clone_url`` is a file:// URL, so clones and pushes are real git and the
bare repositories are the truth. ``serve_git_over_http()`` makes it ``{base_url}/ORG/NAME.git``
instead, served by ``git http-backend`` with github.com's rules: anyone may fetch a public
repository; a push needs HTTP Basic credentials whose password (or user name) is a token with
write access (401 with ``WWW-Authenticate: Basic`` without any, 403 with too little).
What PyGithub sends is cited where each route is written.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import jwt

from tests.integration.github_store import (
    ADMIN,
    CLASSIC_SCOPES,
    PUBLIC_OR_REPO,
    READ,
    README_GRANTS,
    WRITE,
    ApiError,
    App,
    Installation,
    Need,
    Pull,
    Refusal,
    Repo,
    Store,
    User,
)

Reply = tuple[int, bytes, dict[str, str]]
GIT_PATH = re.compile(r"/([^/]+)/([^/]+)\.git/(info/refs|git-upload-pack|git-receive-pack)")


class GitRequest(NamedTuple):
    """One smart-HTTP request: the service, the user its credentials name (None without any)
    and the Authorization header as sent."""

    service: str
    login: str | None
    authorization: str


TEMPLATES = [
    ("user", "/user"),
    ("users", "/users/{u}"),
    ("org", "/orgs/{o}"),
    ("org_repos", "/orgs/{o}/repos"),
    ("access_token", "/app/installations/{n}/access_tokens"),
    ("installation", "/app/installations/{n}"),
    ("graphql", "/graphql"),
    ("repo", "/repos/{o}/{r}"),
    ("contents", "/repos/{o}/{r}/contents"),
    ("contents", "/repos/{o}/{r}/contents/{path*}"),
    ("refs", "/repos/{o}/{r}/git/refs"),
    ("ref", "/repos/{o}/{r}/git/ref/{ref*}"),
    ("refs", "/repos/{o}/{r}/git/refs/{ref*}"),
    ("protection", "/repos/{o}/{r}/branches/{b*}/protection"),
    ("branch", "/repos/{o}/{r}/branches/{b*}"),
    ("pulls", "/repos/{o}/{r}/pulls"),
    ("pull", "/repos/{o}/{r}/pulls/{n}"),
    ("merge", "/repos/{o}/{r}/pulls/{n}/merge"),
    ("labels", "/repos/{o}/{r}/issues/{n}/labels"),
    ("permission", "/repos/{o}/{r}/collaborators/{u}/permission"),
    ("label", "/repos/{o}/{r}/issues/{n}/labels/{name}"),
    ("comments", "/repos/{o}/{r}/issues/{n}/comments"),
    ("public_key", "/repos/{o}/{r}/actions/secrets/public-key"),
    ("secret", "/repos/{o}/{r}/actions/secrets/{name}"),
]
PLACEHOLDER = {"n": r"(\d+)", "*": "(.+)"}  # {n} a number, {x*} may hold slashes, else a segment


def _rx(match: re.Match[str]) -> str:
    return PLACEHOLDER.get(match[2] or match[1], "([^/]+)")


ROUTES = [(n, t, re.compile(re.sub(r"\{(\w+)(\*?)\}", _rx, t))) for n, t in TEMPLATES]
# What each call asks of a token (github_store.Need: the user's role, the App's permission, a
# classic token's scopes). Roles and scopes: GitHub's OpenAPI description
# (github/rest-api-description, each operation's text): protecting a branch "requires admin or
# owner permissions"; the secrets' public key: "Anyone with read access to the repository";
# writing a secret: "collaborator access" (write, by design: github/docs#1087, and "Using
# secrets in GitHub Actions": "you must have write access") and the `repo` scope. App
# permissions: github/docs src/github-apps/data/fpt-2022-11-28/server-to-server-permissions.json,
# the data behind "Permissions required for GitHub Apps". Unlisted calls need a read.
PR_READ, PR_WRITE = Need(READ, ("pull_requests", "read")), Need(WRITE, ("pull_requests", "write"))
PR_WRITE = PR_WRITE._replace(scopes=PUBLIC_OR_REPO)
CONTENTS_WRITE = Need(WRITE, ("contents", "write"), PUBLIC_OR_REPO)
NEEDS: dict[tuple[str, str], Need] = {
    ("GET", "repo"): Need(READ, ("metadata", "read")),
    ("PATCH", "repo"): Need(ADMIN, ("administration", "write"), PUBLIC_OR_REPO),
    ("GET", "permission"): Need(READ, ("metadata", "read")),
    ("GET", "contents"): Need(READ, ("contents", "read")),
    ("GET", "ref"): Need(READ, ("contents", "read")),
    ("GET", "refs"): Need(READ, ("contents", "read")),
    ("GET", "branch"): Need(READ, ("contents", "read")),
    ("POST", "refs"): CONTENTS_WRITE,
    ("PATCH", "refs"): CONTENTS_WRITE,
    ("DELETE", "refs"): CONTENTS_WRITE,
    ("GET", "protection"): Need(ADMIN, ("administration", "read"), PUBLIC_OR_REPO),
    ("PUT", "protection"): Need(ADMIN, ("administration", "write"), PUBLIC_OR_REPO),
    ("DELETE", "protection"): Need(ADMIN, ("administration", "write"), PUBLIC_OR_REPO),
    ("GET", "public_key"): Need(READ, ("secrets", "read")),
    ("GET", "secret"): Need(WRITE, ("secrets", "read"), ("repo",)),
    ("PUT", "secret"): Need(WRITE, ("secrets", "write"), ("repo",)),
    ("GET", "pulls"): PR_READ,
    ("GET", "pull"): PR_READ,
    ("GET", "merge"): PR_READ,
    ("GET", "labels"): PR_READ,
    ("GET", "comments"): PR_READ,
    ("POST", "pulls"): PR_WRITE,
    ("PATCH", "pull"): PR_WRITE,
    ("PUT", "merge"): CONTENTS_WRITE,
    ("POST", "labels"): PR_WRITE,
    ("PUT", "labels"): PR_WRITE,
    ("DELETE", "labels"): PR_WRITE,
    ("DELETE", "label"): PR_WRITE,
    # anyone may comment on a public repository's pull requests
    ("POST", "comments"): PR_WRITE._replace(role=READ),
}
PULL_ROUTES = ("pull", "merge", "labels", "label", "comments")
MUTATIONS = ("enablePullRequestAutoMerge",)
GQL_REPO = re.compile(r"(?:(\w+)\s*:\s*)?repository\s*\(([^)]*)\)\s*\{")
GQL_OBJECT = re.compile(r"(?:(\w+)\s*:\s*)?object\s*\(([^)]*)\)")
GQL_PULLS = re.compile(r"(?:(\w+)\s*:\s*)?pullRequests\s*\(([^)]*)\)")
GQL_COMMITS = re.compile(r"\bcommits\s*\(([^)]*)\)")
GQL_INT = re.compile(r"\b(first|last)\s*:\s*(\d+)")
GQL_STATES = re.compile(r"\bstates\s*:\s*\[?([A-Z_,\s]*)\]?")
GQL_ARG = re.compile(r'(\w+)\s*:\s*(?:("(?:[^"\\]|\\.)*")|\$(\w+))')
TIMED_OUT = "We couldn't respond to your request in time"  # docs: GraphQL "Timeouts"
NGINX_502 = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
RATE_LIMITED = "API rate limit exceeded for user ID 1."
SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes and try again."
BAD_JWT = "A JSON web token could not be decoded"
WORKFLOW_HOOK = """#!/bin/sh
[ "$STANDIN_WORKFLOWS" = 1 ] && exit 0
zero=0000000000000000000000000000000000000000
while read -r old new ref; do
  [ "$new" = "$zero" ] && continue
  base=$old
  [ "$old" = "$zero" ] && base=$(git rev-parse --verify -q HEAD)
  if [ -n "$base" ]; then
    changed=$(git diff --name-only "$base" "$new" -- .github/workflows)
  else
    changed=$(git ls-tree -r --name-only "$new" -- .github/workflows)
  fi
  first=$(printf '%s\\n' "$changed" | sed -n 1p)
  if [ -n "$first" ]; then
    echo "refusing to allow $STANDIN_ACTOR to create or update workflow \\`$first\\`" \\
      "without $STANDIN_LACKING" >&2
    exit 1
  fi
done
"""
EXPIRED = "'Expiration time' claim ('exp') must be a numeric value in the future"


@dataclass
class Fault:
    """Answer the next request matching ``method`` ("*" for any) and ``path_regex`` so; with
    ``after``, only once the request has acted (a create that fails after creating)."""

    method: str
    path_regex: str
    status: int
    message: str = "Server Error"
    headers: dict[str, str] = field(default_factory=dict)
    after: bool = False


@dataclass
class Faults:
    """Misbehaviour to inject; mutable while the server runs (path regexes use ``re.search``).

    ``graphql_over``: (N, how) answers every GraphQL query that names more than N
    repositories as GitHub answers one it stopped at 10 seconds; ``how`` is 502 (an nginx HTML
    page, as turbot/steampipe-plugin-github#518 shows it), 504 (GitHub's documented "We
    couldn't respond to your request in time", docs "Rate limits and query limits for the
    GraphQL API", *Timeouts*: "you may receive either a 502 or 504 status code") or 200 (the
    same page's *Other resource limits*: partial results and an error, in the shape
    yoshi389111/github-profile-3d-contrib#163 captured: data null where it stopped and
    ``{"type": "RESOURCE_LIMITS_EXCEEDED", "path": [...], "message": "Resource limits for this
    query exceeded."}``)."""

    latency: float = 0.0
    fail: list[Fault] = field(default_factory=list)
    drop: list[tuple[str, str]] = field(default_factory=list)  # close the connection, no answer
    graphql_over: tuple[int, int] | None = None

    def add(
        self, method: str, path_regex: str, status: int, message: str = "", *, after: bool = False
    ) -> None:
        self.fail.append(Fault(method, path_regex, status, message or "Server Error", after=after))

    def rate_limit(
        self, method: str, path_regex: str, *, reset_in: float = 0, retry_after: int | None = None
    ) -> None:
        """GitHub's primary rate-limit 403 (``X-RateLimit-Reset`` ``reset_in`` seconds ahead),
        or its secondary one with ``Retry-After`` when ``retry_after`` is given."""
        headers = {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0"}
        reset = str(int(time.time() + reset_in))
        headers |= {"X-RateLimit-Used": "5000", "X-RateLimit-Reset": reset}
        if retry_after is not None:
            headers = {"Retry-After": str(retry_after)}
        message = RATE_LIMITED if retry_after is None else SECONDARY
        self.fail.append(Fault(method, path_regex, 403, message, headers))


class Call(NamedTuple):
    method: str
    route: str
    args: list[str]
    query: dict[str, str]
    user: User | None
    body: Any


def reply(status: int, payload: Any = None, headers: dict[str, str] | None = None) -> Reply:
    if status == 204:
        return status, b"", dict(headers or {})
    body = json.dumps(payload).encode()
    return status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}


class GitHubStandIn:
    """GitHub on an ephemeral loopback port; every request is logged in ``requests``."""

    def __init__(self, git_root: Path) -> None:
        self.faults = Faults()
        self.requests: list[tuple[str, str]] = []
        self.git_requests: list[GitRequest] = []  # with serve_git_over_http()
        self.graphql_refused = 0  # GraphQL queries answered as too big (Faults.graphql_over)
        self.endpoints: Counter[str] = Counter()  # "GET /repos/{o}/{r}/pulls" -> requests
        self.rate_used: Counter[str] = Counter()  # login -> requests (reported, not enforced)
        self.rate_reset = int(time.time()) + 3600
        self.lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.git_root = git_root
        self.store = Store(self.base_url, git_root)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,))
        self._thread.daemon = True

    # test-facing helpers ----------------------------------------------------------------------

    def add_org(self, org: str) -> None:
        with self.lock:
            self.store.add_org(org)

    def add_user(
        self,
        login: str,
        token: str,
        *,
        permission: dict[str, str] | None = None,
        scopes: tuple[str, ...] | None = CLASSIC_SCOPES,
        grants: dict[str, str] | None = None,
    ) -> None:
        """``permission`` maps "org/repo", "org" or "*" to read | write | admin (default: admin).
        A classic token has ``scopes`` (default repo and workflow); a fine-grained one has
        ``grants`` instead (``scopes`` None), e.g. {"contents": "write"}."""
        with self.lock:
            granted = {"*": "admin"} if permission is None else permission
            self.store.add_user(login, token, granted, "User", scopes=scopes, grants=grants)

    def add_app(
        self,
        app_id: int,
        installation_id: int,
        *,
        public_key_pem: str | None = None,
        permissions: dict[str, str] | None = None,
        slug: str = "pyodide-smithy",
        account: str | None = None,
    ) -> None:
        """An App installed (on ``account``, default the first org) with ``permissions``
        (default: what the admin README grants, ``README_GRANTS``: no administration, no
        secrets); JWT signatures are verified when ``public_key_pem`` is given."""
        with self.lock:
            app = self.store.apps.setdefault(str(app_id), App(app_id, slug, public_key_pem))
            app.public_key = public_key_pem or app.public_key
            grants = dict(README_GRANTS if permissions is None else permissions)
            grants.setdefault("metadata", "read")  # every App has it (docs: "Metadata")
            app.installations[installation_id] = Installation(installation_id, account, grants)

    def create_repo(
        self,
        org: str,
        name: str,
        files: dict[str, str | bytes] | None = None,
        *,
        default_branch: str = "main",
        private: bool = False,
        archived: bool = False,
    ) -> Path:
        """A bare repository with one commit holding ``files`` (a README when None)."""
        files = {"README.md": f"# {name}\n"} if files is None else files
        with self.lock:
            repo = self.store.create_repo(org, name, files, default_branch)
            repo.private, repo.archived = private, archived
            return repo.path

    def serve_git_over_http(self) -> None:
        """Repositories' ``clone_url`` on this server (smart HTTP), as github.com's are."""
        with self.lock:
            self.store.git_over_http = True

    def clone_url(self, org: str, repo: str) -> str:
        return self._repo(org, repo).path.as_uri()

    def count(self, method: str, path_regex: str) -> int:
        with self.lock:
            matches = (re.fullmatch(path_regex, p) for m, p in self.requests if m == method.upper())
            return sum(1 for found in matches if found)

    def pulls(self, org: str, repo: str) -> list[dict[str, Any]]:
        with self.lock:
            found = self._repo(org, repo)
            self.store.sync(found)
            return [self.store.pull_json(found, p, None, full=True) for p in found.pulls.values()]

    def merge(self, org: str, repo: str, number: int) -> None:
        """Merge the PR's head into its base in the bare repository, as the merge button does."""
        with self.lock:
            found = self._repo(org, repo)
            self.store.merge_pull(found, self.store.pull(found, number), None, {})

    def label(self, org: str, repo: str, number: int, name: str) -> None:
        """Add a label to a PR, as a maintainer does."""
        with self.lock:
            found = self._repo(org, repo)
            self.store.edit_labels(found, self.store.pull(found, number), "POST", [name], None)

    def set_checks(self, org: str, repo: str, number: int, state: str) -> list[int]:
        """The rollup of the checks on a PR's head commit: SUCCESS, FAILURE, PENDING, ERROR.
        Then, as GitHub does, merges the auto-merge PRs now ready; their numbers."""
        with self.lock:
            found = self._repo(org, repo)
            self.store.sync(found)
            found.checks[self.store.pull(found, number).head_sha] = state
            return self.store.merge_when_ready(found)

    def approve(self, org: str, repo: str, number: int) -> list[int]:
        """An approving review, as a maintainer gives it; then merges the auto-merge PRs now
        ready (the numbers)."""
        with self.lock:
            found = self._repo(org, repo)
            self.store.pull(found, number).approvals += 1
            return self.store.merge_when_ready(found)

    def settings(self, org: str, repo: str) -> dict[str, bool]:
        """The repository's merge settings (``allow_auto_merge`` and the merge methods)."""
        with self.lock:
            return dict(self._repo(org, repo).settings)

    def comments(self, org: str, repo: str, number: int) -> list[str]:
        """The bodies of a PR's comments, oldest first."""
        with self.lock:
            return [c.body for c in self.store.pull(self._repo(org, repo), number).comments]

    def close(self, org: str, repo: str, number: int) -> None:
        """Close without merging, as a maintainer does."""
        with self.lock:
            self.store.pull(self._repo(org, repo), number).close()

    def secrets(self, org: str, repo: str) -> dict[str, str]:
        """Decrypted Actions secrets, by (upper-cased) name."""
        with self.lock:
            return {k: v.plaintext for k, v in self._repo(org, repo).secrets.items()}

    def protection(self, org: str, repo: str, branch: str) -> dict[str, Any] | None:
        """The branch protection PUT body as received."""
        with self.lock:
            return self._repo(org, repo).protection.get(branch)

    def _repo(self, org: str, repo: str) -> Repo:
        return self.store.orgs[org].repos[repo]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # request handling -------------------------------------------------------------------------

    def before(self, method: str, path: str) -> Fault | str | None:
        """Log the request, sleep the latency; "drop", an injected Fault, or None."""
        with self.lock:
            self.requests.append((method, path))
            route = self.route(self.unalias(path))
            self.endpoints[f"{method} {route[1] if route else path}"] += 1
            fault: Fault | str | None = None
            for i, (m, rx) in enumerate(self.faults.drop):
                if m.upper() in (method, "*") and re.search(rx, path):
                    fault = self.faults.drop.pop(i) and "drop"
                    break
            for i, f in enumerate(self.faults.fail if fault is None else []):
                if f.method.upper() in (method, "*") and re.search(f.path_regex, path):
                    fault = self.faults.fail.pop(i)
                    break
            latency = self.faults.latency
        time.sleep(latency)
        return fault

    def unalias(self, path: str) -> str:
        """``/repositories/{id}/…`` and ``/organizations/{id}/…`` (Link URLs) by name."""
        m = re.fullmatch(r"/repositories/(\d+)(/.*)?", path)
        if m and (repo := self.store.find(int(m[1]))):
            return f"/repos/{quote(repo.owner)}/{quote(repo.name)}{m[2] or ''}"
        if m := re.fullmatch(r"/organizations/(\d+)(/.*)?", path):
            org = next((o for o in self.store.orgs.values() if o.id == int(m[1])), None)
            return f"/orgs/{quote(org.login)}{m[2] or ''}" if org else path
        return path

    @staticmethod
    def route(path: str) -> tuple[str, str, list[str]] | None:
        for name, template, rx in ROUTES:
            if match := rx.fullmatch(path.rstrip("/") or "/"):
                return name, template, [unquote(g) for g in match.groups()]
        return None

    def dispatch(self, method: str, path: str, query: str, headers: Any, body: bytes) -> Reply:
        auth = str(headers.get("Authorization") or "")
        scheme, _, token = auth.partition(" ")
        with self.lock:
            route, user = self.route(self.unalias(path)), self.store.tokens.get(token.strip())
            try:
                if route is None:
                    raise ApiError(404, "Not Found")
                try:
                    payload = json.loads(body) if body else {}
                except ValueError as error:
                    raise ApiError(400, "Problems parsing JSON") from error
                if route[0] == "access_token":
                    return self.mint(int(route[2][0]), scheme, token)
                if (method, route[0]) == ("GET", "installation") and scheme.lower() == "bearer":
                    return self.installation(int(route[2][0]), token)
                if auth and (user is None or scheme.lower() not in ("token", "bearer")):
                    raise ApiError(401, "Bad credentials")
                self.rate_used[user.login if user else ""] += 1
                q = dict(parse_qsl(query, keep_blank_values=True))
                status, data, extra = self.api(Call(method, route[0], route[2], q, user, payload))
            except ApiError as error:
                status, data, extra = reply(error.status, error.payload(), error.headers)
            if user is not None and user.grants is None and user.scopes is not None:
                extra["X-OAuth-Scopes"] = ", ".join(user.scopes)  # "Scopes for OAuth apps"
            limit, used = (5000 if user else 60), self.rate_used[user.login if user else ""]
            extra |= {"X-RateLimit-Limit": str(limit), "X-RateLimit-Used": str(used)}
            extra |= {"X-RateLimit-Remaining": str(max(0, limit - used))}
            extra |= {"X-RateLimit-Reset": str(self.rate_reset), "X-RateLimit-Resource": "core"}
            return status, data, extra

    def api(self, c: Call) -> Reply:
        """One API call, with the lock held; raises ApiError for 4xx answers."""
        s, a, user = self.store, c.args, c.user
        if c.method != "GET" and user is None:
            raise ApiError(401, "Requires authentication")
        match c.method, c.route:
            case "GET", "installation":
                raise ApiError(401, "A JSON web token could not be decoded")  # needs the JWT
            case "GET", "user" if user:
                return reply(200, s.owner_json(user.login))
            case "GET", "users" if a[0] in s.users or a[0] in s.orgs:
                return reply(200, s.owner_json(a[0]))
            case "GET", "org":
                url = f"{self.base_url}/orgs/{quote(s.org(a[0]).login)}"
                return reply(200, s.owner_json(a[0]) | {"url": url, "repos_url": f"{url}/repos"})
            case "GET", "org_repos":
                org, by_name = s.org(a[0]), c.query.get("sort") == "full_name"
                repos = sorted(org.repos.values(), key=lambda r: r.name if by_name else r.id)
                if c.query.get("direction", "asc" if by_name else "desc") == "desc":
                    repos.reverse()
                items = [s.repo_json(r, user) for r in repos if s.level(user, r)]
                return self.page(c.query, items, f"/organizations/{org.id}/repos")
            case "POST", "org_repos" if user:
                return reply(201, s.repo_json(s.create_org_repo(user, a[0], c.body), user))
            case "POST", "graphql":
                return self.graphql(user, c.body)
            case _, ("user" | "users" | "org" | "org_repos" | "graphql"):
                raise ApiError(404, "Not Found")
        repo = s.visible(user, a[0], a[1])
        s.allow(user, repo, NEEDS.get((c.method, c.route), Need(READ, None)))
        return self.repo_api(c, repo)

    def repo_api(self, c: Call, repo: Repo) -> Reply:  # noqa: PLR0912 (a branch per route)
        s, a, q, user, body = self.store, c.args[2:], c.query, c.user, c.body
        pull = s.pull(repo, int(a[0])) if c.route in PULL_ROUTES else None
        issue = f"/repositories/{repo.id}/issues/{pull.number if pull else 0}"
        match c.method, c.route:
            case "GET" | "PATCH", "repo":
                if c.method == "PATCH":
                    s.edit_repo(repo, body)
                org = {"organization": s.owner_json(repo.owner)}
                return reply(200, s.repo_json(repo, user) | org)
            case "GET", "contents":
                return reply(200, s.contents(repo, a[0] if a else "", q.get("ref")))
            case "GET", "permission":
                return reply(200, s.permission_json(repo, a[0]))
            case "GET", "ref" | "refs":
                name = "refs/" + (a[0] if a else "")
                return reply(200, s.get_ref(repo, name, exact=c.route == "ref"))
            case "POST", "refs":
                name, sha = str(body.get("ref")), str(body.get("sha"))
                return reply(201, s.set_ref(repo, name, sha, create=True))
            # PATCH and DELETE exist on git/refs/{ref} only; git/ref/{ref} is GET alone (OpenAPI:
            # paths "/repos/{owner}/{repo}/git/ref/{ref}" get; ".../git/refs/{ref}" patch, delete)
            case "PATCH", "refs" if a:
                sha, force = str(body.get("sha")), bool(body.get("force"))
                return reply(200, s.set_ref(repo, f"refs/{a[0]}", sha, force=force))
            case "DELETE", "refs" if a:
                return reply(204, s.set_ref(repo, f"refs/{a[0]}", None))
            case "GET", "branch":
                return reply(200, s.branch_json(repo, a[0]))
            case "GET" | "PUT" | "DELETE", "protection":
                s.protect(repo, a[0], c.method, body)
                deleted = c.method == "DELETE"
                return reply(204) if deleted else reply(200, s.protection_json(repo, a[0]))
            case "GET", "pulls":
                items = [s.pull_json(repo, p, user, full=False) for p in s.list_pulls(repo, q)]
                return self.page(q, items, f"/repositories/{repo.id}/pulls")
            case "POST", "pulls" if user:
                pull = s.create_pull(repo, user, body)
                return reply(201, s.pull_json(repo, pull, user, full=True))
            case "GET" | "PATCH", "pull" if pull:
                if c.method == "PATCH":
                    s.edit_pull(repo, pull, body)
                return reply(200, s.pull_json(repo, pull, user, full=True))
            case "GET", "merge" if pull:
                return reply(204) if pull.merged_at else reply(404, {"message": "Not Found"})
            case "PUT", "merge" if pull:
                sha = s.merge_pull(repo, pull, user, body)
                merged = {"merged": True, "message": "Pull Request successfully merged"}
                return reply(200, {"sha": sha} | merged)
            case "GET", "labels" if pull:
                return self.page(q, [s.label_json(repo, n) for n in pull.labels], f"{issue}/labels")
            case "POST" | "PUT" | "DELETE", "labels" | "label" if pull:
                s.edit_labels(repo, pull, c.method, body, a[1] if c.route == "label" else None)
                if (c.method, c.route) == ("DELETE", "labels"):
                    return reply(204)
                return reply(200, [s.label_json(repo, n) for n in pull.labels])
            case "GET", "comments" if pull:
                items = [s.comment_json(repo, pull, x) for x in pull.comments]
                return self.page(q, items, f"{issue}/comments")
            case "POST", "comments" if pull and user:
                return reply(201, s.comment_json(repo, pull, s.comment(pull, user, body)))
            case "GET", "public_key":
                key = base64.b64encode(bytes(repo.key.public_key)).decode()
                return reply(200, {"key_id": repo.key_id, "key": key})
            case "PUT", "secret":
                return reply(201 if s.put_secret(repo, a[0], body) else 204, {})
            case "GET", "secret" if secret := repo.secrets.get(a[0].upper()):
                times = {"created_at": secret.created_at, "updated_at": secret.updated_at}
                return reply(200, {"name": a[0].upper()} | times)
        raise ApiError(404, "Not Found")

    def git_http(self, method: str, path: str, query: str, headers: Any, body: bytes) -> Reply:
        """``git http-backend`` for ``/{o}/{r}.git/…`` with GitHub's access rules (module doc)."""
        import subprocess

        match = GIT_PATH.fullmatch(path)
        assert match is not None
        owner, name, what = unquote(match[1]), unquote(match[2]), match[3]
        service = dict(parse_qsl(query)).get("service", "") if what == "info/refs" else what
        auth = str(headers.get("Authorization") or "")
        with self.lock:
            user = self._basic_user(auth)
            self.git_requests.append(GitRequest(service, user.login if user else None, auth))
            need = WRITE if service == "git-receive-pack" else READ
            try:
                self.store.repo(user, owner, name, need)
            except ApiError as error:
                if user is None:
                    challenge = {"WWW-Authenticate": 'Basic realm="GitHub"'}
                    return 401, b"Invalid username or token.\n", challenge
                denied = f"Permission to {owner}/{name}.git denied to {user.login}.\n"
                return error.status, denied.encode(), {}
        env = {"PATH": os.environ.get("PATH", ""), "GIT_PROJECT_ROOT": str(self.git_root)}
        env |= self._workflow_rule(user) if service == "git-receive-pack" else {}
        env |= {"GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path, "QUERY_STRING": query}
        env |= {"REQUEST_METHOD": method, "CONTENT_LENGTH": str(len(body))}
        env |= {"CONTENT_TYPE": str(headers.get("Content-Type") or ""), "REMOTE_ADDR": "127.0.0.1"}
        env |= {"REMOTE_USER": user.login if user else ""}
        env |= {"HTTP_GIT_PROTOCOL": str(headers.get("Git-Protocol") or "")}
        env |= {"HTTP_CONTENT_ENCODING": str(headers.get("Content-Encoding") or "")}
        cgi = ["git", "http-backend"]
        done = subprocess.run(cgi, input=body, env=env, capture_output=True, check=False)
        head, _, data = done.stdout.partition(b"\r\n\r\n")
        status, answer = 200, {}
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                answer[key] = value.strip()
        return status, data, answer

    def _workflow_rule(self, user: User | None) -> dict[str, str]:
        """A pre-receive hook (through git's environment) refusing a push that adds or changes
        a file under ``.github/workflows/`` unless the token may: an App needs the Workflows
        permission ("refusing to allow a GitHub App to create or update workflow `…` without
        `workflows` permission": peter-evans/create-pull-request#1713, repo-sync/github-sync#23),
        a classic token the ``workflow`` scope ("refusing to allow a Personal Access Token …
        without `workflow` scope": flashcatcloud/categraf#34; docs "Scopes for OAuth apps": a
        file identical on another branch is allowed, here: on the default branch). git shows
        the reason on a ``remote:`` line; GitHub puts it in the "[remote rejected]" line."""
        hooks = self.git_root / ".standin-hooks"
        if not (hooks / "pre-receive").exists():
            hooks.mkdir(exist_ok=True)
            (hooks / "pre-receive").write_text(WORKFLOW_HOOK)
            (hooks / "pre-receive").chmod(0o755)
        grants, scopes = (user.grants, user.scopes) if user else (None, None)
        if grants is not None:
            may = grants.get("workflows") == "write"
            actor = "a GitHub App" if user and user.kind == "Bot" else "a Personal Access Token"
            lacking = "`workflows` permission"
        else:
            may, actor = "workflow" in (scopes or ()), "a Personal Access Token"
            lacking = "`workflow` scope"
        env = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.hooksPath"}
        env |= {"GIT_CONFIG_VALUE_0": str(hooks), "STANDIN_WORKFLOWS": "1" if may else "0"}
        return env | {"STANDIN_ACTOR": actor, "STANDIN_LACKING": lacking}

    def _basic_user(self, auth: str) -> User | None:
        """The user whose token is the password (or the user name) of Basic credentials."""
        scheme, _, encoded = auth.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            login, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
        except ValueError:
            return None
        return self.store.tokens.get(password) or self.store.tokens.get(login)

    def page(self, q: dict[str, str], items: list[Any], path: str) -> Reply:
        """One page of ``items`` with a Link header as GitHub writes it (prev, next, last, first)."""
        size = min(max(int(q["per_page"]) if q.get("per_page", "").isdigit() else 30, 1), 100)
        number = max(int(q["page"]) if q.get("page", "").isdigit() else 1, 1)
        last = max(1, -(-len(items) // size))
        rels = [("prev", number - 1)] if number > 1 else []
        rels += [("next", number + 1), ("last", last)] if number < last else []
        rels += [("first", 1)] if number > 1 else []
        kept = [(k, v) for k, v in q.items() if k != "page"]
        url = f"{self.base_url}{path}?"
        links = [f'<{url}{urlencode([*kept, ("page", n)])}>; rel="{rel}"' for rel, n in rels]
        chunk = items[(number - 1) * size : number * size]
        return reply(200, chunk, {"Link": ", ".join(links)} if links else {})

    def graphql(self, user: User | None, body: dict[str, Any]) -> Reply:
        """Aliased ``repository(owner:, name:) { object(expression:) { ... on Blob { text } } }``
        and ``pullRequests(headRefName:, states: [...], first:|last:, orderBy: {field: CREATED_AT,
        direction:})
        { nodes { number state url headRefOid headRefName headRepositoryOwner { login } labels {
        nodes { name
        } } commits(first:|last:) { totalCount nodes { commit { oid author committer {
        name email date user { login } } statusCheckRollup { state } } } } } }`` (those fields
        are answered whatever was asked). Names and types as GitHub's schema has them
        (octokit/graphql-schema's schema.graphql: ``PullRequest.headRefOid: GitObjectID!``,
        ``commits(...): PullRequestCommitConnection!`` with ``totalCount: Int!``,
        ``Commit.author``/``committer: GitActor`` whose ``user`` is "Null if no such user
        exists", ``statusCheckRollup: StatusCheckRollup``, null before any check reported)."""
        if user is None:
            raise ApiError(401, "This endpoint requires you to be authenticated.")
        query, variables = str(body.get("query") or ""), body.get("variables") or {}
        if problems := invalid_graphql(query):
            return reply(200, {"errors": problems})
        if _mutations(query):
            return reply(200, self.graphql_mutation(user, query, variables))

        def args(text: str) -> dict[str, str]:
            found = GQL_ARG.findall(text)
            return {k: json.loads(lit) if lit else str(variables.get(var)) for k, lit, var in found}

        data: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        blocks = list(GQL_REPO.finditer(query))
        limit, how = self.faults.graphql_over or (len(blocks), 200)
        if len(blocks) > limit and how in (502, 504):
            self.graphql_refused += 1
            if how == 502:
                return 502, NGINX_502, {"Content-Type": "text/html"}
            return reply(504, {"message": TIMED_OUT})
        for i, match in enumerate(blocks):
            alias, where = match[1] or "repository", args(match[2])
            end = _block_end(query, match.end())
            if i >= limit:  # stopped for its resources: null from here on, one error
                data[alias] = None
                if i == limit:
                    self.graphql_refused += 1
                    message = "Resource limits for this query exceeded."
                    errors.append({"type": "RESOURCE_LIMITS_EXCEEDED", "path": [alias]})
                    errors[-1]["message"] = message
                continue
            try:
                repo = self.store.repo(user, where.get("owner", ""), where.get("name", ""))
            except ApiError:
                data[alias] = None
                full_name = f"{where.get('owner')}/{where.get('name')}"
                message = f"Could not resolve to a Repository with the name '{full_name}'."
                errors.append({"type": "NOT_FOUND", "path": [alias], "message": message})
                continue
            objects = GQL_OBJECT.finditer(query, match.end(), end)
            paths = {o[1] or "object": args(o[2]).get("expression", "") for o in objects}
            data[alias] = {key: self.store.blob_text(repo, path) for key, path in paths.items()}
            for found in GQL_PULLS.finditer(query, match.end(), end):
                opened = query.find("{", found.end(), end) + 1
                inner = query[opened : _block_end(query, opened)] if opened else ""
                commits = GQL_COMMITS.search(inner)
                history = dict(GQL_INT.findall(commits[1])) if commits else {}
                pulls = self.graphql_pulls(repo, found[2], args, history)
                data[alias][found[1] or "pullRequests"] = pulls
        if not data:
            errors.append({"message": "the stand-in answers only repository { object } queries"})
        return reply(200, {"data": data} | ({"errors": errors} if errors else {}))

    def graphql_mutation(self, user: User, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """A mutation, executed by graphql-core against GitHub's schema: only
        ``enablePullRequestAutoMerge`` (payload ``pullRequest``: see ``Store.pull_node``). A
        refusal is ``data: {field: null}`` and an error in GitHub's shape: ``type``, ``path``,
        ``locations``, ``message`` (and ``extensions`` where GitHub sends them)."""
        from graphql import execute_sync, parse

        if other := [name for name in _mutations(query) if name not in MUTATIONS]:
            return {"errors": [{"message": f"the stand-in answers no {other[0]} mutation"}]}

        def enable(_info: Any, **args: dict[str, Any]) -> dict[str, Any]:
            repo, pull = self.store.enable_auto_merge(user, args["input"])
            return {"pullRequest": self.store.pull_node(repo, pull), "clientMutationId": None}

        root = {"enablePullRequestAutoMerge": enable}
        done = execute_sync(_github_schema(), parse(query), root, variable_values=variables)
        answer: dict[str, Any] = {"data": done.data}
        if done.errors:
            answer["errors"] = [_github_error(e) for e in done.errors]
        return answer

    def graphql_pulls(
        self, repo: Repo, text: str, args: Any, history: dict[str, str]
    ) -> dict[str, Any]:
        """``history``: the ``first``/``last`` of the pulls' ``commits`` (all when neither)."""
        self.store.sync(repo)
        head = args(text).get("headRefName")
        pulls = sorted(repo.pulls.values(), key=lambda p: p.number)
        pulls = [p for p in pulls if head in (None, p.head)]
        if states := GQL_STATES.search(text):  # states: [OPEN, MERGED] (PullRequestState enum)
            wanted = set(re.findall(r"[A-Z]+", states[1]))
            pulls = [p for p in pulls if ("MERGED" if p.merged_at else p.state.upper()) in wanted]
        pulls = pulls[::-1] if "DESC" in text else pulls
        counts = dict(GQL_INT.findall(text))
        if "first" in counts:
            pulls = pulls[: int(counts["first"])]
        if "last" in counts:
            pulls = pulls[-int(counts["last"]) :] if int(counts["last"]) else []

        def state(p: Pull) -> str:
            return "MERGED" if p.merged_at else p.state.upper()

        def rollup(p: Pull) -> dict[str, str] | None:  # null when no check has reported
            return {"state": repo.checks[p.head_sha]} if p.head_sha in repo.checks else None

        def commits(p: Pull) -> dict[str, Any]:
            listed = self.store.pull_commits(repo, p)
            for commit in listed:
                state = repo.checks.get(commit["oid"])
                commit["statusCheckRollup"] = {"state": state} if state else None
            shown = listed[: int(history["first"])] if "first" in history else listed
            if "last" in history:
                shown = shown[-int(history["last"]) :] if int(history["last"]) else []
            return {"totalCount": len(listed), "nodes": [{"commit": c} for c in shown]}

        nodes = [
            {
                "number": p.number,
                "state": state(p),
                "url": f"{self.base_url}/{repo.full_name}/pull/{p.number}",
                "headRefOid": p.head_sha,
                "headRefName": p.head,
                "headRepositoryOwner": {"login": repo.owner},
                "labels": {"nodes": [{"name": n} for n in p.labels]},
                "commits": commits(p),
            }
            for p in pulls
        ]
        return {"nodes": nodes}

    def app_of(self, scheme: str, token: str) -> App:
        """The App whose RS256 JWT (``Bearer``) this is, its signature and times checked."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
            app = self.store.apps.get(str(claims.get("iss")))
            if app is None or scheme.lower() != "bearer":
                raise ApiError(401, BAD_JWT)
            if app.public_key:
                unchecked: jwt.types.Options = {"verify_exp": False, "verify_iat": False}
                jwt.decode(token, app.public_key, algorithms=["RS256"], options=unchecked)
        except jwt.PyJWTError as error:
            raise ApiError(401, BAD_JWT) from error
        iat, exp, now = claims.get("iat"), claims.get("exp"), time.time()
        if not isinstance(iat, int) or not isinstance(exp, int) or exp <= now:
            raise ApiError(401, EXPIRED)
        if exp - iat > 600 or iat > now + 60:
            raise ApiError(401, "'Expiration time' claim ('exp') is too far in the future")
        return app

    def mint(self, installation_id: int, scheme: str, token: str) -> Reply:
        """``POST /app/installations/{id}/access_tokens`` with ``Bearer <RS256 JWT>``: a token
        acting with the installation's permissions, which the answer lists (OpenAPI
        ``installation-token``: ``token, expires_at, permissions, repository_selection``)."""
        app = self.app_of(scheme, token)
        if (found := app.installations.get(installation_id)) is None:
            raise ApiError(404, "Not Found")
        token = f"ghs_{secrets.token_hex(18)}"
        login = f"{app.slug}[bot]"
        self.store.add_user(login, token, found.reach, "Bot", scopes=None, grants=found.grants)
        expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        answer = {"token": token, "expires_at": expires, "permissions": dict(found.grants)}
        return reply(201, answer | {"repository_selection": "all"})

    def installation(self, installation_id: int, token: str) -> Reply:
        """``GET /app/installations/{id}`` with the App's JWT: the installation, with the
        ``permissions`` it was granted (OpenAPI schema ``installation``)."""
        app = self.app_of("bearer", token)
        if (found := app.installations.get(installation_id)) is None:
            raise ApiError(404, "Not Found")
        account = found.account or next(iter(self.store.orgs), "")
        url = f"{self.base_url}/app/installations/{found.id}"
        answer: dict[str, Any] = {"id": found.id, "account": self.store.owner_json(account)}
        answer |= {"app_id": app.app_id, "app_slug": app.slug, "target_type": "Organization"}
        answer |= {"target_id": self.store.orgs[account].id if account in self.store.orgs else 0}
        answer |= {"permissions": dict(found.grants), "events": [], "repository_selection": "all"}
        answer |= {"access_tokens_url": f"{url}/access_tokens"}
        answer |= {"repositories_url": f"{self.base_url}/installation/repositories"}
        answer |= {"html_url": f"{self.base_url}/organizations/{account}/settings/installations"}
        answer |= {"created_at": found.created_at, "updated_at": found.created_at}
        answer |= {"single_file_name": None, "has_multiple_single_files": False}
        return reply(200, answer | {"single_file_paths": [], "suspended_by": None})


@cache
def _github_schema() -> Any:
    """GitHub's published schema (tests/data/github-graphql-schema; see its README)."""
    import gzip

    from graphql import build_schema

    from tests.conftest import DATA

    path = DATA / "github-graphql-schema" / "schema.graphql.gz"
    text = gzip.decompress(path.read_bytes()).decode()
    return build_schema(text, assume_valid_sdl=True, assume_valid=True)


def invalid_graphql(query: str) -> list[dict[str, Any]]:
    """What is wrong with ``query`` against GitHub's schema, as GraphQL errors: a request GitHub
    cannot parse or validate is answered with ``errors`` and no ``data`` (GraphQL spec,
    "Response": a request error). The messages are graphql-core's, not GitHub's."""
    from graphql import GraphQLError, parse, validate

    try:
        errors = validate(_github_schema(), parse(query))
    except GraphQLError as error:
        errors = [error]
    return [
        {
            "message": e.message,
            "locations": [{"line": x.line, "column": x.column} for x in e.locations or []],
        }
        for e in errors
    ]


def _mutations(query: str) -> list[str]:
    """The top-level fields of the request's mutations (none for a query)."""
    from graphql import FieldNode, OperationDefinitionNode, OperationType, parse

    return [
        field.name.value
        for op in parse(query).definitions
        if isinstance(op, OperationDefinitionNode) and op.operation == OperationType.MUTATION
        for field in op.selection_set.selections
        if isinstance(field, FieldNode)
    ]


def _github_error(error: Any) -> dict[str, Any]:
    """A graphql-core error as GitHub writes one: its ``type`` first, as rjwalters/loom#3371
    and fpicalausa/remove-stale-branches#49 captured them."""
    cause = error.original_error
    answer: dict[str, Any] = {"type": cause.kind} if isinstance(cause, Refusal) else {}
    answer["path"] = error.path
    if isinstance(cause, Refusal) and cause.extensions:
        answer["extensions"] = cause.extensions
    answer["locations"] = [{"line": x.line, "column": x.column} for x in error.locations or []]
    return answer | {"message": cause.message if isinstance(cause, Refusal) else error.message}


def _block_end(text: str, inside: int) -> int:
    """Just past the ``}`` that closes the block whose ``{`` is just before ``inside``."""
    depth, end = 1, inside
    while depth and end < len(text):
        depth, end = depth + {"{": 1, "}": -1}.get(text[end], 0), end + 1
    return end


def _make_handler(stand: GitHubStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 1 << 16  # one write per answer: no Nagle and delayed-ACK stalls
        timeout = 120

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            body = self._body()
            if stand.store.git_over_http and GIT_PATH.fullmatch(url.path):
                self._answer(*stand.git_http(self.command, url.path, url.query, self.headers, body))
                return
            fault = stand.before(self.command, url.path)
            if fault == "drop":
                self.close_connection = True
                return
            if not isinstance(fault, Fault) or fault.after:
                try:
                    answer = stand.dispatch(self.command, url.path, url.query, self.headers, body)
                    status, data, headers = answer
                except Exception as error:  # a stand-in bug: answer as a server error would
                    status, data, headers = reply(500, {"message": repr(error)})
            if isinstance(fault, Fault):
                message = {"message": fault.message}
                status, data, headers = reply(fault.status, message, fault.headers)
            self._answer(status, data, headers)

        def _answer(self, status: int, data: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            """The request body, also when sent in chunks (git does, past http.postBuffer)."""
            if "chunked" not in str(self.headers.get("Transfer-Encoding") or "").lower():
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers, up to the blank line
                pass
            return b"".join(chunks)

        do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_github(git_root: Path | None = None) -> Iterator[GitHubStandIn]:
    """Serve an empty GitHub on 127.0.0.1 for the duration of the block; bare repositories live
    under ``git_root`` (a temporary directory, removed afterwards, when None)."""
    with tempfile.TemporaryDirectory(prefix="github-standin-") as tmp:
        stand = GitHubStandIn(git_root or Path(tmp))
        stand.start()
        try:
            yield stand
        finally:
            stand.stop()
