"""Auto-merge of the bot's pull requests against the GitHub stand-in: enabled where GitHub allows
it, and each of GitHub's refusals an answer with its reason, never an exception."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github.PullRequest import PullRequest

from smithy.feedstock.init import run_init
from smithy.github.automerge import (
    AutomergeResult,
    enable_automerge,
    enable_automerge_by_id,
    wants_automerge,
)
from smithy.github.client import GitHubClient, GitHubError, make_client
from smithy.github.register import run_register
from tests.helpers import PURE_SDIST, write_recipe
from tests.integration.conftest import GITHUB_LOGIN, GITHUB_ORG, git
from tests.integration.github_standin import GitHubStandIn
from tests.integration.github_store import README_GRANTS, Refusal, Store

ORG, NAME = GITHUB_ORG, "example-pkg-feedstock"
FULL = f"{ORG}/{NAME}"
BRANCH = "pyodide-smithy/xbuildenv-314.0.5"
TITLE = "Rebuild for Pyodide 314.0.5"


def open_pr(stand: GitHubStandIn, tmp_path: Path, name: str = NAME) -> int:
    """A branch on top of main with one more file, and the bot's PR from it; its number."""
    work = tmp_path / f"clone-{name}"
    subprocess.run(["git", "clone", "-q", stand.clone_url(ORG, name), str(work)], check=True)
    git(work, "checkout", "-q", "-b", BRANCH)
    (work / "bump.txt").write_text("314.0.5\n")
    git(work, "add", "bump.txt")
    git(work, "-c", "user.name=bot", "-c", "user.email=bot@example.invalid", "commit", "-qm", "b")
    git(work, "push", "-q", "origin", f"HEAD:refs/heads/{BRANCH}")
    repo = make_client().github.get_repo(f"{ORG}/{name}")
    return repo.create_pull(base="main", head=BRANCH, title=TITLE, body="What changed").number


def protect(client: GitHubClient, *, checks: bool = True, reviews: int = 0) -> None:
    """Branch protection on main as register-github sets it, with or without required checks."""
    branch = client.github.get_repo(FULL).get_branch("main")
    branch.edit_protection(
        strict=True,
        checks=["build", "test"] if checks else [],
        required_approving_review_count=reviews,
    )


def allowed(client: GitHubClient, allow: bool = True) -> None:
    client.github.get_repo(FULL).edit(allow_auto_merge=allow)


@pytest.fixture
def client(stand: GitHubStandIn) -> GitHubClient:
    """The repository with main protected (required checks ``build``, ``test``) and auto-merge
    allowed; the bot's client."""
    stand.create_repo(ORG, NAME)
    found = make_client()
    protect(found)
    allowed(found)
    return found


def rest(client: GitHubClient, number: int) -> PullRequest:
    return client.github.get_repo(FULL).get_pull(number)


def test_a_registered_feedstock_merges_the_bots_pr_once_checks_pass_and_it_is_approved(
    stand: GitHubStandIn, tmp_path: Path
) -> None:
    recipe = write_recipe(tmp_path / "src" / "example-pkg", PURE_SDIST)
    feedstock = run_init(str(recipe), output=tmp_path / NAME).feedstock
    assert run_register(feedstock, org=ORG, secret_token=None).auto_merge
    number = open_pr(stand, tmp_path)
    client = make_client()

    result = enable_automerge(client, FULL, number)
    assert result.enabled, result.reason
    assert result.reason == (
        f"auto-merge (squash) enabled on {FULL}#{number}: GitHub merges it once its checks pass"
    )
    auto = rest(client, number).auto_merge
    assert auto["merge_method"] == "squash"
    assert auto["enabled_by"]["login"] == GITHUB_LOGIN
    assert auto["commit_title"] == f"{TITLE} (#{number})"

    # register-github requires one approving review: passing checks alone do not merge it
    assert stand.set_checks(ORG, NAME, number, "SUCCESS") == []
    assert rest(client, number).mergeable_state == "blocked"
    assert stand.approve(ORG, NAME, number) == [number]
    merged = rest(client, number)
    assert (merged.merged, merged.merged_by.login) == (True, GITHUB_LOGIN)
    bare = stand.git_root / ORG / f"{NAME}.git"
    assert git(bare, "show", "main:bump.txt") == "314.0.5\n"
    assert git(bare, "log", "-1", "--format=%s", "main").strip() == f"{TITLE} (#{number})"
    assert git(bare, "rev-list", "--count", "--merges", "main").strip() == "0"  # squashed

    after = enable_automerge(client, FULL, number)
    assert after == AutomergeResult(False, f"{FULL}#{number} is merged")


def test_checks_that_fail_never_merge(
    stand: GitHubStandIn, tmp_path: Path, client: GitHubClient
) -> None:
    number = open_pr(stand, tmp_path)
    assert enable_automerge(client, FULL, number).enabled
    assert stand.set_checks(ORG, NAME, number, "FAILURE") == []
    assert stand.set_checks(ORG, NAME, number, "PENDING") == []
    assert not rest(client, number).merged
    assert stand.set_checks(ORG, NAME, number, "SUCCESS") == [number]


def test_enabling_again_sends_nothing(
    stand: GitHubStandIn, tmp_path: Path, client: GitHubClient
) -> None:
    number = open_pr(stand, tmp_path)
    assert enable_automerge(client, FULL, number, method="merge").enabled
    again = enable_automerge(client, FULL, number)
    assert again.enabled
    assert again.reason == f"auto-merge (merge) is already enabled on {FULL}#{number}"
    assert stand.count("POST", "/graphql") == 1


