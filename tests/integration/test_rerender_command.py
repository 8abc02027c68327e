"""The feedstock's "@pyodide-smithy-bot please rerender" workflow.

Its shape is asserted on the rendered YAML (who gets which token and secret); its scripts are
run for real with bash as GitHub runs them: the permission check against the GitHub stand-in,
the render step in a clone of a real feedstock, the push step into the stand-in's bare repo.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from smithy.feedstock.init import run_init
from smithy.feedstock.rerender import run_rerender
from tests.conftest import METADATA
from tests.helpers import load_yaml, render_recipe
from tests.integration.conftest import GITHUB_ORG as ORG
from tests.integration.conftest import GITHUB_TOKEN, git
from tests.integration.github_standin import GitHubStandIn

WORKFLOW = ".github/workflows/rerender.yml"
BIN = Path(sys.executable).parent
REPO = "attrs-feedstock"


@pytest.fixture(scope="module")
def flow(recipes_root: Path) -> Any:
    return load_yaml(render_recipe(recipes_root / "attrs")[WORKFLOW])


def step(flow: Any, job: str, name: str) -> dict[str, Any]:
    steps = flow["jobs"][job]["steps"]
    (found,) = [s for s in steps if s.get("id") == name or s.get("name", "").startswith(name)]
    return dict(found)


def test_only_the_push_step_holds_a_secret_and_the_render_job_a_read_only_token(flow: Any) -> None:
    jobs = flow["jobs"]
    assert flow["permissions"] == {}
    assert jobs["render"]["permissions"] == {"contents": "read"}
    assert "secrets." not in str(jobs["render"])
    assert "github.token" not in str(jobs["render"])
    for s in jobs["render"]["steps"] + jobs["push"]["steps"]:
        if "actions/checkout" in s.get("uses", ""):
            assert s["with"]["persist-credentials"] is False
    holders = [
        (job_id, s.get("id") or s.get("name"))
        for job_id, job in jobs.items()
        for s in job["steps"]
        if "secrets." in str(s)
    ]
    assert holders == [("push", "token")]
    assert jobs["push"]["permissions"] == {}
    token = step(flow, "push", "token")["with"]
    assert (token["permission-contents"], token["permission-workflows"]) == ("write", "write")


def test_nothing_runs_unless_the_check_allowed_it(flow: Any) -> None:
    jobs = flow["jobs"]
    assert "please rerender" in jobs["check"]["if"]
    assert "github.event.issue.pull_request" in jobs["check"]["if"]
    assert jobs["render"]["needs"] == "check"
    assert "needs.check.outputs.allowed == 'true'" in jobs["render"]["if"]
    assert "render" in jobs["push"]["needs"]
    assert jobs["push"]["if"] == "needs.render.outputs.changed == 'true'"  # render ran, so allowed
    assert "needs.check.outputs.allowed == 'true'" in jobs["reply"]["if"]
    # untrusted text reaches scripts only through environment variables, never ${{ }} in run:
    for job in jobs.values():
        for s in job["steps"]:
            assert "${{" not in s.get("run", ""), s


def bash(script: str, env: dict[str, str], cwd: Path) -> tuple[int, dict[str, str], str]:
    """``run:`` as GitHub runs it (bash -eo pipefail), with $GITHUB_OUTPUT read back."""
    output = cwd / f"github-output-{len(list(cwd.iterdir()))}"
    output.write_text("")
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(cwd), "GITHUB_OUTPUT": str(output)} | env,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = output.read_text().splitlines()
    return proc.returncode, dict(line.split("=", 1) for line in lines), proc.stdout + proc.stderr


def publish(stand: GitHubStandIn, feedstock: Path) -> Path:
    """The feedstock's main branch into the stand-in, with a maintainer and a passer-by."""
    bare = stand.create_repo(ORG, REPO)
    git(feedstock, "push", "-q", "--force", str(bare), "HEAD:refs/heads/main")
    stand.add_user("maintainer", "ghp_maintainer", permission={f"{ORG}/{REPO}": "maintain"})
    stand.add_user("passer-by", "ghp_passer", permission={"*": "read"})
    return bare


