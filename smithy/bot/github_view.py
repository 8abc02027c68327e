"""What the bot reads of an org: its feedstocks (one GraphQL query per 100 repositories), the
pull request on the migration's branch of each, and what a channel has published.

PyGithub is imported inside functions only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smithy.bot.plan import Feedstock, Pull
from smithy.github.client import GitHubClient, GitHubError, github_errors

if TYPE_CHECKING:
    from smithy.channel.model import Channel

CONFIG_FILE = "pyodide-smithy.yml"
META_FILE = "recipe/meta.yaml"
BATCH = 100
MAIN_LABEL = "main"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_PLATFORM = re.compile(r"^(?:pyemscripten|pyodide)_(\d+_\d+)_wasm32$")


@dataclass(frozen=True)
class Repo:
    """One repository of the org, as listed."""

    name: str
    full_name: str
    default_branch: str
    clone_url: str


@dataclass(frozen=True)
class FeedstockView:
    """A feedstock as read from its default branch, and where to clone it."""

    feedstock: Feedstock
    repo: Repo


def list_repos(client: GitHubClient, org: str) -> list[Repo]:
    """The org's repositories that are not archived (lazy client: one GET per 100)."""
    client.github.per_page = BATCH
    with github_errors(f"list the repositories of {org}", client):
        out = []
        for r in client.github.get_organization(org).get_repos():
            if r.archived:
                continue
            out.append(Repo(r.name, r.full_name, r.default_branch or "main", r.clone_url))
    return out


def read_feedstocks(client: GitHubClient, org: str, repos: Iterable[Repo]) -> list[FeedstockView]:
    """Feedstocks among ``repos``: those with a pyodide-smithy.yml on their default branch."""
    found: list[FeedstockView] = []
    listed = list(repos)
    for start in range(0, len(listed), BATCH):
        batch = listed[start : start + BATCH]
        texts = _read_batch(client, org, batch)
        for repo, (config, meta) in zip(batch, texts, strict=True):
            if config is None or meta is None:
                continue
            stock = parse_feedstock(repo.name, config, meta)
            if stock is not None:
                found.append(FeedstockView(stock, repo))
    return found


def _read_batch(
    client: GitHubClient, org: str, batch: list[Repo]
) -> list[tuple[str | None, str | None]]:
    blocks = []
    for i, repo in enumerate(batch):
        blocks.append(
            f"r{i}: repository(owner: {json.dumps(org)}, name: {json.dumps(repo.name)}) {{ "
            f'config: object(expression: "HEAD:{CONFIG_FILE}") {{ ... on Blob {{ text }} }} '
            f'meta: object(expression: "HEAD:{META_FILE}") {{ ... on Blob {{ text }} }} }}'
        )
    query = "query { " + " ".join(blocks) + " }"
    with github_errors(f"read the feedstocks of {org}", client):
        _, answer = client.github.requester.graphql_query(query, {})
    data = answer.get("data") or {}
    out: list[tuple[str | None, str | None]] = []
    for i in range(len(batch)):
        node = data.get(f"r{i}") or {}
        out.append((_text(node.get("config")), _text(node.get("meta"))))
    return out


def _text(obj: Any) -> str | None:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        return str(obj["text"])
    return None


def parse_feedstock(name: str, config_text: str, meta_text: str) -> Feedstock | None:
    """A Feedstock from the two files' text; None when either does not parse."""
    from smithy.config import parse_config
    from smithy.errors import SmithyError
    from smithy.yamlio import load_yaml_text

    try:
        data = load_yaml_text(config_text, Path(CONFIG_FILE), error=GitHubError)
        config = parse_config(data if data is not None else {}, Path(CONFIG_FILE))
        meta = load_yaml_text(meta_text, Path(META_FILE), error=GitHubError)
    except SmithyError:
        return None
    if not isinstance(meta, dict):
        return None
    package = meta.get("package")
    package_name = package.get("name") if isinstance(package, dict) else None
    if not isinstance(package_name, str):
        return None
    reqs = meta.get("requirements")
    requires: list[str] = []
    if isinstance(reqs, dict):
        for section in ("host", "run"):
            for item in reqs.get(section) or []:
                if isinstance(item, str) and (m := _NAME.match(item)):
                    requires.append(m[1])
    return Feedstock(
        name=name,
        outputs=(package_name,),
        requires=tuple(dict.fromkeys(requires)),
        xbuildenv=config.xbuildenv,
        migrations=config.bot.migrations,
        prereleases=config.bot.prereleases,
    )


def find_pull(client: GitHubClient, org: str, repo: str, branch: str) -> Pull | None:
    """The newest pull request (open or closed) from ``branch`` of ``org/repo``."""
    with github_errors(f"list the pull requests of {org}/{repo}", client):
        gh_repo = client.github.get_repo(f"{org}/{repo}")
        for pr in gh_repo.get_pulls(state="all", head=f"{org}:{branch}"):
            return Pull(
                number=pr.number,
                open=pr.state == "open",
                merged=pr.merged_at is not None,
                labels=tuple(label.name for label in pr.labels),
                url=pr.html_url or "",
            )
    return None


def published_abis(channel: Channel, packages: Iterable[str]) -> dict[str, frozenset[str]]:
    """Normalised package name -> ABIs of its ``main`` files ("any" for pure wheels)."""
    from smithy.recipe.model import normalize

    out: dict[str, frozenset[str]] = {}
    for package in dict.fromkeys(normalize(p) for p in packages):
        abis: set[str] = set()
        for f in channel.files(package):
            if MAIN_LABEL in f.labels:
                abis |= platform_abis(f.filename)
        out[package] = frozenset(abis)
    return out


def platform_abis(filename: str) -> set[str]:
    """The ABIs a wheel's platform tags name: ``pyemscripten_2026_0_wasm32`` -> 2026_0."""
    if not filename.endswith(".whl"):
        return set()
    platforms = filename.removesuffix(".whl").split("-")[-1].split(".")
    out = set()
    for tag in platforms:
        if tag == "any":
            out.add("any")
        elif m := _PLATFORM.match(tag):
            out.add(m[1])
    return out


def pulls_for(
    client: GitHubClient, org: str, views: Iterable[FeedstockView], branches: Mapping[str, str]
) -> dict[str, Pull | None]:
    """Each feedstock's pull request on its migration's branch (``branches``: name -> branch)."""
    return {
        v.feedstock.name: find_pull(client, org, v.repo.name, branches[v.feedstock.name])
        for v in views
        if v.feedstock.name in branches
    }
