"""The GitHub stand-in is faithful: PyGithub 2.10 drives it, pushes are real git."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import (
    Auth,
    BadCredentialsException,
    Github,
    GithubException,
    UnknownObjectException,
)

from tests.integration.conftest import git
from tests.integration.github_standin import GitHubStandIn, running_github

ORG, LOGIN, TOKEN = "pyodide-feedstocks", "smithy-bot", "bot-token"
BRANCH = "smithy/numpy-2-abi"
CONFIG = "pyodide-smithy.yml"


@pytest.fixture
def stand() -> Iterator[GitHubStandIn]:
    with running_github() as github:
        github.add_org(ORG)
        github.add_user(LOGIN, TOKEN)
        yield github


def client(stand: GitHubStandIn, auth: Auth.Auth | None = None, per_page: int = 30) -> Github:
    return Github(
        auth=auth or Auth.Token(TOKEN),
        base_url=stand.base_url,
        per_page=per_page,
        seconds_between_requests=0,
        seconds_between_writes=0,
        lazy=True,
    )


def push_branch(
    stand: GitHubStandIn, tmp_path: Path, repo: str, branch: str, files: dict[str, str]
) -> str:
    """Clone the file:// remote, commit ``files`` on ``branch`` and push it with real git."""
    work = Path(tempfile.mkdtemp(dir=tmp_path)) / repo
    subprocess.run(["git", "clone", "-q", stand.clone_url(ORG, repo), str(work)], check=True)
    git(work, "config", "user.name", "Bot")
    git(work, "config", "user.email", "bot@example.invalid")
    remote = git(work, "ls-remote", "origin", f"refs/heads/{branch}").split()
    git(work, "checkout", "-q", "-B", branch, *remote[:1])
    for name, text in files.items():
        (work / name).write_text(text)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", f"change {', '.join(files)}")
    git(work, "push", "-q", "origin", f"HEAD:refs/heads/{branch}")
    return git(work, "rev-parse", "HEAD").strip()


def test_org_repos_paginate_without_completing_objects(stand: GitHubStandIn) -> None:
    names = {f"pkg{i}-feedstock" for i in range(7)}
    for name in names:
        stand.create_repo(ORG, name, archived=name == "pkg3-feedstock")
    repos = list(client(stand, per_page=3).get_organization(ORG).get_repos())
    assert {r.name for r in repos} == names
    assert {r.full_name for r in repos} == {f"{ORG}/{n}" for n in names}
    assert [r.name for r in repos if r.archived] == ["pkg3-feedstock"]
    assert all(r.default_branch == "main" and not r.private for r in repos)
    assert all(r.url.startswith(stand.base_url) and r.owner.login == ORG for r in repos)
    assert repos[0].clone_url == stand.clone_url(ORG, repos[0].name)
    assert stand.count("GET", f"/orgs/{ORG}/repos") == 1
    assert stand.count("GET", r"/organizations/\d+/repos") == 2  # the Link URLs, as GitHub's
    assert len(stand.requests) == 3  # nothing lazily completed, no GET /orgs/{o}
    assert client(stand, per_page=3).get_organization(ORG).get_repos().totalCount == 7


def test_read_a_file_and_a_directory(stand: GitHubStandIn) -> None:
    files: dict[str, str | bytes] = {CONFIG: "abi: 2025\n", "recipe/recipe.yaml": "name: numpy\n"}
    stand.create_repo(ORG, "numpy-feedstock", files)
    repo = client(stand).get_repo(f"{ORG}/numpy-feedstock")
    found = repo.get_contents("recipe/recipe.yaml", ref="main")
    assert not isinstance(found, list)
    assert found.decoded_content == b"name: numpy\n"
    assert (found.path, found.encoding) == ("recipe/recipe.yaml", "base64")
    assert (
        found.sha
        == git(
            stand.git_root / ORG / "numpy-feedstock.git", "rev-parse", "main:recipe/recipe.yaml"
        ).strip()
    )
    listing = repo.get_contents("")
    assert isinstance(listing, list)
    assert sorted((c.name, c.type) for c in listing) == [(CONFIG, "file"), ("recipe", "dir")]
    with pytest.raises(UnknownObjectException):
        repo.get_contents("missing.yml")
    with pytest.raises(UnknownObjectException):
        client(stand).get_repo(f"{ORG}/no-such-feedstock").get_contents(CONFIG)


