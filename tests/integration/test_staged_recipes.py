"""The admin repository's staged recipes, its two workflows' scripts run for real.

``staged-recipes.yml`` (pull requests): its list step on a merge commit of a pull request
adding two pure recipes (wheels on a local package index), then each recipe's lint, init, build
and test steps as a matrix job runs them, with no GitHub credential in reach; the recipes pass
in a real Pyodide. ``staged-register.yml`` (merges): its one step, with the App's credentials,
against the GitHub stand-in: two repositories registered and the recipes removed by the bot's
commits; a run that fails on one recipe (the stand-in's fault knobs) is finished by a re-run
from the same commit, GitHub's "Re-run jobs", and each repository is made once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smithy.admin import AdminSettings, render_admin
from smithy.self_install import SmithyInstall
from tests.helpers import load_yaml, write_recipe
from tests.integration.anaconda_emulator import running_emulator
from tests.integration.conftest import GITHUB_ORG as ORG
from tests.integration.conftest import git, smithy
from tests.integration.github_standin import GitHubStandIn
from tests.integration.pypi_server import FakeIndex, Served, serve, sha256
from tests.integration.test_register_github import REGISTER_GRANTS, app_keys
from tests.integration.test_rerender_command import bash
from tests.wheels import make_wheel

ADMIN = "pyodide-smithy-admin"
STAGED = ".github/workflows/staged-recipes.yml"
REGISTER = ".github/workflows/staged-register.yml"
NAMES = ("staged-alpha", "staged-beta")
# What the commands need from the test session (cache, git identity, xbuildenv metadata, the
# Pyodide runtime, the package index), on top of what GitHub gives a step: never a token.
PASSED = ("PYODIDE_SMITHY_", "PYODIDE_CROSS_BUILD_ENV_METADATA_URL", "GIT_CONFIG_")
SECRETS = ("GITHUB_TOKEN", "PYODIDE_SMITHY_GITHUB_APP_KEY", "ANACONDA_API_TOKEN")


def session_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith(PASSED) and k not in SECRETS}
    return env | {"NO_PROXY": "127.0.0.1"} | extra


def step(job: Any, name: str) -> dict[str, Any]:
    (found,) = [s for s in job["steps"] if s.get("id") == name or s.get("name") == name]
    return dict(found)


def lint_available() -> bool:
    """`pyodide-smithy lint` is being written on another branch: its step runs once it lands."""
    return smithy("lint", "--help").code == 0


@pytest.fixture
def index() -> Iterator[FakeIndex]:
    with serve(FakeIndex()) as fake:
        yield fake


def staged_recipe(root: Path, index: FakeIndex, name: str, version: str) -> Path:
    """A pure recipe whose source is a wheel on the local index, as a contributor stages it."""
    module = name.replace("-", "_")
    wheel = make_wheel(
        root / "wheels",
        name,
        version,
        files={f"{module}/__init__.py": f"VERSION = {version!r}\nANSWER = 42\n"},
    )
    index.routes[f"/files/{wheel.name}"] = Served(wheel.read_bytes())
    return write_recipe(
        root / "recipes" / name,
        f"package:\n  name: {name}\n  version: '{version}'\n  top-level:\n    - {module}\n"
        f"source:\n  url: {index.base}/files/{wheel.name}\n"
        f"  sha256: {sha256(wheel.read_bytes())}\n"
        f"about:\n  summary: A staged recipe\n  license: MIT\n"
        f"extra:\n  recipe-maintainers:\n    - alice\n",
    )


def admin_files(channel: str) -> dict[str, bytes]:
    return render_admin(AdminSettings(org=ORG, channel=channel, smithy=SmithyInstall("0.1.0")))


def write_files(root: Path, files: dict[str, bytes]) -> None:
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content)


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The organisation's channel (the admin's --channel): an empty Anaconda.org owner on the
    emulator, where CI reads dependencies from."""
    with running_emulator() as emu:
        emu.add_owner("pyodide", "tok-unused")
        monkeypatch.setenv("PYODIDE_SMITHY_ANACONDA_API_URL", emu.api_url)
        monkeypatch.setenv("PYODIDE_SMITHY_ANACONDA_INDEX_URL", emu.index_url)
        yield "anaconda://pyodide"


