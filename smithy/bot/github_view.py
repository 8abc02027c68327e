"""What the bot reads of an org: its feedstocks with the pull requests on the migrations'
branches (one GraphQL query per 100 repositories), and what a channel has published.

PyGithub is imported inside functions only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smithy.bot.plan import Feedstock, Pull, made_by_bot
from smithy.github.client import GitHubClient, GitHubError, github_errors

if TYPE_CHECKING:
    from github import GithubException
    from github.Requester import Requester

    from smithy.channel.model import Channel

CONFIG_FILE = "pyodide-smithy.yml"
META_FILE = "recipe/meta.yaml"
BATCH = 100
MAIN_LABEL = "main"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class Repo:
    """One repository of the org, as listed."""

    name: str
    full_name: str
    default_branch: str
    clone_url: str
    html_url: str = ""
    private: bool = False  # only then does the bot's clone carry a credential


@dataclass(frozen=True)
class FeedstockView:
    """A feedstock as read from its default branch, and where to clone it."""

    feedstock: Feedstock
    repo: Repo
    pulls: Mapping[str, Pull] = field(default_factory=dict)  # branch -> its newest PR


@dataclass(frozen=True)
class Unreadable:
    """A repository with a pyodide-smithy.yml that the bot cannot read as a feedstock."""

    repo: Repo
    reason: str
    file: str | None = None  # the file at fault, as named in the repository


def list_repos(client: GitHubClient, org: str) -> list[Repo]:
    """The org's repositories that are not archived (lazy client: one GET per 100)."""
    client.github.per_page = BATCH
    with github_errors(f"list the repositories of {org}", client):
        out = []
        for r in client.github.get_organization(org).get_repos():
            if r.archived:
                continue
            branch = r.default_branch or "main"
            html, private = r.html_url or "", bool(r.private)
            out.append(Repo(r.name, r.full_name, branch, r.clone_url, html, private))
    return out


def read_feedstocks(
    client: GitHubClient, org: str, repos: Iterable[Repo], branches: Sequence[str] = ()
) -> tuple[list[FeedstockView], list[Unreadable]]:
    """Feedstocks among ``repos`` (those with a pyodide-smithy.yml on their default branch), each
    with the newest pull request from each of ``branches``, in one query per 100 repositories;
    and the feedstocks whose files do not parse, or that GitHub could not read, with the
    reason."""
    from smithy.errors import SmithyError

    found: list[FeedstockView] = []
    broken: list[Unreadable] = []
    for repo, node in _read_all(client, org, list(repos), branches):
        if isinstance(node, str):
            broken.append(Unreadable(repo, f"GitHub could not read it: {node}"))
            continue
        config, meta = _text(node.get("config")), _text(node.get("meta"))
        if config is None:
            continue
        try:
            if meta is None:
                raise GitHubError("the recipe is missing from the default branch", file=META_FILE)
            stock = parse_feedstock(repo.name, config, meta)
        except SmithyError as exc:
            broken.append(Unreadable(repo, str(exc), exc.file))
            continue
        pulls = {
            branch: pull
            for j, branch in enumerate(branches)
            if (pull := _newest_pull(node.get(f"p{j}"), org)) is not None
        }
        found.append(FeedstockView(stock, repo, pulls))
    return found, broken


class _Stopped(Exception):
    """GitHub stopped a query for the time or the resources it took; the reason."""


def _read_all(
    client: GitHubClient, org: str, listed: list[Repo], branches: Sequence[str]
) -> list[tuple[Repo, dict[str, Any] | str]]:
    """Each repository's node, in order, in queries of up to ``BATCH`` repositories.

    GitHub stops a GraphQL request after 10 seconds (502 or 504, docs "Rate limits and query
    limits for the GraphQL API", *Timeouts*) or when it takes too many resources (partial data
    and an error): such a batch is halved and read again, down to one repository, which then
    comes back as the reason (a str); after each answered query the batch doubles again.
    """
    requester = _requester(client)
    out: list[tuple[Repo, dict[str, Any] | str]] = []
    size, start = BATCH, 0
    while start < len(listed):
        batch = listed[start : start + size]
        nodes: list[dict[str, Any] | str]
        try:
            nodes = list(_read_batch(requester, client, org, batch, branches))
        except _Stopped as stopped:
            if len(batch) > 1:
                size = len(batch) // 2
                continue
            nodes = [str(stopped)]
        out += zip(batch, nodes, strict=True)
        start += len(batch)
        size = min(BATCH, size * 2)
    return out