def test_a_repository_that_does_not_allow_auto_merge(
    stand: GitHubStandIn, tmp_path: Path, client: GitHubClient
) -> None:
    allowed(client, False)
    number = open_pr(stand, tmp_path)
    result = enable_automerge(client, FULL, number)
    assert not result.enabled
    assert result.reason == (
        f"GitHub did not enable auto-merge on {FULL}#{number}: Pull request Auto merge is not "
        "allowed for this repository (the repository's Allow auto-merge setting is off)"
    )
    assert rest(client, number).auto_merge is None


@pytest.mark.parametrize(
    "case",
    [
        (False, None, "clean"),  # protection without required checks: nothing to wait for
        (True, "SUCCESS", "clean"),  # the required checks passed already
        (False, "FAILURE", "unstable"),  # failing checks, none of them required
    ],
)
def test_a_pr_that_can_merge_now_is_left_to_maintainers(
    stand: GitHubStandIn, tmp_path: Path, client: GitHubClient, case: tuple[bool, str | None, str]
) -> None:
    checks, rollup, status = case
    protect(client, checks=checks)
    number = open_pr(stand, tmp_path)
    if rollup:
        stand.set_checks(ORG, NAME, number, rollup)
    result = enable_automerge(client, FULL, number)
    assert not result.enabled
    assert f"Pull request Pull request is in {status} status (it can be merged now" in result.reason
    pull = rest(client, number)
    assert (pull.merged, pull.mergeable_state) == (False, status)
    assert pull.auto_merge is None


def test_githubs_2022_wording_reads_the_same(
    stand: GitHubStandIn, tmp_path: Path, client: GitHubClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GitHub wrote the message as a JSON list in 2022 (a README that captured the answer, in a
    fork of iterative/workshop-uncool-mlops)."""
    number = open_pr(stand, tmp_path)

    def refuse(*_: object) -> None:
        raise Refusal("UNPROCESSABLE", '["Pull request Pull request is in clean status"]')

    monkeypatch.setattr(Store, "enable_auto_merge", refuse)
    result = enable_automerge(client, FULL, number)
    assert not result.enabled
    assert result.reason.endswith(
        ": Pull request Pull request is in clean status (it can be merged now, so there is "
        "nothing to wait for)"
    )


def test_credentials_that_may_not_push_are_refused_with_a_reason(
    stand: GitHubStandIn, tmp_path: Path, client: GitHubClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = open_pr(stand, tmp_path)
    stand.add_user("reader", "ghp_reader", permission={ORG: "read"})
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_reader")
    result = enable_automerge(make_client(), FULL, number)
    assert not result.enabled
    assert result.reason.endswith(
        ": Resource not accessible by personal access token (the credentials need Contents and "
        "Pull requests (write))"
    )
    assert rest(client, number).auto_merge is None


def as_app(
    stand: GitHubStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, grants: dict[str, str]
) -> GitHubClient:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    stand.add_app(4242, 77, permissions=grants)
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("PYODIDE_SMITHY_GITHUB_APP_ID", "4242")
    monkeypatch.setenv("PYODIDE_SMITHY_GITHUB_APP_KEY", pem.decode())
    monkeypatch.setenv("PYODIDE_SMITHY_GITHUB_INSTALLATION_ID", "77")
    return make_client()


def test_the_bots_app_may_enable_it(
    stand: GitHubStandIn, tmp_path: Path, client: GitHubClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The admin README's App (Contents, Workflows, Pull requests write) is enough."""
    number = open_pr(stand, tmp_path)
    app = as_app(stand, tmp_path, monkeypatch, README_GRANTS)
    assert enable_automerge(app, FULL, number).enabled
    assert rest(client, number).auto_merge["enabled_by"]["login"] == "pyodide-smithy[bot]"


def test_an_app_without_contents_write_is_refused_with_a_reason(
    stand: GitHubStandIn, tmp_path: Path, client: GitHubClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = open_pr(stand, tmp_path)
    app = as_app(stand, tmp_path, monkeypatch, README_GRANTS | {"contents": "read"})
    result = enable_automerge(app, FULL, number)
    assert not result.enabled
    assert "Resource not accessible by integration (the credentials need" in result.reason


def test_a_closed_pr_is_not_asked_for(
    stand: GitHubStandIn, tmp_path: Path, client: GitHubClient
) -> None:
    number = open_pr(stand, tmp_path)
    stand.close(ORG, NAME, number)
    assert enable_automerge(client, FULL, number).reason == f"{FULL}#{number} is closed"
    assert stand.count("POST", "/graphql") == 0


def test_an_unknown_node_id_or_pull_request_is_an_error(
    stand: GitHubStandIn, client: GitHubClient
) -> None:
    with pytest.raises(GitHubError) as unknown:
        enable_automerge_by_id(client, "PR_kwDOnothing")
    assert str(unknown.value) == (
        "GitHub refused to enable auto-merge on PR_kwDOnothing: 404 Could not resolve to a node "
        "with the global id of 'PR_kwDOnothing'"
    )
    with pytest.raises(GitHubError, match=f"read the pull request {FULL}#99: 404 Not Found"):
        enable_automerge(client, FULL, 99)


def test_an_unknown_merge_method_is_refused_before_asking(
    stand: GitHubStandIn, client: GitHubClient
) -> None:
    with pytest.raises(GitHubError, match="unknown merge method 'fast-forward'"):
        enable_automerge(client, FULL, 1, method="fast-forward")
    assert stand.count("GET", f"/repos/{FULL}/pulls/1") == 0


@pytest.mark.parametrize(
    ("opted_in", "has_tests", "wanted"),
    [(True, True, True), (True, False, False), (False, True, False), (False, False, False)],
)
def test_auto_merge_only_for_opted_in_feedstocks_with_tests(
    opted_in: bool, has_tests: bool, wanted: bool
) -> None:
    assert wants_automerge(opted_in, has_tests) is wanted