def pull_request_merge(tmp_path: Path, files: dict[str, bytes], recipes: list[Path]) -> Path:
    """The admin repository with a pull request adding ``recipes``, checked out as GitHub checks
    out a pull request: its merge commit, whose first parent is the base."""
    work = tmp_path / "checkout"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    write_files(work, files)
    git(work, "add", "-A")
    git(work, "commit", "-qm", "Admin repository")
    git(work, "checkout", "-qb", "add-recipes")
    for recipe in recipes:
        target = work / "recipes" / recipe.name
        target.mkdir(parents=True)
        (target / "meta.yaml").write_bytes((recipe / "meta.yaml").read_bytes())
    git(work, "add", "-A")
    git(work, "commit", "-qm", "Add recipes")
    git(work, "checkout", "-q", "main")
    git(work, "merge", "-q", "--no-ff", "-m", "Merge pull request #1", "add-recipes")
    return work


def run_list(flow: Any, checkout: Path) -> tuple[int, dict[str, str], str]:
    return bash(step(flow["jobs"]["list"], "list")["run"], session_env(), checkout)


def test_a_pull_request_with_two_recipes_has_both_linted_built_and_tested_in_pyodide(
    tmp_path: Path, index: FakeIndex, channel: str, shared_test_runtime: None
) -> None:
    files = admin_files(channel)
    flow = load_yaml(files[STAGED])
    recipes = [staged_recipe(tmp_path / "new", index, name, "1.0") for name in NAMES]
    checkout = pull_request_merge(tmp_path, files, recipes)

    code, outputs, log = run_list(flow, checkout)
    assert code == 0, log
    assert json.loads(outputs["recipes"]) == list(NAMES)

    check = flow["jobs"]["check"]
    linted = lint_available()
    for name in json.loads(outputs["recipes"]):  # one matrix job each, on a runner of its own
        runner = tmp_path / f"runner-{name}"
        runner.mkdir()
        feedstock = runner / "feedstock"
        env = session_env(RECIPE=name, RUNNER_TEMP=str(runner))
        if linted:
            code, _, log = bash(step(check, "Lint the recipe")["run"], env, checkout)
            assert code == 0, log
        env["FEEDSTOCK"] = str(feedstock)  # ${{ runner.temp }}/feedstock
        code, facts, log = bash(step(check, "init")["run"], env, checkout)
        assert code == 0, log
        assert facts["name"] == name
        assert (facts["kind"], facts["needs_emscripten"], facts["runs_tests"]) == (
            "pure-wheel",
            "false",
            "true",
        )
        assert facts["python"].startswith("3.")  # what setup-python is given
        assert (feedstock / "recipe" / "meta.yaml").read_bytes() == (
            checkout / "recipes" / name / "meta.yaml"
        ).read_bytes()
        for title in ("Build (pyodide-smithy build, as the feedstock's CI)",
                      "Test in Pyodide (pyodide-smithy test, as the feedstock's CI)"):  # fmt: skip
            ran = step(check, title)
            assert ran["working-directory"] == "${{ runner.temp }}/feedstock"
            code, _, log = bash(ran["run"], session_env(), feedstock)
            assert code == 0, log
        assert "result: passed" in log
        assert name.replace("-", "_") in log
        assert [p.name for p in (feedstock / "dist").glob("*.whl")] == [
            f"{name.replace('-', '_')}-1.0-0-py3-none-any.whl"
        ]
    if not linted:
        pytest.skip("pyodide-smithy lint is not on this branch yet: its step was not run")


def test_the_list_takes_only_package_names_and_skips_removed_recipes(tmp_path: Path) -> None:
    files = admin_files("anaconda://pyodide")
    flow = load_yaml(files[STAGED])
    recipe = write_recipe(tmp_path / "new" / "ok-pkg", "package: {}\n")
    checkout = pull_request_merge(tmp_path, files, [recipe])
    code, outputs, log = run_list(flow, checkout)
    assert (code, outputs) == (0, {"recipes": '["ok-pkg"]'}), log

    # a pull request that removes the recipe again, and one that edits only the README
    git(checkout, "rm", "-rq", "recipes/ok-pkg")
    (checkout / "README.md").write_text("changed\n")
    git(checkout, "commit", "-qam", "remove")
    code, outputs, log = run_list(flow, checkout)
    assert (code, outputs) == (0, {"recipes": "[]"}), log

    for hostile in ("x$(touch${IFS}pwned)", "a b", 'z\nrecipes=["evil"]', "-opt", ".hidden"):
        folder = checkout / "recipes" / hostile
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "meta.yaml").write_text("package: {}\n")
        git(checkout, "add", "-A")
        git(checkout, "commit", "-qm", "hostile")
        code, outputs, log = run_list(flow, checkout)
        assert code != 0, (hostile, log)
        assert outputs == {}, hostile
        assert "not package names" in log
        git(checkout, "reset", "-q", "--hard", "HEAD^")
    assert not list(tmp_path.rglob("pwned*"))