def _requester(client: GitHubClient) -> Requester:
    """PyGithub's requester for this client, but retrying nothing: PyGithub sends a POST that
    answered 5xx again, ten times, and each timed-out try costs GitHub 10 seconds and us extra
    rate-limit points; a query GitHub stops is sent again only smaller, by ``_read_all``."""
    from github import Auth
    from github.Requester import Requester

    options = client.github.requester.kwargs | {"auth": Auth.Token(client.token()), "retry": None}
    return Requester(**options)


# The newest few PRs from a branch name (a fork's branch of the same name is skipped by owner),
# with the authors and committers of their newest commits: whether a maintainer pushed to one.
# Fields as GitHub's GraphQL schema (octokit/graphql-schema, schema.graphql) names them:
# PullRequest.headRefOid and .commits(last:) -> PullRequestCommitConnection { totalCount nodes {
# commit: Commit { oid author committer: GitActor { email } statusCheckRollup { state } } } }.
COMMITS_READ = 10
_PULLS = (
    "pullRequests(headRefName: {branch}, last: 3, orderBy: {{field: CREATED_AT, direction: ASC}}) "
    "{{ nodes {{ number state url headRefOid headRepositoryOwner {{ login }} "
    "labels(first: 20) {{ nodes {{ name }} }} "
    f"commits(last: {COMMITS_READ}) {{{{ totalCount nodes {{{{ commit {{{{ oid "
    "author {{ email }} committer {{ email }} statusCheckRollup {{ state }} }} }} }} }} }}"
)


def _read_batch(
    requester: Requester,
    client: GitHubClient,
    org: str,
    batch: list[Repo],
    branches: Sequence[str],
) -> list[dict[str, Any]]:
    query = batch_query(org, [r.name for r in batch], branches)
    answer = _query(requester, client, query, f"read the feedstocks of {org}")
    data = answer.get("data") or {}
    return [data.get(f"r{i}") or {} for i in range(len(batch))]


def batch_query(org: str, names: Sequence[str], branches: Sequence[str]) -> str:
    """The one GraphQL query that reads ``names`` of ``org``: each repository's config and
    recipe on its default branch, and the newest pull requests from each of ``branches``."""
    pulls = " ".join(
        f"p{j}: " + _PULLS.format(branch=json.dumps(b)) for j, b in enumerate(branches)
    )
    blocks = [
        f"r{i}: repository(owner: {json.dumps(org)}, name: {json.dumps(name)}) {{ "
        f'config: object(expression: "HEAD:{CONFIG_FILE}") {{ ... on Blob {{ text }} }} '
        f'meta: object(expression: "HEAD:{META_FILE}") {{ ... on Blob {{ text }} }} '
        f"{pulls} }}"
        for i, name in enumerate(names)
    ]
    return "query { " + " ".join(blocks) + " }"


def _query(requester: Requester, client: GitHubClient, query: str, what: str) -> dict[str, Any]:
    """The answer's JSON; _Stopped when GitHub stopped the query, GitHubError otherwise."""
    from github import GithubException
    from requests import Timeout

    try:
        _, answer = requester.graphql_query(query, {})
    except GithubException as exc:
        if (reason := _stopped(exc)) is not None:
            raise _Stopped(reason) from None
        with github_errors(what, client):
            raise
    except Timeout:
        raise _Stopped("no answer in time") from None
    return answer


TIMED_OUT = re.compile(r"time ?out|timed out|in time", re.IGNORECASE)


def _stopped(exc: GithubException) -> str | None:
    """The reason when GitHub stopped a query for its size: a 502 or 504 (an nginx page as
    turbot/steampipe-plugin-github#518 shows, or "We couldn't respond to your request in time"),
    or an error of type RESOURCE_LIMITS_EXCEEDED (shape: yoshi389111/github-profile-3d-contrib
    #163) or one that says it timed out, next to partial data (PyGithub raises on any error)."""
    from http import HTTPStatus

    data = exc.data if isinstance(exc.data, dict) else {}
    if exc.status in (502, 504):
        said = str(data.get("message") or HTTPStatus(exc.status).phrase).splitlines()[0]
        return f"{exc.status} {said}"
    for error in data.get("errors") or []:
        message = str(error.get("message") or "") if isinstance(error, dict) else ""
        kind = error.get("type") if isinstance(error, dict) else None
        if kind == "RESOURCE_LIMITS_EXCEEDED" or TIMED_OUT.search(message):
            return message.splitlines()[0] if message else str(kind)
    return None