def test_pull_request_lifecycle(stand: GitHubStandIn, tmp_path: Path) -> None:
    bare = stand.create_repo(ORG, "numpy-feedstock", {"recipe.yaml": "abi: 1\n"})
    pushed = push_branch(stand, tmp_path, "numpy-feedstock", BRANCH, {"recipe.yaml": "abi: 2\n"})
    repo = client(stand).get_repo(f"{ORG}/numpy-feedstock")
    pr = repo.create_pull(base="main", head=BRANCH, title="Rebuild for ABI 2", body="Why")
    assert (pr.number, pr.head.sha, pr.merged) == (1, pushed, False)
    assert pr.issue_url == f"{stand.base_url}/repos/{ORG}/numpy-feedstock/issues/1"
    with pytest.raises(GithubException) as duplicate:
        repo.create_pull(base="main", head=BRANCH, title="again", body="")
    assert duplicate.value.status == 422
    assert (
        duplicate.value.data["errors"][0]["message"]
        == f"A pull request already exists for {ORG}:{BRANCH}."
    )
    with pytest.raises(GithubException) as no_branch:
        repo.create_pull(base="main", head="not-pushed", title="t", body="")
    assert no_branch.value.status == 422

    before = len(stand.requests)
    (listed,) = repo.get_pulls(state="open", head=f"{ORG}:{BRANCH}")
    assert (listed.number, listed.state, listed.title, listed.head.ref) == (
        1,
        "open",
        "Rebuild for ABI 2",
        BRANCH,
    )
    assert listed.html_url.endswith("/pull/1")
    assert listed.url == pr.url
    assert len(stand.requests) == before + 1  # the list item was complete
    assert list(repo.get_pulls(state="open", head=f"{ORG}:other")) == []

    pr.edit(title="Rebuild for ABI 2 (updated)", body="Why, again")
    pr.add_to_labels("bot-rerun")
    pr.set_labels("migration", "bot-rerun")
    pr.remove_from_labels("migration")
    assert [label["name"] for label in stand.pulls(ORG, "numpy-feedstock")[0]["labels"]] == [
        "bot-rerun"
    ]
    assert [label.name for label in pr.get_labels()] == ["bot-rerun"]
    comment = pr.create_issue_comment("Waiting for scipy")
    assert comment.id > 0
    assert [c.body for c in pr.get_issue_comments()] == ["Waiting for scipy"]

    stand.close(ORG, "numpy-feedstock", 1)  # a maintainer closes it
    assert repo.get_pull(1).state == "closed"
    assert list(repo.get_pulls(state="open", head=f"{ORG}:{BRANCH}")) == []
    assert [p.number for p in repo.get_pulls(state="closed", head=f"{ORG}:{BRANCH}")] == [1]
    pr.edit(state="open")
    assert repo.get_pull(1).state == "open"

    again = push_branch(stand, tmp_path, "numpy-feedstock", BRANCH, {"extra.txt": "x\n"})
    assert repo.get_pull(1).head.sha == again  # the PR follows its branch
    assert not repo.get_pull(1).is_merged()
    stand.merge(ORG, "numpy-feedstock", 1)
    merged = repo.get_pull(1)
    assert (merged.merged, merged.state, merged.is_merged()) == (True, "closed", True)
    assert git(bare, "show", "main:recipe.yaml") == "abi: 2\n"
    assert git(bare, "rev-parse", "main^2").strip() == again  # a real merge commit
    assert merged.title == "Rebuild for ABI 2 (updated)"


def test_a_post_that_fails_after_acting_is_retried_into_a_duplicate(
    stand: GitHubStandIn, tmp_path: Path
) -> None:
    stand.create_repo(ORG, "numpy-feedstock")
    push_branch(stand, tmp_path, "numpy-feedstock", BRANCH, {"x.txt": "x\n"})
    stand.faults.add("POST", "/pulls$", 502, after=True)
    repo = client(stand).get_repo(f"{ORG}/numpy-feedstock")
    with pytest.raises(GithubException) as retried:
        repo.create_pull(base="main", head=BRANCH, title="t", body="")
    assert retried.value.status == 422  # PyGithub re-sent the POST; the first one had acted
    assert stand.count("POST", f"/repos/{ORG}/numpy-feedstock/pulls") == 2
    assert [p["number"] for p in stand.pulls(ORG, "numpy-feedstock")] == [1]


def test_refs_are_the_bare_repository(stand: GitHubStandIn) -> None:
    bare = stand.create_repo(ORG, "scipy-feedstock")
    main = git(bare, "rev-parse", "main").strip()
    repo = client(stand).get_repo(f"{ORG}/scipy-feedstock")
    assert repo.get_git_ref("heads/main").object.sha == main
    created = repo.create_git_ref("refs/heads/smithy/x", main)
    assert git(bare, "rev-parse", "smithy/x").strip() == main
    with pytest.raises(GithubException) as exists:
        repo.create_git_ref("refs/heads/smithy/x", main)
    assert exists.value.status == 422
    assert repo.get_branch("smithy/x").commit.sha == main
    created.delete()
    assert "smithy/x" not in git(bare, "branch", "--list")
    with pytest.raises(UnknownObjectException):
        repo.get_git_ref("heads/smithy/x").object  # noqa: B018 (lazy: the access is the GET)


def test_create_repo_protect_branch_and_set_secret(stand: GitHubStandIn, tmp_path: Path) -> None:
    org = client(stand).get_organization(ORG)
    repo = org.create_repo("scipy-feedstock")
    assert (repo.full_name, repo.default_branch) == (f"{ORG}/scipy-feedstock", "main")
    assert git(stand.git_root / ORG / "scipy-feedstock.git", "for-each-ref") == ""  # empty
    with pytest.raises(GithubException) as taken:
        org.create_repo("scipy-feedstock")
    assert taken.value.status == 422
    push_branch(stand, tmp_path, "scipy-feedstock", "main", {"README.md": "# scipy\n"})

    branch = repo.get_branch("main")
    branch.edit_protection(
        strict=True, checks=["ci"], enforce_admins=True, required_approving_review_count=1
    )
    sent = stand.protection(ORG, "scipy-feedstock", "main")
    assert sent is not None
    assert len(sent) == 11  # every protection key, null where unset
    assert sent["required_status_checks"] == {"strict": True, "checks": [{"context": "ci"}]}
    protection = branch.get_protection()
    assert protection.required_status_checks.contexts == ["ci"]
    assert protection.enforce_admins is True
    assert repo.get_branch("main").protected

    repo.create_secret("ANACONDA_TOKEN", "s3cr3t-é")
    assert stand.secrets(ORG, "scipy-feedstock") == {"ANACONDA_TOKEN": "s3cr3t-é"}
    repo.create_secret("ANACONDA_TOKEN", "rotated")
    assert stand.secrets(ORG, "scipy-feedstock") == {"ANACONDA_TOKEN": "rotated"}