def propose(stand: GitHubStandIn, feedstock: Path, branch: str, message: str) -> dict[str, Any]:
    """The feedstock's uncommitted edits as a maintainer's commit on ``branch``, pushed, and a
    pull request from it; its number and head."""
    git(feedstock, "checkout", "-q", "-b", branch)
    git(feedstock, "-c", "user.name=m", "-c", "user.email=m@m", "commit", "-qam", message)
    git(feedstock, "push", "-q", str(stand.git_root / ORG / f"{REPO}.git"), branch)
    with stand.lock:
        repo = stand.store.orgs[ORG].repos[REPO]
        user = stand.store.users["maintainer"]
        made = stand.store.create_pull(repo, user, {"head": branch, "base": "main", "title": "t"})
    head = git(feedstock, "rev-parse", "HEAD").strip()
    return {"number": made.number, "head": head, "branch": branch}


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


@pytest.fixture
def pull(stand: GitHubStandIn, recipes_root: Path, tmp_path: Path) -> dict[str, Any]:
    """attrs' feedstock (pinned to 314.0.4) in the stand-in, and a maintainer's PR that bumps
    the pin in pyodide-smithy.yml without re-rendering."""
    feedstock = run_init(str(recipes_root / "attrs"), output=tmp_path / REPO, xbuildenv="314.0.4",
                         metadata=str(METADATA)).feedstock  # fmt: skip
    publish(stand, feedstock)
    replace_in(feedstock / "pyodide-smithy.yml", '"314.0.4"', '"314.0.5"')
    return propose(stand, feedstock, "bump", "Bump xbuildenv")


@pytest.fixture
def new_version(stand: GitHubStandIn, recipes_root: Path, tmp_path: Path) -> dict[str, Any]:
    """attrs' feedstock whose main builds 26.1.0 at build-number 3, and a maintainer's PR that
    moves the recipe to 26.2.0 without re-rendering (so without resetting the number)."""
    feedstock = run_init(str(recipes_root / "attrs"), output=tmp_path / REPO, xbuildenv="314.0.4",
                         metadata=str(METADATA)).feedstock  # fmt: skip
    replace_in(feedstock / "pyodide-smithy.yml", "\nbuild-number: 0\n", "\nbuild-number: 3\n")
    git(feedstock, "-c", "user.name=m", "-c", "user.email=m@m", "commit", "-qam", "Rebuild")
    assert run_rerender(feedstock, metadata=str(METADATA)).build_number is None
    publish(stand, feedstock)
    replace_in(feedstock / "recipe" / "meta.yaml", "26.1.0", "26.2.0")  # version and wheel URL
    return propose(stand, feedstock, "attrs-26.2.0", "attrs 26.2.0")


def check(stand: GitHubStandIn, flow: Any, commenter: str, number: int, cwd: Path) -> Any:
    env = {"GH_TOKEN": GITHUB_TOKEN, "API": stand.base_url, "REPO": f"{ORG}/{REPO}"}
    env |= {"COMMENTER": commenter, "NUMBER": str(number)}
    return bash(step(flow, "check", "permission")["run"], env, cwd)


def test_the_check_lets_only_writers_through(
    stand: GitHubStandIn, flow: Any, pull: dict[str, Any], tmp_path: Path
) -> None:
    for commenter in ("passer-by", "nobody-at-all"):
        stand.endpoints.clear()
        code, outputs, log = check(stand, flow, commenter, pull["number"], tmp_path)
        assert code == 0, log
        assert outputs == {"allowed": "false"}, log
        assert stand.endpoints["GET /repos/{o}/{r}/pulls/{n}"] == 0  # nothing more is read
    code, outputs, log = check(stand, flow, "maintainer", pull["number"], tmp_path)
    assert code == 0, log
    assert "maintainer has write access" in log
    assert outputs == {
        "allowed": "true",
        "head_sha": pull["head"],
        "head_ref": "bump",
        "same_repo": "true",
    }


