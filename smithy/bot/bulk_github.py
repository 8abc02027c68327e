"""What ``bot import`` reads of an org, without cloning: each existing feedstock's
recipe/meta.yaml (one GraphQL query per 100 repositories), and whether register-github got
through every step on it.

register-github creates, pushes, protects ``main``, allows auto-merge, then stores the secret
(``smithy.github.register``): a repository that allows auto-merge got through all but the
secret. PyGithub is imported inside functions only; a PyGithub client serves one thread.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smithy.bot.github_view import META_FILE, Repo
from smithy.github.client import GitHubClient, github_errors
from smithy.github.register import SECRET_NAME

BATCH = 100


@dataclass(frozen=True)
class Existing:
    """A repository of the org named like a recipe's feedstock. ``None``: GitHub's answer did
    not say (the stand-in answers blobs only); asked again over REST when it matters."""

    repo: Repo
    meta: str | None  # recipe/meta.yaml on the default branch; None when there is none
    empty: bool | None = None  # no branch at all: created, then nothing pushed
    auto_merge: bool | None = None


def read_existing(client: GitHubClient, org: str, repos: Sequence[Repo]) -> dict[str, Existing]:
    """Lower-cased repository name -> what its default branch holds, for ``repos`` of ``org``."""
    out: dict[str, Existing] = {}
    for start in range(0, len(repos), BATCH):
        batch = repos[start : start + BATCH]
        with github_errors(f"read the feedstocks of {org}", client):
            _, answer = client.github.requester.graphql_query(meta_query(org, batch), {})
        data = answer.get("data") or {}
        for i, repo in enumerate(batch):
            out[repo.name.lower()] = parse_node(repo, data.get(f"r{i}"))
    return out


def meta_query(org: str, repos: Sequence[Repo]) -> str:
    """One GraphQL query for ``repos``: each one's recipe, whether it allows auto-merge and
    its default branch (null while the repository is empty). Fields as GitHub's schema
    (octokit/graphql-schema) has them: ``Repository.autoMergeAllowed: Boolean!``,
    ``defaultBranchRef: Ref``."""
    blocks = [
        f"r{i}: repository(owner: {json.dumps(org)}, name: {json.dumps(r.name)}) {{ "
        "autoMergeAllowed defaultBranchRef { name } "
        f'meta: object(expression: "HEAD:{META_FILE}") {{ ... on Blob {{ text }} }} }}'
        for i, r in enumerate(repos)
    ]
    return "query { " + " ".join(blocks) + " }"


def parse_node(repo: Repo, node: Any) -> Existing:
    """One repository's block of the answer; keys GitHub left out stay unknown (``None``)."""
    node = node if isinstance(node, dict) else {}
    blob = node.get("meta")
    meta = blob.get("text") if isinstance(blob, dict) else None
    auto = node.get("autoMergeAllowed")
    empty = node["defaultBranchRef"] is None if "defaultBranchRef" in node else None
    return Existing(
        repo,
        meta if isinstance(meta, str) else None,
        empty=empty,
        auto_merge=auto if isinstance(auto, bool) else None,
    )


def same_recipe(remote: str, local: str) -> bool:
    """The feedstock holds the recipe's meta.yaml (init copies it as it is): same text, line
    endings and trailing blank space aside."""

    def plain(text: str) -> str:
        return "\n".join(line.rstrip() for line in text.strip().splitlines())

    return plain(remote) == plain(local)


def unfinished(client: GitHubClient, found: Existing, *, secret: bool) -> list[str]:
    """What register-github has yet to do on ``found``: nothing when it allows auto-merge and,
    if a secret is to be stored, holds it."""
    from github import UnknownObjectException

    name = found.repo.full_name
    missing = []
    allowed = found.auto_merge
    if allowed is None:
        with github_errors(f"read {name}", client):
            allowed = bool(client.github.get_repo(name).allow_auto_merge)
    if not allowed:
        missing.append("auto-merge off")
    if secret:
        url = f"/repos/{name}/actions/secrets/{SECRET_NAME}"
        with github_errors(f"read the {SECRET_NAME} secret of {name}", client):
            try:
                client.github.requester.requestJsonAndCheck("GET", url)
            except UnknownObjectException:
                missing.append(f"no {SECRET_NAME} secret")
    return missing


def is_empty(client: GitHubClient, found: Existing) -> bool:
    """The repository has no default branch yet (GitHub answers 404 for it)."""
    from github import UnknownObjectException

    if found.empty is not None:
        return found.empty
    name, branch = found.repo.full_name, found.repo.default_branch
    with github_errors(f"read {branch} of {name}", client):
        try:
            client.github.get_repo(name).get_branch(branch)
        except UnknownObjectException:
            return True
    return False


def clone(client: GitHubClient, found: Existing, dest: Path) -> None:
    """The default branch's tip into ``dest``, so that register-github finds the repository
    already holds it (no push) and does the steps that are left."""
    from smithy.github.register import git_auth_env
    from smithy.gitio import LocalRepo

    url, branch = found.repo.clone_url, found.repo.default_branch
    LocalRepo(dest.parent).git(
        "clone",
        "--quiet",
        "--depth=1",
        f"--branch={branch}",
        url,
        str(dest),
        what=f"clone {found.repo.full_name}",
        env=git_auth_env(client, url) if found.repo.private else None,
    )