def rsa_pem() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private.decode(), public.decode()


def test_app_installation_token(stand: GitHubStandIn) -> None:
    private, public = rsa_pem()
    stand.add_app(4242, 77, public_key_pem=public)
    stand.create_repo(ORG, "numpy-feedstock", {CONFIG: "abi: 1\n"})
    auth = Auth.AppAuth(4242, private).get_installation_auth(77)
    gh = client(stand, auth=auth)
    found = gh.get_repo(f"{ORG}/numpy-feedstock").get_contents(CONFIG)
    assert not isinstance(found, list)
    assert found.decoded_content == b"abi: 1\n"
    gh.get_repo(f"{ORG}/numpy-feedstock").get_contents(CONFIG)
    assert stand.count("POST", "/app/installations/77/access_tokens") == 1  # cached for an hour
    assert gh.get_user().login == "pyodide-smithy[bot]"

    wrong, _ = rsa_pem()
    forged = client(stand, auth=Auth.AppAuth(4242, wrong).get_installation_auth(77))
    with pytest.raises(GithubException) as refused:
        forged.get_repo(f"{ORG}/numpy-feedstock").get_contents(CONFIG)
    assert refused.value.status == 401
    unknown = client(stand, auth=Auth.AppAuth(4242, private).get_installation_auth(78))
    with pytest.raises(UnknownObjectException):
        unknown.get_repo(f"{ORG}/numpy-feedstock").get_contents(CONFIG)


def test_graphql_reads_configs_in_one_request(stand: GitHubStandIn) -> None:
    stand.create_repo(ORG, "a-feedstock", {CONFIG: "abi: 1\n"})
    stand.create_repo(ORG, "b-feedstock", {"README.md": "no config\n"})
    block = 'f{i}: repository(owner: "{org}", name: "{name}") {{ object(expression: "HEAD:{path}") {{ ... on Blob {{ text }} }} }}'
    names = ["a-feedstock", "b-feedstock"]
    aliases = " ".join(block.format(i=i, org=ORG, name=n, path=CONFIG) for i, n in enumerate(names))
    gh = client(stand)
    _, data = gh.requester.graphql_query(f"query {{ {aliases} }}", {})
    assert data == {"data": {"f0": {"object": {"text": "abi: 1\n"}}, "f1": {"object": None}}}
    query = 'query($o: String!, $n: String!) { repository(owner: $o, name: $n) { object(expression: "HEAD:x") { ... on Blob { text } } } }'
    with pytest.raises(UnknownObjectException):
        gh.requester.graphql_query(query, {"o": ORG, "n": "missing"})
    assert stand.count("POST", "/graphql") == 2


def test_errors_faults_and_counting(stand: GitHubStandIn) -> None:
    stand.create_repo(ORG, "numpy-feedstock", {CONFIG: "abi: 1\n"})
    with pytest.raises(BadCredentialsException):
        client(stand, auth=Auth.Token("wrong")).get_repo(f"{ORG}/numpy-feedstock").get_contents(
            CONFIG
        )
    with pytest.raises(UnknownObjectException):
        client(stand).get_repo(f"{ORG}/numpy-feedstock").get_pull(9).title  # noqa: B018

    repo = client(stand).get_repo(f"{ORG}/numpy-feedstock")
    path = f"/repos/{ORG}/numpy-feedstock/contents/{CONFIG}"
    stand.faults.add("GET", "/contents/", 500)
    repo.get_contents(CONFIG)
    assert stand.count("GET", path) == 3  # the bad-credentials one, the 500 and its retry
    stand.faults.rate_limit("GET", "/contents/", retry_after=0)  # secondary
    stand.faults.rate_limit("GET", "/contents/", reset_in=-1)  # already reset: no real wait
    repo.get_contents(CONFIG)
    assert stand.count("GET", path) == 6
    stand.faults.drop.append(("GET", "/contents/"))
    repo.get_contents(CONFIG)
    assert stand.count("GET", path) == 8
    stand.faults.add("PATCH", "/git/refs?/", 502)
    with pytest.raises(GithubException) as not_retried:
        repo.get_git_ref("heads/main").edit(
            git(stand.git_root / ORG / "numpy-feedstock.git", "rev-parse", "main").strip()
        )
    assert not_retried.value.status == 502
    assert stand.endpoints["GET /repos/{o}/{r}/contents/{path*}"] == 8
    assert stand.endpoints["PATCH /repos/{o}/{r}/git/ref/{ref*}"] == 1  # lazy GitRef: singular
    assert stand.count("GET", r"/repos/[^/]+/[^/]+/pulls/\d+") == 1
    assert not stand.faults.fail
    assert not stand.faults.drop