# --- on merge: bot stage-merge with the App's credentials ------------------------------------


@pytest.fixture
def app(stand: GitHubStandIn) -> dict[str, str]:
    """The org's App (installation 77) with what registering needs, as the step's env has it."""
    private, public = app_keys()
    grants = {k: v for k, v in REGISTER_GRANTS.items() if k != "secrets"}
    stand.add_app(4242, 77, public_key_pem=public.decode(), permissions=grants)
    stand.serve_git_over_http()
    return {
        "PYODIDE_SMITHY_GITHUB_APP_ID": "4242",
        "PYODIDE_SMITHY_GITHUB_INSTALLATION_ID": "77",
        "PYODIDE_SMITHY_GITHUB_APP_KEY": private.decode(),
        # test-only: where "GitHub" is, and no throttling
        "PYODIDE_SMITHY_GITHUB_API_URL": stand.base_url,
        "PYODIDE_SMITHY_GITHUB_THROTTLE": "0",
    }


@pytest.fixture
def merged(stand: GitHubStandIn, tmp_path: Path, index: FakeIndex) -> str:
    """The admin repository in the stand-in, main holding the two merged recipes; its commit."""
    files = admin_files("anaconda://pyodide")
    for name in NAMES:
        recipe = staged_recipe(tmp_path / "new", index, name, "1.0")
        files[f"recipes/{name}/meta.yaml"] = (recipe / "meta.yaml").read_bytes()
    bare = stand.create_repo(ORG, ADMIN, dict(files))
    return git(bare, "rev-parse", "main").strip()


def register_step(tmp_path: Path, stand: GitHubStandIn, commit: str, env: dict[str, str]) -> Any:
    """The register job as GitHub runs it for the push of ``commit``: a checkout of main at
    that commit (no credential kept), then the stage-merge step; (exit code, log)."""
    checkout = tmp_path / f"register-{len(list(tmp_path.iterdir()))}"
    git(tmp_path, "clone", "-q", f"{stand.base_url}/{ORG}/{ADMIN}.git", str(checkout))
    git(checkout, "checkout", "-q", "-B", "main", commit)
    flow = load_yaml((checkout / REGISTER).read_bytes())
    script = step(flow["jobs"]["register"], "bot stage-merge")["run"]
    code, _, log = bash(script, session_env() | env, checkout)
    config = (checkout / ".git" / "config").read_text()
    assert "extraheader" not in config  # the token rode in git's environment only
    assert "PRIVATE KEY" not in log
    return code, log


def admin_tree(stand: GitHubStandIn) -> list[str]:
    bare = stand.git_root / ORG / f"{ADMIN}.git"
    return git(bare, "ls-tree", "-r", "--name-only", "main").split()


def bot_commits(stand: GitHubStandIn) -> list[str]:
    bare = stand.git_root / ORG / f"{ADMIN}.git"
    log = git(bare, "log", "--format=%an <%ae>|%s", "main")
    return [line for line in log.splitlines() if line.startswith("pyodide-smithy-bot <")]


def test_merged_recipes_become_two_registered_feedstocks_and_leave_the_admin_repository(
    stand: GitHubStandIn, tmp_path: Path, app: dict[str, str], merged: str
) -> None:
    code, log = register_step(tmp_path, stand, merged, app)
    assert code == 0, log
    for name in NAMES:
        repo = f"{name}-feedstock"
        assert repo in stand.store.orgs[ORG].repos
        assert stand.protection(ORG, repo, "main") is not None
        bare = stand.git_root / ORG / f"{repo}.git"
        assert git(bare, "show", "main:recipe/meta.yaml").startswith(f"package:\n  name: {name}")
        assert f"{name}\tregistered\t{ORG}/{repo}\tremoved" in log
    assert not [p for p in admin_tree(stand) if p.startswith("recipes/")]
    assert len(bot_commits(stand)) == 2
    assert all(c.endswith(" now [skip ci]") for c in bot_commits(stand))
    assert stand.count("POST", f"/orgs/{ORG}/repos") == 2
    pushes = {r.login for r in stand.git_requests if r.service == "git-receive-pack"}
    assert pushes == {"pyodide-smithy[bot]"}
    assert stand.count("POST", "/app/installations/77/access_tokens") == 1  # one client a run

    # nothing left: a run of the same commit (a re-run, or the bot's own push) does nothing
    code, log = register_step(tmp_path, stand, merged, app)
    assert code == 0, log
    assert stand.count("POST", f"/orgs/{ORG}/repos") == 2
    assert len(bot_commits(stand)) == 2
    tip = git(stand.git_root / ORG / f"{ADMIN}.git", "rev-parse", "main").strip()
    code, log = register_step(tmp_path, stand, tip, app)  # by hand, after the last removal
    assert (code, "no staged recipes" in log) == (0, True), log


