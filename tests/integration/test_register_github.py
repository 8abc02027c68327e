"""``register-github`` against the GitHub stand-in: bare git repositories as the remotes."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from smithy.cli.github_cmds import register_github
from smithy.errors import FeedstockError
from smithy.feedstock.init import run_init
from smithy.github.client import GitHubError
from smithy.github.register import run_register
from tests.helpers import PURE_SDIST, write_recipe
from tests.integration.conftest import GITHUB_LOGIN, GITHUB_ORG, GITHUB_TOKEN, git
from tests.integration.github_standin import GitHubStandIn

ORG, LOGIN, TOKEN = GITHUB_ORG, GITHUB_LOGIN, GITHUB_TOKEN
NAME = "example-pkg-feedstock"
UPLOAD = "anaconda-upload-token-never-shown"


@pytest.fixture
def feedstock(tmp_path: Path) -> Path:
    folder = write_recipe(tmp_path / "src" / "example-pkg", PURE_SDIST)
    return run_init(str(folder), output=tmp_path / NAME).feedstock


def bare(stand: GitHubStandIn) -> Path:
    return stand.git_root / ORG / f"{NAME}.git"


def head(feedstock: Path) -> str:
    return git(feedstock, "rev-parse", "HEAD").strip()


def test_new_repository_is_created_pushed_protected_and_gets_the_secret(
    stand: GitHubStandIn, feedstock: Path
) -> None:
    result = run_register(feedstock, org=ORG, secret_token=UPLOAD)
    assert (result.repo, result.created, result.pushed) == (f"{ORG}/{NAME}", True, True)
    assert result.sha == head(feedstock)
    assert git(bare(stand), "rev-parse", "main").strip() == head(feedstock)
    assert result.html_url == f"{stand.base_url}/{ORG}/{NAME}"
    assert git(feedstock, "remote", "get-url", "origin").strip() == f"{result.html_url}.git"

    jobs = ("build", "test")
    workflow = (feedstock / ".github/workflows/build.yml").read_text()
    expected = [j for j in jobs if f"\n  {j}:\n" in workflow]
    assert "build" in expected
    sent = stand.protection(ORG, NAME, "main")
    assert sent is not None
    checks = [{"context": c} for c in expected]
    assert sent["required_status_checks"] == {"strict": True, "checks": checks}
    assert sent["required_pull_request_reviews"]["required_approving_review_count"] == 1
    assert sent["enforce_admins"] is False
    assert (sent["allow_force_pushes"], sent["allow_deletions"]) == (False, False)
    assert stand.secrets(ORG, NAME) == {"ANACONDA_API_TOKEN": UPLOAD}
    assert result.to_json()["status_checks"] == expected
    assert stand.count("POST", f"/orgs/{ORG}/repos") == 1
    # auto-merge allowed (off by default), so the bot's PRs can wait for the checks above
    assert result.to_json()["auto_merge"] is True
    assert stand.settings(ORG, NAME)["allow_auto_merge"] is True
    assert stand.count("PATCH", f"/repos/{ORG}/{NAME}") == 1


def test_a_second_run_changes_nothing_but_the_secret(stand: GitHubStandIn, feedstock: Path) -> None:
    run_register(feedstock, org=ORG, secret_token=UPLOAD)
    refs = git(bare(stand), "for-each-ref")
    protection = stand.protection(ORG, NAME, "main")
    again = run_register(feedstock, org=ORG, secret_token="rotated")
    assert (again.created, again.pushed, again.sha) == (False, False, head(feedstock))
    assert git(bare(stand), "for-each-ref") == refs
    assert stand.protection(ORG, NAME, "main") == protection
    assert stand.secrets(ORG, NAME) == {"ANACONDA_API_TOKEN": "rotated"}
    assert stand.count("POST", f"/orgs/{ORG}/repos") == 1
    assert stand.count("PATCH", f"/repos/{ORG}/{NAME}") == 1  # auto-merge was allowed already
    assert "pyodide-smithy" not in git(feedstock, "for-each-ref")  # the temporary ref is gone


def test_an_existing_repository_gets_auto_merge_allowed(
    stand: GitHubStandIn, feedstock: Path
) -> None:
    stand.create_repo(ORG, NAME, {}, default_branch="main")
    git(bare(stand), "update-ref", "-d", "refs/heads/main")
    assert stand.settings(ORG, NAME)["allow_auto_merge"] is False  # GitHub's default
    assert run_register(feedstock, org=ORG, secret_token=None).auto_merge
    assert stand.settings(ORG, NAME)["allow_auto_merge"] is True


def test_a_repository_holding_something_else_is_refused(
    stand: GitHubStandIn, feedstock: Path
) -> None:
    other = stand.create_repo(ORG, NAME, {"README.md": "someone else's\n"})
    before = git(other, "for-each-ref")
    with pytest.raises(GitHubError) as refused:
        run_register(feedstock, org=ORG, secret_token=UPLOAD)
    assert str(refused.value) == f"{ORG}/{NAME} exists and holds something else"
    assert refused.value.exit_code == 18
    assert git(other, "for-each-ref") == before
    assert stand.protection(ORG, NAME, "main") is None
    assert stand.secrets(ORG, NAME) == {}


def test_an_existing_empty_repository_is_pushed(stand: GitHubStandIn, feedstock: Path) -> None:
    stand.create_repo(ORG, NAME, {}, default_branch="main")
    git(bare(stand), "update-ref", "-d", "refs/heads/main")  # no commits at all
    result = run_register(feedstock, org=ORG, secret_token=None)
    assert (result.created, result.pushed, result.secret_set) == (False, True, False)
    assert git(bare(stand), "rev-parse", "main").strip() == head(feedstock)
    assert stand.secrets(ORG, NAME) == {}
    assert stand.count("POST", f"/orgs/{ORG}/repos") == 0


def test_a_repository_behind_the_feedstock_is_fast_forwarded(
    stand: GitHubStandIn, feedstock: Path
) -> None:
    run_register(feedstock, org=ORG, secret_token=None)
    (feedstock / "NOTES.md").write_text("more\n")
    git(feedstock, "add", "NOTES.md")
    git(feedstock, "commit", "-q", "-m", "notes")
    result = run_register(feedstock, org=ORG, secret_token=None)
    assert result.pushed
    assert git(bare(stand), "rev-parse", "main").strip() == head(feedstock)


def test_uncommitted_changes_and_no_commits_are_refused(
    stand: GitHubStandIn, feedstock: Path, tmp_path: Path
) -> None:
    (feedstock / "README.md").write_text("edited\n")
    with pytest.raises(GitHubError, match="uncommitted changes"):
        run_register(feedstock, org=ORG, secret_token=UPLOAD)
    git(feedstock, "checkout", "-q", "--", "README.md")
    fresh = tmp_path / "fresh"
    git(feedstock, "init", "-q", "--initial-branch=main", str(fresh))
    (fresh / "recipe").mkdir()
    (fresh / "recipe" / "meta.yaml").write_bytes((feedstock / "recipe/meta.yaml").read_bytes())
    with pytest.raises(FeedstockError, match="not a feedstock: no pyodide-smithy.yml"):
        run_register(fresh, org=ORG, secret_token=UPLOAD)
    (fresh / "pyodide-smithy.yml").write_bytes((feedstock / "pyodide-smithy.yml").read_bytes())
    (fresh / ".gitignore").write_text("*\n")  # a clean status, and no commit yet
    with pytest.raises(GitHubError, match="no commits on main"):
        run_register(fresh, org=ORG, secret_token=UPLOAD)
    assert stand.count("POST", f"/orgs/{ORG}/repos") == 0


# What register-github needs of an App installation (docs/github.md, smithy.github.access).
REGISTER_GRANTS = {"administration": "write", "secrets": "write"}
REGISTER_GRANTS |= {"contents": "write", "workflows": "write"}


def app_keys() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def as_app(
    stand: GitHubStandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    permissions: dict[str, str] | None = None,
) -> bytes:
    """The environment of App 4242's installation 77 (granted ``permissions``, default the
    admin README's); the private key."""
    private, public = app_keys()
    stand.add_app(4242, 77, public_key_pem=public.decode(), permissions=permissions)
    (tmp_path / "app.pem").write_bytes(private)
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("PYODIDE_SMITHY_GITHUB_APP_ID", "4242")
    monkeypatch.setenv("PYODIDE_SMITHY_GITHUB_APP_KEY", str(tmp_path / "app.pem"))
    monkeypatch.setenv("PYODIDE_SMITHY_GITHUB_INSTALLATION_ID", "77")
    return private