def test_permissions_and_archived_repositories(stand: GitHubStandIn, tmp_path: Path) -> None:
    stand.create_repo(ORG, "numpy-feedstock")
    stand.create_repo(ORG, "old-feedstock", archived=True)
    push_branch(stand, tmp_path, "numpy-feedstock", BRANCH, {"x.txt": "x\n"})
    stand.add_user("reader", "reader-token", permission={f"{ORG}/numpy-feedstock": "read"})
    reader = client(stand, auth=Auth.Token("reader-token"))
    repo = reader.get_repo(f"{ORG}/numpy-feedstock")
    with pytest.raises(GithubException) as denied:
        repo.create_pull(base="main", head=BRANCH, title="t", body="")
    assert denied.value.status == 403
    with pytest.raises(GithubException) as no_write:  # the key is readable, the write is not
        repo.create_secret("TOKEN", "x")
    assert no_write.value.status == 403
    assert stand.secrets(ORG, "numpy-feedstock") == {}
    archived = client(stand).get_repo(f"{ORG}/old-feedstock")
    with pytest.raises(GithubException) as read_only:
        archived.create_git_ref("refs/heads/x", "0" * 40)
    assert read_only.value.status == 403
    hidden = stand.create_repo(ORG, "secret-feedstock", private=True)
    assert hidden.exists()
    with pytest.raises(UnknownObjectException):  # private repositories 404 to outsiders
        client(stand, auth=Auth.Token("reader-token")).get_repo(
            f"{ORG}/secret-feedstock"
        ).get_contents("README.md")


@pytest.fixture
def writer(stand: GitHubStandIn) -> Github:
    """A user with the write role on the org's repositories, not admin."""
    stand.create_repo(ORG, "numpy-feedstock")
    stand.add_user("writer", "writer-token", permission={ORG: "write"})
    return client(stand, auth=Auth.Token("writer-token"))


def test_branch_protection_answers_404_to_a_writer(stand: GitHubStandIn, writer: Github) -> None:
    """Admin-only: "404 Not Found for an existing resource" (docs, "Troubleshooting the REST
    API"); the OpenAPI description's ``GET …/protection`` answers only 200 or 404."""
    branch = writer.get_repo(f"{ORG}/numpy-feedstock").get_branch("main")
    with pytest.raises(UnknownObjectException):
        branch.edit_protection(strict=True, checks=["ci"])
    assert stand.protection(ORG, "numpy-feedstock", "main") is None


def test_branch_protection_reads_answer_404_to_a_writer(writer: Github) -> None:
    with pytest.raises(UnknownObjectException):
        writer.get_repo(f"{ORG}/numpy-feedstock").get_branch("main").get_protection()


def test_the_secrets_public_key_needs_only_read(stand: GitHubStandIn) -> None:
    """OpenAPI, "Get a repository public key": "Anyone with read access to the repository"."""
    stand.create_repo(ORG, "numpy-feedstock")
    stand.add_user("reader", "reader-token", permission={ORG: "read"})
    repo = client(stand, auth=Auth.Token("reader-token")).get_repo(f"{ORG}/numpy-feedstock")
    assert repo.get_public_key().key_id


def test_a_writer_may_set_a_secret(stand: GitHubStandIn, writer: Github) -> None:
    """OpenAPI: "collaborator access"; github/docs#1087: write, through the API, by design."""
    writer.get_repo(f"{ORG}/numpy-feedstock").create_secret("TOKEN", "x")
    assert stand.secrets(ORG, "numpy-feedstock") == {"TOKEN": "x"}


def test_a_ref_is_patched_only_through_git_refs(stand: GitHubStandIn) -> None:
    """OpenAPI paths: ``git/ref/{ref}`` has GET only; PATCH and DELETE are ``git/refs/{ref}``'s."""
    bare = stand.create_repo(ORG, "numpy-feedstock")
    main = git(bare, "rev-parse", "main").strip()
    requester = client(stand).requester
    path = f"/repos/{ORG}/numpy-feedstock/git/ref/heads/main"
    with pytest.raises(UnknownObjectException):
        requester.requestJsonAndCheck("PATCH", path, input={"sha": main})
    _, answer = requester.requestJsonAndCheck("PATCH", path.replace("/ref/", "/refs/"),
                                              input={"sha": main})  # fmt: skip
    assert answer["ref"] == "refs/heads/main"


def test_pygithubs_lazy_git_ref_patches_the_singular_path(stand: GitHubStandIn) -> None:
    """PyGithub 2.10 with lazy=True builds a GitRef's URL as ``git/ref/…``: its edit() reaches
    no endpoint on GitHub. (The product does not edit refs through the API.)"""
    bare = stand.create_repo(ORG, "numpy-feedstock")
    main = git(bare, "rev-parse", "main").strip()
    with pytest.raises(UnknownObjectException):
        client(stand).get_repo(f"{ORG}/numpy-feedstock").get_git_ref("heads/main").edit(main)


def test_an_empty_repository_answers_409_to_ref_reads(stand: GitHubStandIn) -> None:
    """OpenAPI lists 409 for ``git/get-ref``; the message as dogsheep/github-to-sqlite#22 got it."""
    repo = client(stand).get_organization(ORG).create_repo("empty-feedstock")
    with pytest.raises(GithubException) as conflict:
        repo.get_git_ref("heads/main").object  # noqa: B018 (lazy: the access is the GET)
    assert (conflict.value.status, conflict.value.data) == (
        409,
        {"message": "Git Repository is empty."},
    )


def test_an_empty_repository_answers_409_to_a_ref_create(stand: GitHubStandIn) -> None:
    """OpenAPI, "Create a reference": "You are unable to create new references for empty
    repositories"; 409 among its answers."""
    repo = client(stand).get_organization(ORG).create_repo("empty-feedstock")
    with pytest.raises(GithubException) as conflict:
        repo.create_git_ref("refs/heads/x", "0" * 40)
    assert conflict.value.status == 409


def app_client(stand: GitHubStandIn, permissions: dict[str, str] | None = None) -> Github:
    private, public = rsa_pem()
    stand.add_app(4242, 77, public_key_pem=public, permissions=permissions)
    return client(stand, auth=Auth.AppAuth(4242, private).get_installation_auth(77))