def test_a_run_that_fails_on_the_second_recipe_is_finished_by_a_rerun(
    stand: GitHubStandIn, tmp_path: Path, app: dict[str, str], merged: str
) -> None:
    """The second repository is created and pushed, then protecting it fails: the job fails
    with the first recipe done and removed, the second kept. Re-running the job (the same
    commit) finds the second repository holding its recipe, protects it and removes it."""
    beta = f"{NAMES[1]}-feedstock"
    stand.faults.add("PUT", rf"/repos/{ORG}/{beta}/branches/main/protection", 422, "Validation")
    code, log = register_step(tmp_path, stand, merged, app)
    assert code == 1, log
    assert f"{NAMES[0]}\tregistered" in log
    assert f"{NAMES[1]}\tfailed\t{ORG}/{beta}\tkept" in log
    assert "recipes/staged-beta/meta.yaml" in admin_tree(stand)
    assert "recipes/staged-alpha/meta.yaml" not in admin_tree(stand)
    assert stand.protection(ORG, beta, "main") is None

    code, log = register_step(tmp_path, stand, merged, app)
    assert code == 0, log
    assert NAMES[0] not in log  # removed already: the re-run's checkout caught up with main
    assert f"{NAMES[1]}\texists\t{ORG}/{beta}\tremoved" in log
    assert stand.protection(ORG, beta, "main") is not None
    assert not [p for p in admin_tree(stand) if p.startswith("recipes/")]
    assert stand.count("POST", f"/orgs/{ORG}/repos") == 2  # one repository each
    assert len(bot_commits(stand)) == 2


def test_a_lost_answer_to_create_is_finished_by_a_rerun_without_a_second_repository(
    stand: GitHubStandIn, tmp_path: Path, app: dict[str, str], merged: str
) -> None:
    """GitHub creates the first repository but the answer is lost (500 after acting): the
    retried create is refused as taken and that recipe fails, empty repository left behind.
    The re-run pushes into that repository instead of making another."""
    stand.faults.add("POST", rf"/orgs/{ORG}/repos", 500, after=True)
    code, log = register_step(tmp_path, stand, merged, app)
    assert code == 1, log
    alpha = f"{NAMES[0]}-feedstock"
    assert f"{NAMES[0]}\tfailed" in log
    assert f"{NAMES[1]}\tregistered" in log
    assert alpha in stand.store.orgs[ORG].repos  # made, then the answer lost

    code, log = register_step(tmp_path, stand, merged, app)
    assert code == 0, log
    assert f"{NAMES[0]}\tregistered\t{ORG}/{alpha}\tremoved" in log
    assert "pushed to the empty repository" in log
    assert sorted(stand.store.orgs[ORG].repos) == sorted(
        [ADMIN, *(f"{n}-feedstock" for n in NAMES)]
    )
    assert not [p for p in admin_tree(stand) if p.startswith("recipes/")]


def test_a_repository_holding_another_recipe_is_left_alone(
    stand: GitHubStandIn, tmp_path: Path, app: dict[str, str], merged: str
) -> None:
    beta = f"{NAMES[1]}-feedstock"
    stand.create_repo(ORG, beta, {"recipe/meta.yaml": "package:\n  name: something-else\n"})
    code, log = register_step(tmp_path, stand, merged, app)
    assert code == 1, log
    assert f"{NAMES[1]}\tfailed\t{ORG}/{beta}\tkept\t{ORG}/{beta} exists and holds another" in log
    assert "recipes/staged-beta/meta.yaml" in admin_tree(stand)
    bare = stand.git_root / ORG / f"{beta}.git"
    assert git(bare, "rev-list", "--count", "main").strip() == "1"  # untouched