def test_app_installation_credentials(
    stand: GitHubStandIn, feedstock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stand.serve_git_over_http()  # the push carries the installation's token, as on github.com
    private = as_app(stand, tmp_path, monkeypatch, REGISTER_GRANTS)
    public = app_keys()[1]  # any public key: a PEM that is no private key
    result = run_register(feedstock, org=ORG, secret_token=UPLOAD)
    assert (result.created, result.pushed) == (True, True)
    assert stand.secrets(ORG, NAME) == {"ANACONDA_API_TOKEN": UPLOAD}
    assert stand.count("POST", "/app/installations/77/access_tokens") == 1
    assert stand.count("GET", "/app/installations/77") == 1  # what it was granted
    pushes = {r.login for r in stand.git_requests if r.service == "git-receive-pack"}
    assert pushes == {"pyodide-smithy[bot]"}

    monkeypatch.setenv("PYODIDE_SMITHY_GITHUB_INSTALLATION_ID", "78")
    with pytest.raises(GitHubError, match="404 Not Found"):
        run_register(feedstock, org=ORG, secret_token=UPLOAD)

    # the key itself in the variable, as the admin repository's workflow passes its secret
    monkeypatch.setenv("PYODIDE_SMITHY_GITHUB_INSTALLATION_ID", "77")
    monkeypatch.setenv("PYODIDE_SMITHY_GITHUB_APP_KEY", private.decode())
    run_register(feedstock, org=ORG, secret_token=UPLOAD)
    assert stand.count("POST", "/app/installations/77/access_tokens") == 2
    monkeypatch.setenv("PYODIDE_SMITHY_GITHUB_APP_KEY", public.decode())
    with pytest.raises(GitHubError, match="not a private key"):
        run_register(feedstock, org=ORG, secret_token=UPLOAD)


def test_the_bots_app_is_refused_up_front_naming_what_it_lacks(
    stand: GitHubStandIn, feedstock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The App the admin README sets up (contents, workflows, pull requests) may not create a
    repository, protect a branch or store a secret: said before anything is made."""
    as_app(stand, tmp_path, monkeypatch)
    with pytest.raises(GitHubError) as refused:
        run_register(feedstock, org=ORG, secret_token=UPLOAD)
    assert str(refused.value) == (
        "the GitHub App's installation 77 lacks Administration (write) to create the repository "
        "and protect main, Secrets (write) to store the upload token: grant them in the App's "
        "settings, then accept them in the organization's installation"
    )
    assert stand.count("POST", f"/orgs/{ORG}/repos") == 0


def test_an_app_needs_no_secrets_permission_without_an_upload_token(
    stand: GitHubStandIn, feedstock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grants = {k: v for k, v in REGISTER_GRANTS.items() if k != "secrets"}
    as_app(stand, tmp_path, monkeypatch, grants)
    result = run_register(feedstock, org=ORG, secret_token=None)
    assert (result.created, result.secret_set) == (True, False)


def test_a_classic_token_without_the_workflow_scope_is_refused_up_front(
    stand: GitHubStandIn, feedstock: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A classic token's scopes come in ``X-OAuth-Scopes`` (docs "Scopes for OAuth apps");
    workflow files need ``workflow``."""
    stand.add_user("scoped", "ghp_scoped-token", scopes=("repo",))
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_scoped-token")
    with pytest.raises(GitHubError) as refused:
        run_register(feedstock, org=ORG, secret_token=UPLOAD)
    assert str(refused.value) == (
        "the GitHub token lacks the scope workflow to push its .github/workflows"
    )
    assert stand.count("POST", f"/orgs/{ORG}/repos") == 0


def test_a_token_whose_user_is_not_admin_of_the_repository_is_refused_up_front(
    stand: GitHubStandIn, feedstock: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stand.create_repo(ORG, NAME, {}, default_branch="main")
    git(bare(stand), "update-ref", "-d", "refs/heads/main")  # empty: it would be pushed
    stand.add_user("writer", "ghp_writer-token", permission={ORG: "write"})
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_writer-token")
    with pytest.raises(GitHubError) as refused:
        run_register(feedstock, org=ORG, secret_token=UPLOAD)
    assert str(refused.value) == (
        f"the GitHub token's user is not an admin of {ORG}/{NAME}: register-github needs admin "
        "to protect its main branch"
    )
    assert git(bare(stand), "for-each-ref") == ""  # nothing pushed


def test_a_fine_grained_token_is_refused_naming_the_permission_github_asks_for(
    stand: GitHubStandIn, feedstock: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GitHub does not tell a fine-grained token's permissions up front; its refusal names
    them (``X-Accepted-GitHub-Permissions``), and the first write is the repository's creation."""
    grants = {"contents": "write", "workflows": "write", "secrets": "write"}
    stand.add_user("fine", "github_pat_fine-token", scopes=None, grants=grants)
    monkeypatch.setenv("GITHUB_TOKEN", "github_pat_fine-token")
    with pytest.raises(GitHubError) as refused:
        run_register(feedstock, org=ORG, secret_token=UPLOAD)
    assert str(refused.value) == (
        f"GitHub refused to create {ORG}/{NAME}: 403 Resource not accessible by personal access "
        "token (needs to be allowed to create repositories in the organization: Administration "
        "(write); GitHub asks for permission administration=write)"
    )
    assert stand.count("POST", f"/orgs/{ORG}/repos") == 1
    assert NAME not in stand.store.orgs[ORG].repos


def test_missing_credentials_and_bad_credentials_are_one_line(
    stand: GitHubStandIn, feedstock: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    with pytest.raises(GitHubError, match="no GitHub credentials"):
        run_register(feedstock, org=ORG, secret_token=None)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_wrong-token-never-shown")
    with pytest.raises(GitHubError) as refused:
        run_register(feedstock, org=ORG, secret_token=None)
    assert str(refused.value) == f"GitHub refused to look up {ORG}/{NAME}: 401 Bad credentials"


def test_the_command_never_prints_tokens(
    stand: GitHubStandIn,
    feedstock: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    register_github(feedstock, org=ORG)  # no upload token: registered, with a warning
    out, err = capsys.readouterr()
    assert f"created {ORG}/{NAME}" in out
    assert "no upload token" in err
    assert stand.secrets(ORG, NAME) == {}

    (tmp_path / "upload.txt").write_text(f"{UPLOAD}\n")
    register_github(feedstock, org=ORG, token_file=tmp_path / "upload.txt", as_json=True)
    out, err = capsys.readouterr()
    answer = json.loads(out)
    assert (answer["repo"], answer["secret_set"], answer["pushed"]) == (
        f"{ORG}/{NAME}",
        True,
        False,
    )
    assert stand.secrets(ORG, NAME) == {"ANACONDA_API_TOKEN": UPLOAD}

    monkeypatch.setenv("ANACONDA_API_TOKEN", UPLOAD)
    stand.create_repo(ORG, "taken", {"README.md": "x\n"})
    (feedstock / "README.md").write_text("dirty\n")
    with pytest.raises(GitHubError):
        register_github(feedstock, org=ORG)
    out2, err2 = capsys.readouterr()
    for text in (out, err, out2, err2):
        assert TOKEN not in text
        assert UPLOAD not in text


def test_https_pushes_carry_the_token_in_git_config_environment(stand: GitHubStandIn) -> None:
    from smithy.github.client import make_client
    from smithy.github.register import git_auth_env

    client = make_client()
    assert git_auth_env(client, "file:///r.git") == {}
    env = git_auth_env(client, "https://github.com/o/r.git")
    key = env["GIT_CONFIG_COUNT"]
    assert env[f"GIT_CONFIG_KEY_{int(key) - 1}"] == "http.extraheader"
    basic = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert env[f"GIT_CONFIG_VALUE_{int(key) - 1}"] == f"AUTHORIZATION: basic {basic}"


def test_through_the_command_line(stand: GitHubStandIn, feedstock: Path) -> None:
    from tests.integration.conftest import smithy

    run = smithy(
        "register-github",
        feedstock,
        "--org",
        ORG,
        "--json",
        env={"ANACONDA_API_TOKEN": UPLOAD, "NO_PROXY": "127.0.0.1"},
    )
    assert run.code == 0, run.err
    assert TOKEN not in run.out + run.err
    assert UPLOAD not in run.out + run.err
    assert stand.secrets(ORG, NAME)["ANACONDA_API_TOKEN"] == UPLOAD
    again = smithy("register-github", feedstock, "--org", ORG, env={"NO_PROXY": "127.0.0.1"})
    assert again.code == 0, again.err
    assert "warning" in again.err  # no upload token given this time