def test_an_app_without_administration_cannot_protect_a_branch(stand: GitHubStandIn) -> None:
    """An App has the permissions it was granted (here the admin README's), not a role: 403
    "Resource not accessible by integration" with ``X-Accepted-GitHub-Permissions`` (docs,
    "Troubleshooting the REST API"; renovatebot/renovate#23885)."""
    stand.create_repo(ORG, "numpy-feedstock")
    branch = app_client(stand).get_repo(f"{ORG}/numpy-feedstock").get_branch("main")
    with pytest.raises(GithubException) as refused:
        branch.edit_protection(strict=True, checks=["ci"])
    assert (refused.value.status, refused.value.data["message"]) == (
        403,
        "Resource not accessible by integration",
    )
    assert (refused.value.headers or {})["x-accepted-github-permissions"] == "administration=write"


def test_an_app_without_secrets_cannot_read_the_key(stand: GitHubStandIn) -> None:
    """github/docs server-to-server-permissions.json: the public key needs Secrets read."""
    stand.create_repo(ORG, "numpy-feedstock")
    repo = app_client(stand).get_repo(f"{ORG}/numpy-feedstock")
    with pytest.raises(GithubException) as refused:
        repo.create_secret("TOKEN", "x")
    assert (refused.value.headers or {})["x-accepted-github-permissions"] == "secrets=read"


def test_an_app_granted_administration_and_secrets_may_do_both(stand: GitHubStandIn) -> None:
    stand.create_repo(ORG, "numpy-feedstock")
    grants = {"administration": "write", "secrets": "write", "contents": "write"}
    repo = app_client(stand, grants).get_repo(f"{ORG}/numpy-feedstock")
    repo.get_branch("main").edit_protection(strict=True, checks=["ci"])
    repo.create_secret("TOKEN", "x")
    assert stand.secrets(ORG, "numpy-feedstock") == {"TOKEN": "x"}


def test_an_app_cannot_create_a_repository_without_administration(stand: GitHubStandIn) -> None:
    """github/docs: ``POST /orgs/{org}/repos`` is under Administration (write)."""
    with pytest.raises(GithubException) as refused:
        app_client(stand).get_organization(ORG).create_repo("new-feedstock")
    assert refused.value.status == 403


def test_an_installation_lists_its_permissions(stand: GitHubStandIn) -> None:
    """``GET /app/installations/{id}`` with the App's JWT (OpenAPI schema ``installation``)."""
    from github import GithubIntegration

    private, public = rsa_pem()
    stand.add_app(4242, 77, public_key_pem=public)
    app = GithubIntegration(auth=Auth.AppAuth(4242, private), base_url=stand.base_url)
    assert app.get_app_installation(77).permissions == {
        "contents": "write",
        "workflows": "write",
        "pull_requests": "write",
        "checks": "read",
        "statuses": "read",
        "metadata": "read",
    }


def test_an_installation_token_lists_its_permissions(stand: GitHubStandIn) -> None:
    from github import GithubIntegration

    private, public = rsa_pem()
    stand.add_app(4242, 77, public_key_pem=public, permissions={"contents": "read"})
    app = GithubIntegration(auth=Auth.AppAuth(4242, private), base_url=stand.base_url)
    assert app.get_access_token(77).permissions == {"contents": "read", "metadata": "read"}


def test_a_classic_tokens_scopes_come_with_every_answer(stand: GitHubStandIn) -> None:
    """docs "Scopes for OAuth apps": ``X-OAuth-Scopes`` "lists the scopes your token has"."""
    gh = client(stand)
    assert gh.get_user().login == LOGIN
    assert gh.oauth_scopes == ["repo", "workflow"]


def test_a_classic_token_without_repo_cannot_set_a_secret(stand: GitHubStandIn) -> None:
    """OpenAPI: secrets "need the `repo` scope"; a missing scope answers 404 (docs,
    "Troubleshooting the REST API"), naming it in ``X-Accepted-OAuth-Scopes``."""
    stand.create_repo(ORG, "numpy-feedstock")
    stand.add_user("scoped", "scoped-token", scopes=("public_repo",))
    repo = client(stand, auth=Auth.Token("scoped-token")).get_repo(f"{ORG}/numpy-feedstock")
    with pytest.raises(UnknownObjectException) as refused:
        repo.create_secret("TOKEN", "x")
    assert (refused.value.headers or {})["x-accepted-oauth-scopes"] == "repo"


def test_a_fine_grained_token_is_refused_as_a_personal_access_token(stand: GitHubStandIn) -> None:
    stand.create_repo(ORG, "numpy-feedstock")
    stand.add_user("fine", "github_pat_fine", scopes=None, grants={"contents": "write"})
    gh = client(stand, auth=Auth.Token("github_pat_fine"))
    with pytest.raises(GithubException) as refused:
        gh.get_repo(f"{ORG}/numpy-feedstock").get_branch("main").edit_protection(strict=True)
    assert refused.value.data["message"] == "Resource not accessible by personal access token"
    assert gh.oauth_scopes is None  # no X-OAuth-Scopes for a fine-grained token


