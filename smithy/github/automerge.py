"""Auto-merge for the bot's pull requests: GitHub merges one itself once its requirements are met.

GraphQL ``enablePullRequestAutoMerge(input: EnablePullRequestAutoMergeInput!):
EnablePullRequestAutoMergePayload`` (octokit/graphql-schema, ``schema.graphql``): the input's
``pullRequestId: ID!`` is the pull request's REST ``node_id``, its ``mergeMethod:
PullRequestMergeMethod`` one of MERGE, SQUASH, REBASE (MERGE when left out); the payload's
``pullRequest: PullRequest`` has ``autoMergeRequest: AutoMergeRequest`` (``enabledAt:
DateTime``, ``mergeMethod: PullRequestMergeMethod!``). GitHub then merges "when all required
reviews are met and all required status checks have passed" (docs, "Automatically merging a
pull request").

GitHub refuses with an error of type UNPROCESSABLE or FORBIDDEN beside ``data:
{enablePullRequestAutoMerge: null}`` when the repository does not allow auto-merge, when the
pull request could be merged now (nothing to wait for: no required check or review pending, as
on a branch that requires none), or when the credentials lack Contents or Pull requests write
(sources in docs/development.md). Those refusals are answers, not failures: ``enabled=False``
with GitHub's words and what they mean. Anything else is a GitHubError.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from smithy.github.client import GitHubClient, GitHubError, github_errors

METHODS = ("MERGE", "SQUASH", "REBASE")
REFUSALS = ("UNPROCESSABLE", "FORBIDDEN")
MUTATION = (
    "mutation($id: ID!, $method: PullRequestMergeMethod!) { "
    "enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: $method}) { "
    "pullRequest { number autoMergeRequest { enabledAt mergeMethod } } } }"
)
# What GitHub's refusals mean, by words of their messages (GitHub's own follow the colon).
MEANINGS = (
    ("not allowed for this repository", "the repository's Allow auto-merge setting is off"),
    ("clean status", "it can be merged now, so there is nothing to wait for"),
    ("unstable status", "it can be merged now (only checks that are not required fail)"),
    ("has_hooks status", "it can be merged now, so there is nothing to wait for"),
    ("draft status", "a draft cannot be merged"),
    ("not accessible by", "the credentials need Contents and Pull requests (write)"),
    ("not allowed to push", "the credentials need Contents and Pull requests (write)"),
)


@dataclass(frozen=True)
class AutomergeResult:
    """Whether GitHub will merge the pull request by itself, and why (one line)."""

    enabled: bool
    reason: str


def wants_automerge(config_automerge: bool, has_tests: bool) -> bool:
    """The rule: auto-merge only where the feedstock opted in (``bot.automerge``) and its
    recipe has tests, so that passing checks mean something."""
    return config_automerge and has_tests


def enable_automerge(
    client: GitHubClient, full_name: str, number: int, *, method: str = "SQUASH"
) -> AutomergeResult:
    """Ask GitHub to merge ``full_name``'s pull request ``number`` once its requirements are
    met. One REST read (its state, ``node_id`` and ``auto_merge``), then the mutation unless
    it is closed or auto-merge is on already."""
    method = _method(method)
    where = f"{full_name}#{number}"
    with github_errors(f"read the pull request {where}", client):
        pull = client.github.get_repo(full_name).get_pull(number)  # lazy: one GET
        state, merged, current, node_id = pull.state, pull.merged, pull.auto_merge, pull.node_id
    if state != "open":
        return AutomergeResult(False, f"{where} is {'merged' if merged else 'closed'}")
    if current:
        how = str(current.get("merge_method") or "").lower()
        return AutomergeResult(True, f"auto-merge ({how}) is already enabled on {where}")
    return enable_automerge_by_id(client, node_id, method=method, where=where)


def enable_automerge_by_id(
    client: GitHubClient, node_id: str, *, method: str = "SQUASH", where: str | None = None
) -> AutomergeResult:
    """The mutation for the pull request whose GraphQL id is ``node_id`` (``where`` names it
    in the reason)."""
    from github import GithubException

    method, where = _method(method), where or node_id
    variables = {"id": node_id, "method": method}
    with github_errors(f"enable auto-merge on {where}", client):
        try:
            _, answer = client.github.requester.graphql_query(MUTATION, variables)
        except GithubException as exc:
            if (refused := _refusal(exc.data)) is None:
                raise
            return AutomergeResult(False, f"GitHub did not enable auto-merge on {where}: {refused}")
    payload = (answer.get("data") or {}).get("enablePullRequestAutoMerge") or {}
    request = (payload.get("pullRequest") or {}).get("autoMergeRequest")
    if not request:
        return AutomergeResult(False, f"GitHub answered but holds no auto-merge for {where}")
    how = str(request.get("mergeMethod") or method).lower()
    return AutomergeResult(
        True, f"auto-merge ({how}) enabled on {where}: GitHub merges it once its checks pass"
    )


def _method(method: str) -> str:
    if method.upper() not in METHODS:
        raise GitHubError(f"unknown merge method {method!r}: one of {', '.join(METHODS)}")
    return method.upper()


def _refusal(data: Any) -> str | None:
    """GitHub's words and their meaning when every error is an expected refusal, else None."""
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list) or not errors:
        return None
    if not all(isinstance(e, dict) and e.get("type") in REFUSALS for e in errors):
        return None
    said = _words(errors[0].get("message"))
    meaning = next((m for words, m in MEANINGS if words in said.lower()), None)
    return f"{said} ({meaning})" if meaning else said


def _words(message: object) -> str:
    """A message's first line; also as GitHub wrote them in 2022, a JSON list in the string
    (``["Pull request Pull request is in clean status"]``)."""
    text = str(message or "no message").strip()
    if text.startswith("["):
        try:
            listed = json.loads(text)
        except ValueError:
            listed = None
        if isinstance(listed, list) and listed:
            text = "; ".join(str(item) for item in listed)
    return text.splitlines()[0] if text else "no message"