# The open pull requests of a repository, with their branch names: the bot's version branches
# among them are the ones a newer release supersedes (PullRequest.headRefName: String!).
_OPEN_PULLS = (
    "pullRequests(states: [OPEN], last: 50, orderBy: {field: CREATED_AT, direction: ASC}) "
    "{ nodes { number state url headRefName headRefOid headRepositoryOwner { login } "
    "labels(first: 20) { nodes { name } } } }"
)


def read_version_pulls(
    client: GitHubClient, org: str, wanted: Mapping[str, str | None]
) -> dict[str, tuple[Pull | None, dict[str, Pull]]]:
    """For each repository name -> its target version branch (or None): the newest pull request
    from that branch, and the open pull requests from the org's own branches (branch -> pull).
    One GraphQL query per ``BATCH`` repositories."""
    requester = _requester(client)
    names = sorted(wanted)
    out: dict[str, tuple[Pull | None, dict[str, Pull]]] = {}
    for start in range(0, len(names), BATCH):
        batch = {name: wanted[name] for name in names[start : start + BATCH]}
        try:
            answer = _query(requester, client, version_pulls_query(org, batch), "read PRs")
        except _Stopped as stopped:
            raise GitHubError(
                f"GitHub stopped reading the pull requests of {org}: {stopped}"
            ) from None
        data = answer.get("data") or {}
        for i, name in enumerate(batch):
            node = data.get(f"r{i}") or {}
            out[name] = (_newest_pull(node.get("t"), org), _open_branches(node.get("o"), org))
    return out


def version_pulls_query(org: str, wanted: Mapping[str, str | None]) -> str:
    """The one GraphQL query for up to ``BATCH`` repositories: the pull requests from each
    one's target branch (``t``), and its open pull requests with their branches (``o``)."""
    blocks = []
    for i, (name, branch) in enumerate(wanted.items()):
        target = f"t: {_PULLS.format(branch=json.dumps(branch))} " if branch else ""
        blocks.append(
            f"r{i}: repository(owner: {json.dumps(org)}, name: {json.dumps(name)}) {{ "
            f"{target}o: {_OPEN_PULLS} }}"
        )
    return "query { " + " ".join(blocks) + " }"


def _open_branches(connection: Any, org: str) -> dict[str, Pull]:
    """Branch -> the open pull request from it, for the org's own branches."""
    nodes = connection.get("nodes") if isinstance(connection, dict) else None
    found: dict[str, Pull] = {}
    for node in nodes or []:
        owner = (node.get("headRepositoryOwner") or {}).get("login", "")
        if str(owner).lower() != org.lower() or node.get("state") != "OPEN":
            continue
        labels = (node.get("labels") or {}).get("nodes") or []
        found[str(node.get("headRefName") or "")] = Pull(
            number=int(node["number"]),
            open=True,
            merged=False,
            labels=tuple(str(label["name"]) for label in labels),
            url=str(node.get("url") or ""),
            head=str(node.get("headRefOid") or ""),
        )
    return found


def _newest_pull(connection: Any, org: str) -> Pull | None:
    nodes = connection.get("nodes") if isinstance(connection, dict) else None
    for node in reversed(nodes or []):
        owner = (node.get("headRepositoryOwner") or {}).get("login", "")
        if str(owner).lower() != org.lower():
            continue
        state = str(node.get("state", ""))
        labels = (node.get("labels") or {}).get("nodes") or []
        history = node.get("commits") or {}
        commits = [(c or {}).get("commit") or {} for c in history.get("nodes") or []]
        rollup = (commits[-1] if commits else {}).get("statusCheckRollup") or {}
        return Pull(
            number=int(node["number"]),
            open=state == "OPEN",
            merged=state == "MERGED",
            labels=tuple(str(label["name"]) for label in labels),
            url=str(node.get("url") or ""),
            ci=str(rollup["state"]).lower() if rollup.get("state") else None,
            head=str(node.get("headRefOid") or ""),
            edited=_edited(commits, history.get("totalCount")),
        )
    return None