def render(flow: Any, bare: Path, head: str, cwd: Path) -> Path:
    """The render job at ``head`` in a fresh clone; the patch it keeps."""
    work = cwd / f"render-{len(list(cwd.iterdir()))}"
    git(cwd, "clone", "-q", str(bare), str(work))
    git(work, "checkout", "-q", head)
    env = {"HEAD_SHA": head, "PYODIDE_CROSS_BUILD_ENV_METADATA_URL": str(METADATA)}
    code, outputs, log = bash(step(flow, "render", "rerender")["run"], env, work)
    assert (code, outputs) == (0, {"changed": "true"}), log
    return work / "rerender.patch"


class Refused(Exception):
    """The push job stopped; its log."""


def push(stand: GitHubStandIn, flow: Any, pull: dict[str, Any], patch: str, cwd: Path) -> str:
    """The push job: ``patch`` applied on the PR's head and pushed to its branch (a local
    path as the server); the log, raising with it when the job fails."""
    target = cwd / f"push-{len(list(cwd.iterdir()))}"
    git(cwd, "clone", "-q", str(stand.git_root / ORG / f"{REPO}.git"), str(target))
    git(target, "checkout", "-q", pull["head"])
    (target / "rerender.patch").write_text(patch)
    env = {"TOKEN": "ghs_app-token", "SERVER": stand.git_root.as_uri(), "REPO": f"{ORG}/{REPO}"}
    env |= {"HEAD_SHA": pull["head"], "HEAD_REF": pull["branch"]}
    code, _, log = bash(step(flow, "push", "Apply the patch")["run"], env, target)
    if code != 0:
        raise Refused(log)
    return log


def branch_tip(stand: GitHubStandIn, branch: str) -> str:
    return git(stand.git_root / ORG / f"{REPO}.git", "rev-parse", branch).strip()