def test_graphql_lists_a_pull_requests_commits_with_who_made_them(
    stand: GitHubStandIn, tmp_path: Path
) -> None:
    """``headRefOid`` and ``commits(last:) { totalCount nodes { commit { oid author committer
    } } }``: the bot's way to see that a maintainer pushed to its branch."""
    stand.create_repo(ORG, "numpy-feedstock", {"recipe.yaml": "abi: 1\n"})
    stand.add_user("Bot", "bot-user-token")  # bot@example.invalid is nobody's: user null
    first = push_branch(stand, tmp_path, "numpy-feedstock", BRANCH, {"recipe.yaml": "abi: 2\n"})
    second = push_branch(stand, tmp_path, "numpy-feedstock", BRANCH, {"more.txt": "x\n"})
    client(stand).get_repo(f"{ORG}/numpy-feedstock").create_pull(
        base="main", head=BRANCH, title="t", body=""
    )
    stand.set_checks(ORG, "numpy-feedstock", 1, "SUCCESS")
    query = (
        f'query {{ r: repository(owner: "{ORG}", name: "numpy-feedstock") {{ '
        f'p: pullRequests(headRefName: "{BRANCH}", last: 3) {{ nodes {{ number headRefOid '
        "commits(last: 1) { totalCount nodes { commit { oid statusCheckRollup { state } "
        "author { name email user { login } } committer { email } } } } } } } }"
    )
    _, data = client(stand).requester.graphql_query(query, {})
    (pull,) = data["data"]["r"]["p"]["nodes"]
    assert pull["headRefOid"] == second
    assert pull["commits"]["totalCount"] == 2
    (node,) = pull["commits"]["nodes"]  # the newest only
    commit = node["commit"]
    assert (commit["oid"], commit["statusCheckRollup"]) == (second, {"state": "SUCCESS"})
    assert commit["author"]["email"] == commit["committer"]["email"] == "bot@example.invalid"
    assert (commit["author"]["name"], commit["author"]["user"]) == ("Bot", None)
    all_of_them = query.replace("commits(last: 1)", "commits(first: 5)")
    _, data = client(stand).requester.graphql_query(all_of_them, {})
    oids = [n["commit"]["oid"] for n in data["data"]["r"]["p"]["nodes"][0]["commits"]["nodes"]]
    assert oids == [first, second]  # oldest first, the base's own commit not among them
    stand.merge(ORG, "numpy-feedstock", 1)
    _, data = client(stand).requester.graphql_query(query, {})
    assert data["data"]["r"]["p"]["nodes"][0]["commits"]["totalCount"] == 2  # kept once merged


def test_a_pull_request_whose_branch_was_force_pushed_cannot_be_reopened(
    stand: GitHubStandIn, tmp_path: Path
) -> None:
    """GITHUB_API.md, "Corrections": re-opening needs the branch to descend from the head the
    pull request had when it closed."""
    bare = stand.create_repo(ORG, "numpy-feedstock", {"recipe.yaml": "abi: 1\n"})
    push_branch(stand, tmp_path, "numpy-feedstock", BRANCH, {"recipe.yaml": "abi: 2\n"})
    repo = client(stand).get_repo(f"{ORG}/numpy-feedstock")
    pr = repo.create_pull(base="main", head=BRANCH, title="t", body="")
    stand.close(ORG, "numpy-feedstock", 1)
    git(bare, "update-ref", f"refs/heads/{BRANCH}", "main")  # replaced by another history
    replaced = push_branch(stand, tmp_path, "numpy-feedstock", BRANCH, {"other.txt": "x\n"})
    with pytest.raises(GithubException) as refused:
        pr.edit(state="open")
    assert refused.value.status == 422
    message = refused.value.data["errors"][0]["message"]
    assert message == f"state cannot be changed. The {BRANCH} branch was force-pushed or recreated."
    assert repo.get_pull(1).state == "closed"
    git(bare, "update-ref", "-d", f"refs/heads/{BRANCH}", replaced)
    with pytest.raises(GithubException, match="branch has been deleted"):
        pr.edit(state="open")