def _edited(commits: list[dict[str, Any]], total: Any) -> bool:
    """A commit not made by the bot among the PR's commits, or more commits than were read
    (the bot makes one per push): then the branch is the maintainers' too. A commit whose
    author or committer GitHub did not say counts as theirs."""
    if isinstance(total, int) and total > len(commits):
        return True
    return not all(
        made_by_bot((c.get("author") or {}).get("email"), (c.get("committer") or {}).get("email"))
        for c in commits
    )


def _text(obj: Any) -> str | None:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        return str(obj["text"])
    return None


def parse_feedstock(name: str, config_text: str, meta_text: str) -> Feedstock:
    """A Feedstock from the two files' text; a SmithyError naming the file and key at fault
    when either does not parse."""
    from smithy.config import parse_config
    from smithy.yamlio import load_yaml_text

    data = load_yaml_text(config_text, Path(CONFIG_FILE), error=GitHubError)
    config = parse_config(data if data is not None else {}, Path(CONFIG_FILE))
    meta = load_yaml_text(meta_text, Path(META_FILE), error=GitHubError)
    package = meta.get("package") if isinstance(meta, dict) else None
    package_name = package.get("name") if isinstance(package, dict) else None
    if not isinstance(package_name, str) or not package_name.strip():
        raise GitHubError("the recipe names no package", file=META_FILE, key="package.name")
    reqs = meta.get("requirements")
    requires: list[str] = []
    if isinstance(reqs, dict):
        for section in ("host", "run"):
            for item in reqs.get(section) or []:
                if isinstance(item, str) and (m := _NAME.match(item)):
                    requires.append(m[1])
    bot = config.bot
    return Feedstock(
        name=name,
        outputs=(package_name,),
        requires=tuple(dict.fromkeys(requires)),
        xbuildenv=config.xbuildenv,
        migrations=bot.migrations,
        prereleases=bot.prereleases,
        version=_scalar(package.get("version") if isinstance(package, dict) else None),
        source=_scalar(_section(meta, "source").get("url")),
        source_sha256=_scalar(_section(meta, "source").get("sha256")).lower(),
        version_updates=getattr(bot, "version_updates", True),
        version_prereleases=getattr(bot, "version_prereleases", False),
        versions=getattr(bot, "versions", ""),
        automerge=bot.automerge,
        has_tests=config.tests and _tests_something(meta),
    )


def _section(meta: Any, key: str) -> dict[str, Any]:
    value = meta.get(key) if isinstance(meta, dict) else None
    return value if isinstance(value, dict) else {}


def _scalar(value: Any) -> str:
    """A recipe value the bot compares or shows: text of a string or number, else ""."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return str(value)


def _tests_something(meta: Any) -> bool:
    """What `test` runs: imports (test.imports, else package.top-level); test files are in the
    recipe folder, which the survey does not list, so imports are what it can see."""
    imports = _section(meta, "test").get("imports") or _section(meta, "package").get("top-level")
    return bool(imports) and isinstance(imports, list)


def published_abis(channel: Channel, packages: Iterable[str]) -> dict[str, frozenset[str]]:
    """Normalised package name -> ABIs of its ``main`` files ("any" for pure wheels)."""
    from concurrent.futures import ThreadPoolExecutor

    from smithy.recipe.model import normalize

    def read(package: str) -> frozenset[str]:
        abis: set[str] = set()
        for f in channel.files(package):
            if MAIN_LABEL in f.labels:
                abis |= platform_abis(f.filename)
        return frozenset(abis)

    names = list(dict.fromkeys(normalize(p) for p in packages))
    with ThreadPoolExecutor(max_workers=8) as pool:  # one listing per package, over HTTP
        return dict(zip(names, pool.map(read, names), strict=True))


def platform_abis(filename: str) -> set[str]:
    """The ABIs a wheel's platform tags name: ``pyemscripten_2026_0_wasm32`` -> 2026_0, and
    ``any`` for a pure wheel. A library's wheel (``py3-none-pyemscripten_2026_0_wasm32``) names
    its ABI the same way, so a library counts as published for it like any package; every
    version and build counts (readiness asks whether one is installable, not which)."""
    from smithy.platform import InvalidWheelName, parse_wheel_name

    try:
        wheel = parse_wheel_name(filename)
    except InvalidWheelName:
        return set()
    return set(wheel.abis) | ({"any"} if "any" in wheel.platforms else set())