def rerendered_cleanly(stand: GitHubStandIn, branch: str, cwd: Path) -> None:
    """``rerender --check`` on a fresh clone of ``branch`` finds nothing to change."""
    checked = cwd / f"checked-{len(list(cwd.iterdir()))}"
    git(cwd, "clone", "-q", "--branch", branch, str(stand.git_root / ORG / f"{REPO}.git"),
        str(checked))  # fmt: skip
    done = subprocess.run(
        [str(BIN / "pyodide-smithy"), "rerender", "--check"],
        cwd=checked,
        env=os.environ | {"PYODIDE_CROSS_BUILD_ENV_METADATA_URL": str(METADATA)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_render_then_push_rerenders_the_branch_and_refuses_other_changes(
    stand: GitHubStandIn, flow: Any, pull: dict[str, Any], tmp_path: Path
) -> None:
    bare = stand.git_root / ORG / f"{REPO}.git"
    patch = render(flow, bare, pull["head"], tmp_path)
    assert "314.0.5" in patch.read_text()

    sneaky = _patch_touching_the_recipe(bare, pull["head"], tmp_path)
    with pytest.raises(Refused) as refused:
        push(stand, flow, pull, sneaky, tmp_path)
    assert "refusing to push changes outside the generated files: ['recipe/meta.yaml']" in str(
        refused.value
    )
    assert branch_tip(stand, "bump") == pull["head"]

    push(stand, flow, pull, patch.read_text(), tmp_path)
    tip = branch_tip(stand, "bump")
    assert tip != pull["head"]
    assert git(bare, "rev-parse", f"{tip}^").strip() == pull["head"]
    rerendered_cleanly(stand, "bump", tmp_path)


def test_the_command_resets_the_build_number_of_a_new_version(
    stand: GitHubStandIn, flow: Any, new_version: dict[str, Any], tmp_path: Path
) -> None:
    """A PR moving the recipe to a new version, from main at build-number 3: the comment's
    render sets it back to 0, the one change to pyodide-smithy.yml the push job accepts."""
    code, outputs, log = check(stand, flow, "maintainer", new_version["number"], tmp_path)
    assert (code, outputs["allowed"], outputs["head_sha"]) == (0, "true", new_version["head"]), log
    bare = stand.git_root / ORG / f"{REPO}.git"
    patch = render(flow, bare, outputs["head_sha"], tmp_path).read_text()
    diff = patch.split("\n-- \n")[0]  # format-patch's signature follows
    config_diff = diff.split("diff --git a/pyodide-smithy.yml")[1].split("diff --git")[0]
    changed = [x for x in config_diff.splitlines() if x[:1] in "+-" and x[:3] not in "+++---"]
    assert changed == ["-build-number: 3", "+build-number: 0"]

    push(stand, flow, new_version, patch, tmp_path)
    tip = branch_tip(stand, new_version["branch"])
    assert git(bare, "rev-parse", f"{tip}^").strip() == new_version["head"]  # on top, no force
    config = git(bare, "show", f"{tip}:pyodide-smithy.yml")
    assert "\nbuild-number: 0\n" in config
    assert config.replace("build-number: 0", "build-number: 3") == git(
        bare, "show", "main:pyodide-smithy.yml"
    )
    rerendered_cleanly(stand, new_version["branch"], tmp_path)


def _reset_and_move_the_channel(work: Path) -> None:
    config = work / "pyodide-smithy.yml"
    replace_in(config, "build-number: 3", "build-number: 0")
    replace_in(config, '"anaconda://pyodide"', '"anaconda://mallory"')


def _reset_and_add_a_key(work: Path) -> None:
    replace_in(work / "pyodide-smithy.yml", "build-number: 3\n", "build-number: 0\ntests: no\n")


def _reset_with_a_comment(work: Path) -> None:
    replace_in(work / "pyodide-smithy.yml", "build-number: 3\n", "build-number: 0  # x\n")


def _make_the_settings_executable(work: Path) -> None:
    (work / "pyodide-smithy.yml").chmod(0o755)


def _move_the_recipe_to_a_generated_path(work: Path) -> None:
    """A rename, which git would show as the new path alone: the recipe's deletion must show."""
    git(work, "mv", "recipe/meta.yaml", "meta.yaml")
    replace_in(
        work / ".pyodide-smithy" / "manifest.json", '"files": {', '"files": {"meta.yaml": "",'
    )


Edit = Callable[[Path], None]
# What a hostile patch changes -> the path the push job names in refusing it.
HOSTILE_EDITS: dict[Edit, str] = {
    _reset_and_move_the_channel: "pyodide-smithy.yml",
    _reset_and_add_a_key: "pyodide-smithy.yml",
    _reset_with_a_comment: "pyodide-smithy.yml",
    _make_the_settings_executable: "pyodide-smithy.yml",
    _move_the_recipe_to_a_generated_path: "recipe/meta.yaml",
}


@pytest.mark.parametrize("edit", HOSTILE_EDITS, ids=lambda edit: edit.__name__.strip("_"))
def test_the_settings_may_change_only_in_their_build_number(
    stand: GitHubStandIn,
    flow: Any,
    new_version: dict[str, Any],
    tmp_path: Path,
    edit: Callable[[Path], None],
) -> None:
    """A patch that resets build-number and changes anything else of pyodide-smithy.yml (a
    key, a comment, its mode), or moves a recipe file, is refused whole: nothing is pushed."""
    bare = stand.git_root / ORG / f"{REPO}.git"
    patch = _patch(bare, new_version["head"], tmp_path, edit)
    with pytest.raises(Refused) as stopped:
        push(stand, flow, new_version, patch, tmp_path)
    assert f"outside the generated files: ['{HOSTILE_EDITS[edit]}']" in str(stopped.value)
    assert branch_tip(stand, new_version["branch"]) == new_version["head"]


def _patch(bare: Path, head: str, tmp_path: Path, edit: Callable[[Path], None]) -> str:
    """The patch of one commit on ``head`` made by ``edit``, as a hostile render could make."""
    work = tmp_path / f"hostile-{len(list(tmp_path.iterdir()))}"
    git(tmp_path, "clone", "-q", str(bare), str(work))
    git(work, "checkout", "-q", head)
    edit(work)
    git(work, "add", "-A")
    git(work, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "hostile")
    return git(work, "format-patch", "--stdout", f"{head}..HEAD")


def _patch_touching_the_recipe(bare: Path, head: str, tmp_path: Path) -> str:
    """A patch that changes recipe/meta.yaml and lists it in the manifest."""

    def edit(work: Path) -> None:
        meta = work / "recipe" / "meta.yaml"
        meta.write_text(meta.read_text() + "# changed\n")
        manifest = work / ".pyodide-smithy" / "manifest.json"
        replace_in(manifest, '"files": {', '"files": {"recipe/meta.yaml": "",')

    return _patch(bare, head, tmp_path, edit)


HOSTILE = ["x$(touch${IFS}pwned-1)", "y;touch${IFS}pwned-2", "z`touch${IFS}pwned-3`", "w'\"|&<>"]


def test_branch_names_with_shell_metacharacters_stay_data(
    stand: GitHubStandIn, flow: Any, pull: dict[str, Any], tmp_path: Path
) -> None:
    """Legal git branch names that are shell code reach the scripts only as quoted data: the
    check reads them back verbatim, the push lands on exactly that branch, nothing runs. The
    push goes over HTTP with the App token in its environment only."""
    stand.serve_git_over_http()
    bare = stand.git_root / ORG / f"{REPO}.git"
    with stand.lock:
        repo, user = stand.store.orgs[ORG].repos[REPO], stand.store.users["maintainer"]
    numbers = {}
    for branch in HOSTILE:
        git(bare, "update-ref", f"refs/heads/{branch}", pull["head"])
        with stand.lock:
            made = stand.store.create_pull(
                repo, user, {"head": branch, "base": "main", "title": "t"}
            )
        numbers[branch] = made.number
    work = tmp_path / "render"
    git(tmp_path, "clone", "-q", str(bare), str(work))
    git(work, "checkout", "-q", pull["head"])
    env = {"HEAD_SHA": pull["head"], "PYODIDE_CROSS_BUILD_ENV_METADATA_URL": str(METADATA)}
    code, outputs, log = bash(step(flow, "render", "rerender")["run"], env, work)
    assert (code, outputs) == (0, {"changed": "true"}), log

    for branch, number in numbers.items():
        code, outputs, log = check(stand, flow, "maintainer", number, tmp_path)
        assert code == 0, log
        assert outputs["head_ref"] == branch
        target = tmp_path / f"push-{number}"
        git(tmp_path, "clone", "-q", str(bare), str(target))
        git(target, "checkout", "-q", pull["head"])
        (target / "rerender.patch").write_text((work / "rerender.patch").read_text())
        env = {"TOKEN": GITHUB_TOKEN, "SERVER": stand.base_url, "REPO": f"{ORG}/{REPO}"}
        env |= {"HEAD_SHA": pull["head"], "HEAD_REF": branch}
        code, _, log = bash(step(flow, "push", "Apply the patch")["run"], env, target)
        assert code == 0, log
        tip = git(bare, "rev-parse", f"refs/heads/{branch}").strip()
        assert git(bare, "rev-parse", f"{tip}^").strip() == pull["head"]  # on top, no force
        assert GITHUB_TOKEN not in (target / ".git" / "config").read_text()
    assert not list(tmp_path.rglob("pwned*"))
    pushes = [r for r in stand.git_requests if r.service == "git-receive-pack"]
    assert pushes
    assert {r.login for r in pushes} == {"smithy-bot"}


def test_the_commands_commits_carry_the_bots_identity(flow: Any) -> None:
    """The bot tells its own commits from maintainers' by this identity (smithy/bot/plan.py):
    a re-render by the command on the bot's branch is the bot's, never a maintainer's."""
    from smithy.bot.plan import BOT_EMAIL, BOT_NAME

    for job, name in (("render", "rerender"), ("push", "Apply the patch")):
        script = step(flow, job, name)["run"]
        assert f'git config user.name "{BOT_NAME}"' in script
        assert f'git config user.email "{BOT_EMAIL}"' in script
    push = step(flow, "push", "Apply the patch")["run"]
    assert "git -c" not in push  # the token is never on a command line
    assert "--force" not in push
    assert "+HEAD" not in push