def test_git_over_http_lets_anyone_fetch_and_only_writers_push(
    stand: GitHubStandIn, tmp_path: Path
) -> None:
    import base64
    import os

    stand.serve_git_over_http()
    stand.add_user("reader", "reader-token", permission={"*": "read"})
    stand.create_repo(ORG, "numpy-feedstock", {"recipe.yaml": "abi: 1\n"})
    url = client(stand).get_repo(f"{ORG}/numpy-feedstock").clone_url
    assert url == f"{stand.base_url}/{ORG}/numpy-feedstock.git"
    env = os.environ | {"GIT_TERMINAL_PROMPT": "0"}

    def run(*args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        extra = {}
        if token:  # as the bot sends it: an extra header in git's environment
            basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            extra = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraheader"}
            extra["GIT_CONFIG_VALUE_0"] = f"AUTHORIZATION: basic {basic}"
        command = ["git", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env | extra, check=False)

    work = tmp_path / "clone"
    assert run("clone", "-q", "--depth", "1", url, str(work)).returncode == 0
    assert (work / "recipe.yaml").read_text() == "abi: 1\n"
    git(
        work,
        "-c",
        "user.name=m",
        "-c",
        "user.email=m@m",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    )
    push = ("-C", str(work), "push", "-q", url, f"HEAD:refs/heads/{BRANCH}")
    assert "could not read Username" in run(*push).stderr  # 401: credentials wanted
    assert "403" in run(*push, token="reader-token").stderr
    assert run(*push, token=TOKEN).returncode == 0
    assert stand.git_requests[-1].service == "git-receive-pack"
    assert stand.git_requests[-1].login == LOGIN
    fetches = [r.login for r in stand.git_requests if r.service == "git-upload-pack"]
    assert fetches
    assert set(fetches) == {None}  # the clone sent no credential
    assert run("ls-remote", url, BRANCH).stdout.split()[0] == git(work, "rev-parse", "HEAD").strip()


def graphql_blocks(names: list[str]) -> str:
    block = 'r{i}: repository(owner: "{org}", name: "{name}") {{ object(expression: "HEAD:x") {{ ... on Blob {{ text }} }} }}'
    return (
        "query { "
        + " ".join(block.format(i=i, org=ORG, name=n) for i, n in enumerate(names))
        + " }"
    )


@pytest.mark.parametrize("status", [502, 504])
def test_a_graphql_query_too_big_times_out(stand: GitHubStandIn, status: int) -> None:
    """docs, GraphQL "Timeouts": stopped at 10 s, "you may receive either a 502 or 504"."""
    names = [f"pkg{i}-feedstock" for i in range(3)]
    for name in names:
        stand.create_repo(ORG, name)
    stand.faults.graphql_over = (2, status)
    gh = Github(auth=Auth.Token(TOKEN), base_url=stand.base_url, retry=None)
    with pytest.raises(GithubException) as refused:
        gh.requester.graphql_query(graphql_blocks(names), {})
    assert refused.value.status == status


def test_a_graphql_query_within_the_limit_is_answered(stand: GitHubStandIn) -> None:
    names = [f"pkg{i}-feedstock" for i in range(2)]
    for name in names:
        stand.create_repo(ORG, name)
    stand.faults.graphql_over = (2, 502)
    _, data = client(stand).requester.graphql_query(graphql_blocks(names), {})
    assert data == {"data": {"r0": {"object": None}, "r1": {"object": None}}}


def test_a_graphql_query_over_its_resources_answers_partly(stand: GitHubStandIn) -> None:
    """docs, "Other resource limits": partial results and an error (shape:
    yoshi389111/github-profile-3d-contrib#163); PyGithub raises on any ``errors``."""
    names = [f"pkg{i}-feedstock" for i in range(3)]
    for name in names:
        stand.create_repo(ORG, name)
    stand.faults.graphql_over = (2, 200)
    with pytest.raises(GithubException) as partly:
        client(stand).requester.graphql_query(graphql_blocks(names), {})
    assert partly.value.data["data"] == {"r0": {"object": None}, "r1": {"object": None}, "r2": None}
    assert partly.value.data["errors"][0]["type"] == "RESOURCE_LIMITS_EXCEEDED"


def push_over_http(stand: GitHubStandIn, tmp_path: Path, token: str, path: str) -> str:
    """Commit ``path`` on a clone over HTTP and push it with ``token``; git's stderr."""
    import base64
    import os

    url = f"{stand.base_url}/{ORG}/numpy-feedstock.git"
    work = Path(tempfile.mkdtemp(dir=tmp_path)) / "clone"
    subprocess.run(["git", "clone", "-q", url, str(work)], check=True, capture_output=True)
    (work / path).parent.mkdir(parents=True, exist_ok=True)
    (work / path).write_text("on: push\n")
    git(work, "add", "-A")
    git(work, "-c", "user.name=m", "-c", "user.email=m@m", "commit", "-q", "-m", "x")
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    env = os.environ | {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraheader"}
    env |= {"GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}", "GIT_TERMINAL_PROMPT": "0"}
    done = subprocess.run(["git", "-C", str(work), "push", "-q", url, "HEAD:refs/heads/x"],
                          capture_output=True, text=True, env=env, check=False)  # fmt: skip
    return done.stderr if done.returncode else ""


def app_token(stand: GitHubStandIn, permissions: dict[str, str]) -> str:
    gh = app_client(stand, permissions)
    assert isinstance(gh.requester.auth, Auth.AppInstallationAuth)
    return gh.requester.auth.token


def test_an_app_without_workflows_cannot_push_a_workflow(
    stand: GitHubStandIn, tmp_path: Path
) -> None:
    stand.serve_git_over_http()
    stand.create_repo(ORG, "numpy-feedstock")
    token = app_token(stand, {"contents": "write"})
    refused = push_over_http(stand, tmp_path, token, ".github/workflows/ci.yml")
    assert "refusing to allow a GitHub App to create or update workflow" in refused


def test_an_app_without_workflows_may_push_other_files(
    stand: GitHubStandIn, tmp_path: Path
) -> None:
    stand.serve_git_over_http()
    stand.create_repo(ORG, "numpy-feedstock")
    token = app_token(stand, {"contents": "write"})
    assert push_over_http(stand, tmp_path, token, "recipe/meta.yaml") == ""


def test_an_app_with_workflows_may_push_a_workflow(stand: GitHubStandIn, tmp_path: Path) -> None:
    stand.serve_git_over_http()
    stand.create_repo(ORG, "numpy-feedstock")
    token = app_token(stand, {"contents": "write", "workflows": "write"})
    assert push_over_http(stand, tmp_path, token, ".github/workflows/ci.yml") == ""


def test_a_classic_token_without_workflow_cannot_push_one(
    stand: GitHubStandIn, tmp_path: Path
) -> None:
    stand.serve_git_over_http()
    stand.create_repo(ORG, "numpy-feedstock")
    stand.add_user("scoped", "scoped-token", scopes=("repo",))
    refused = push_over_http(stand, tmp_path, "scoped-token", ".github/workflows/ci.yml")
    assert "without `workflow` scope" in refused


AUTO_MERGE = (
    "mutation($id: ID!) { enablePullRequestAutoMerge(input: {pullRequestId: $id, "
    "mergeMethod: SQUASH}) { pullRequest { number autoMergeRequest { enabledAt mergeMethod "
    "enabledBy { login } } } } }"
)


def raw_graphql(stand: GitHubStandIn, query: str, variables: dict[str, str], token: str) -> Any:
    """The answer as GitHub's JSON (PyGithub raises on ``errors`` and keeps only the data)."""
    import requests

    headers = {"Authorization": f"token {token}"}
    body = {"query": query, "variables": variables}
    return requests.post(f"{stand.base_url}/graphql", json=body, headers=headers, timeout=30).json()


def test_a_repository_allows_auto_merge_only_once_an_admin_says_so(
    stand: GitHubStandIn, writer: Github
) -> None:
    """OpenAPI ``repository.allow_auto_merge``: "default": false; ``PATCH /repos/{o}/{r}``
    (``repos/update``) sets it, an admin's call."""
    repo = client(stand).get_repo(f"{ORG}/numpy-feedstock")
    assert repo.allow_auto_merge is False
    with pytest.raises(UnknownObjectException):
        writer.get_repo(f"{ORG}/numpy-feedstock").edit(allow_auto_merge=True)
    repo.edit(allow_auto_merge=True)
    assert client(stand).get_repo(f"{ORG}/numpy-feedstock").allow_auto_merge is True
    assert stand.settings(ORG, "numpy-feedstock")["allow_auto_merge"] is True


def test_enable_pull_request_auto_merge_answers_as_github_does(
    stand: GitHubStandIn, tmp_path: Path
) -> None:
    """Refusals as data null and one error (rjwalters/loom#3371: ``type`` UNPROCESSABLE, ``path``
    [enablePullRequestAutoMerge], ``locations``, ``message``); then the payload the schema has,
    and the request on the PR over REST (OpenAPI ``pull-request.auto_merge``)."""
    stand.create_repo(ORG, "numpy-feedstock")
    push_branch(stand, tmp_path, "numpy-feedstock", BRANCH, {"x.txt": "x\n"})
    repo = client(stand).get_repo(f"{ORG}/numpy-feedstock")
    pr = repo.create_pull(base="main", head=BRANCH, title="Rebuild", body="Why")
    node = {"id": pr.node_id}

    refused = raw_graphql(stand, AUTO_MERGE, node, TOKEN)
    assert refused["data"] == {"enablePullRequestAutoMerge": None}
    (error,) = refused["errors"]
    assert error["type"] == "UNPROCESSABLE"
    assert error["path"] == ["enablePullRequestAutoMerge"]
    assert error["message"] == "Pull request Auto merge is not allowed for this repository"
    assert error["locations"] == [{"line": 1, "column": 22}]  # the field's place

    repo.edit(allow_auto_merge=True)  # no protection: mergeable at once, nothing to wait for
    clean = raw_graphql(stand, AUTO_MERGE, node, TOKEN)["errors"][0]
    assert clean["message"] == "Pull request Pull request is in clean status"
    repo.get_branch("main").edit_protection(strict=True, checks=["build", "test"])
    assert repo.get_pull(pr.number).mergeable_state == "blocked"

    stand.add_user("fine", "github_pat_fine", scopes=None, grants={"pull_requests": "write"})
    forbidden = raw_graphql(stand, AUTO_MERGE, node, "github_pat_fine")["errors"][0]
    assert forbidden["type"] == "FORBIDDEN"  # shape: fpicalausa/remove-stale-branches#49
    assert forbidden["extensions"] == {"saml_failure": False}
    assert forbidden["message"] == "Resource not accessible by personal access token"

    done = raw_graphql(stand, AUTO_MERGE, node, TOKEN)
    assert "errors" not in done
    pull = done["data"]["enablePullRequestAutoMerge"]["pullRequest"]
    assert pull["number"] == pr.number
    request = pull["autoMergeRequest"]
    assert (request["mergeMethod"], request["enabledBy"]) == ("SQUASH", {"login": LOGIN})
    assert request["enabledAt"].endswith("Z")
    auto = repo.get_pull(pr.number).auto_merge
    assert auto["merge_method"] == "squash"
    assert auto["enabled_by"]["login"] == LOGIN
    assert auto["commit_title"] == f"Rebuild (#{pr.number})"
    assert auto["commit_message"] == "Why"
    (listed,) = repo.get_pulls(state="open")
    assert listed.auto_merge == auto  # list items carry it too

    assert stand.set_checks(ORG, "numpy-feedstock", pr.number, "SUCCESS") == [pr.number]
    assert repo.get_pull(pr.number).merged


def test_an_unknown_node_and_other_mutations(stand: GitHubStandIn) -> None:
    unknown = raw_graphql(stand, AUTO_MERGE, {"id": "PR_nothing"}, TOKEN)
    assert unknown["errors"][0]["type"] == "NOT_FOUND"
    message = "Could not resolve to a node with the global id of 'PR_nothing'"
    assert unknown["errors"][0]["message"] == message
    with pytest.raises(UnknownObjectException):  # PyGithub: a lone NOT_FOUND is a 404
        client(stand).requester.graphql_query(AUTO_MERGE, {"id": "PR_nothing"})
    wrong = AUTO_MERGE.replace("mergeMethod: SQUASH", "mergeMethod: FAST_FORWARD")
    invalid = raw_graphql(stand, wrong, {"id": "PR_nothing"}, TOKEN)
    assert "data" not in invalid  # refused by GitHub's schema before anything runs
    other = 'mutation { addStar(input: {starrableId: "R_1"}) { clientMutationId } }'
    assert "addStar" in raw_graphql(stand, other, {}, TOKEN)["errors"][0]["message"]
