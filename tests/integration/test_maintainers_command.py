"""The feedstock's "@pyodide-smithy-bot please add user @LOGIN" workflow (maintainers.yml).

Its shape is asserted on the rendered YAML; its scripts run for real with bash as GitHub runs
them, as the rerender command's tests do: the check against the GitHub stand-in, the render in
a clone of a real feedstock, the push into the stand-in over HTTP (the App's token as a
user's), the reply as a comment. The stand-in keeps comments on pull requests only (GitHub's
issues and pull requests share numbers and the ``issues/{n}/comments`` route), so a pull
request stands for the issue the command is written on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from smithy.errors import UsageError
from smithy.feedstock.init import run_init
from smithy.feedstock.maintainers import check_login
from smithy.feedstock.rerender import run_rerender
from tests.conftest import METADATA
from tests.helpers import load_yaml, render_recipe
from tests.integration.conftest import GITHUB_ORG as ORG
from tests.integration.conftest import GITHUB_TOKEN, git, smithy
from tests.integration.github_standin import GitHubStandIn
from tests.integration.test_rerender_command import REPO, bash, publish, rerendered_cleanly
from tests.integration.workflow_lint import assert_actionlint_clean, assert_zizmor_clean

WORKFLOW = ".github/workflows/maintainers.yml"
COMMAND = "@pyodide-smithy-bot please add user"


@pytest.fixture(scope="module")
def flow(recipes_root: Path) -> Any:
    return load_yaml(render_recipe(recipes_root / "attrs")[WORKFLOW])


def step(flow: Any, job: str, name: str) -> dict[str, Any]:
    steps = flow["jobs"][job]["steps"]
    (found,) = [s for s in steps if s.get("id") == name or s.get("name", "").startswith(name)]
    return dict(found)


def test_secrets_only_in_the_push_jobs_token_step_and_a_read_only_render(flow: Any) -> None:
    jobs = flow["jobs"]
    assert flow["permissions"] == {}
    assert jobs["check"]["permissions"] == {}
    assert jobs["render"]["permissions"] == {"contents": "read"}
    assert jobs["push"]["permissions"] == {}
    assert jobs["reply"]["permissions"] == {"issues": "write"}
    assert "github.token" not in str(jobs["render"])
    holders = [
        (job_id, s.get("id") or s.get("name"))
        for job_id, job in jobs.items()
        for s in job["steps"]
        if "secrets." in str(s)
    ]
    assert holders == [("push", "token")]
    token = step(flow, "push", "token")["with"]
    assert token["repositories"] == "${{ github.event.repository.name }}"
    assert (token["permission-contents"], token["permission-pull-requests"]) == ("write", "write")
    for job in jobs.values():
        for s in job["steps"]:
            assert "${{" not in s.get("run", ""), s  # untrusted text only through env:
            if "actions/checkout" in s.get("uses", ""):
                assert s["with"]["persist-credentials"] is False


def test_nothing_runs_unless_the_check_allowed_it(flow: Any) -> None:
    jobs = flow["jobs"]
    assert COMMAND in jobs["check"]["if"]
    assert "!github.event.issue.pull_request" in jobs["check"]["if"]  # issues only
    assert "github.event.comment.user.type != 'Bot'" in jobs["check"]["if"]
    assert jobs["render"]["if"] == "needs.check.outputs.allowed == 'true'"
    assert jobs["push"]["if"] == "needs.render.outputs.changed == 'true'"  # render ran: allowed
    assert jobs["reply"]["if"] == "always() && needs.check.result == 'success'"


def test_the_workflow_lints_clean(recipes_root: Path, tmp_path: Path) -> None:
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "maintainers.yml").write_bytes(render_recipe(recipes_root / "attrs")[WORKFLOW])
    assert_actionlint_clean([folder / "maintainers.yml"])
    assert_zizmor_clean(tmp_path)
    assert_zizmor_clean(tmp_path, persona="pedantic")


@pytest.fixture
def issue(stand: GitHubStandIn, recipes_root: Path, tmp_path: Path) -> dict[str, Any]:
    """attrs' feedstock in the stand-in, its recipe listing `maintainer` (with a comment), and
    the number the command is written on."""
    feedstock = run_init(str(recipes_root / "attrs"), output=tmp_path / REPO,
                         metadata=str(METADATA)).feedstock  # fmt: skip
    meta = feedstock / "recipe" / "meta.yaml"
    meta.write_text(meta.read_text() + "extra:\n  recipe-maintainers:\n    - maintainer  # first\n")
    git(feedstock, "commit", "-qam", "A maintainer")
    run_rerender(feedstock, metadata=str(METADATA))
    bare = publish(stand, feedstock)
    env = ["-c", "user.name=m", "-c", "user.email=m@m"]
    empty = git(bare, *env, "commit-tree", "main^{tree}", "-p", "main", "-m", "stands for an issue")
    git(bare, "update-ref", "refs/heads/issue", empty.strip())
    with stand.lock:
        repo = stand.store.orgs[ORG].repos[REPO]
        made = stand.store.create_pull(
            repo, stand.store.users["maintainer"], {"head": "issue", "base": "main", "title": "i"}
        )
    return {"number": made.number, "bare": bare, "main": git(bare, "rev-parse", "main").strip()}


def check(stand: GitHubStandIn, flow: Any, commenter: str, body: str, cwd: Path) -> Any:
    env = {"GH_TOKEN": GITHUB_TOKEN, "API": stand.base_url, "REPO": f"{ORG}/{REPO}"}
    env |= {"COMMENTER": commenter, "BODY": body}
    return bash(step(flow, "check", "check")["run"], env, cwd)


def reply(stand: GitHubStandIn, flow: Any, issue: dict[str, Any], cwd: Path, **env: str) -> str:
    """The reply job with ``env`` (the other jobs' results); the comment it posted."""
    base = {"GH_TOKEN": GITHUB_TOKEN, "API": stand.base_url, "REPO": f"{ORG}/{REPO}"}
    base |= {"NUMBER": str(issue["number"]), "RUN_URL": "https://github.invalid/run/1"}
    (only,) = flow["jobs"]["reply"]["steps"]
    code, _, log = bash(only["run"], base | env, cwd)
    assert code == 0, log
    return stand.comments(ORG, REPO, issue["number"])[-1]


def render(flow: Any, issue: dict[str, Any], login: str, cwd: Path) -> tuple[dict[str, str], Path]:
    """The render job on a fresh checkout of main; its outputs and the patch it keeps."""
    work = cwd / f"render-{len(list(cwd.iterdir()))}"
    git(cwd, "clone", "-q", str(issue["bare"]), str(work))
    env = {"LOGIN": login, "PYODIDE_CROSS_BUILD_ENV_METADATA_URL": str(METADATA)}
    code, outputs, log = bash(step(flow, "render", "add")["run"], env, work)
    assert code == 0, log
    assert outputs["base_sha"] == issue["main"]
    return outputs, work / "maintainers.patch"


class Refused(Exception):
    """The push job stopped; its log."""


def push(
    stand: GitHubStandIn, flow: Any, issue: dict[str, Any], patch: str, *, login: str, cwd: Path
) -> dict[str, str]:
    """The push job: ``patch`` applied on main's commit, pushed over HTTP, the pull request
    opened (a user's token stands for the App's); its outputs."""
    target = cwd / f"push-{len(list(cwd.iterdir()))}"
    git(cwd, "clone", "-q", str(issue["bare"]), str(target))
    git(target, "checkout", "-q", issue["main"])
    (target / "maintainers.patch").write_text(patch)
    env = {"TOKEN": GITHUB_TOKEN, "SERVER": stand.base_url, "API": stand.base_url}
    env |= {"REPO": f"{ORG}/{REPO}", "BASE_SHA": issue["main"], "BASE_REF": "main"}
    env |= {"LOGIN": login, "NUMBER": str(issue["number"])}
    code, outputs, log = bash(step(flow, "push", "push")["run"], env, target)
    if code != 0:
        raise Refused(log)
    assert GITHUB_TOKEN not in (target / ".git" / "config").read_text()
    return outputs


def branches(issue: dict[str, Any]) -> list[str]:
    return git(issue["bare"], "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


def test_a_maintainers_comment_opens_a_pull_request_adding_the_login_to_codeowners(
    stand: GitHubStandIn, flow: Any, issue: dict[str, Any], tmp_path: Path
) -> None:
    stand.serve_git_over_http()
    code, outputs, log = check(stand, flow, "maintainer", f"{COMMAND} @octo-cat\nthanks!", tmp_path)
    assert (code, outputs) == (0, {"allowed": "true", "login": "octo-cat"}), log
    assert "maintainer has write access" in log

    made, patch = render(flow, issue, outputs["login"], tmp_path)
    assert made["changed"] == "true"
    pushed = push(stand, flow, issue, patch.read_text(), login="octo-cat", cwd=tmp_path)
    branch = f"add-maintainer/octo-cat-{issue['main'][:12]}"
    assert branch in branches(issue)
    (pull,) = [p for p in stand.pulls(ORG, REPO) if p["head"]["ref"] == branch]
    assert pull["title"] == "Add @octo-cat as a maintainer"
    assert pull["base"]["ref"] == "main"
    assert f"as asked in #{issue['number']}" in pull["body"]
    assert pushed == {"pull": pull["html_url"]}

    bare = issue["bare"]
    assert git(bare, "rev-parse", f"{branch}~2").strip() == issue["main"]  # recipe, rerender
    meta = git(bare, "show", f"{branch}:recipe/meta.yaml")
    assert meta.endswith("  recipe-maintainers:\n    - maintainer  # first\n    - octo-cat\n")
    codeowners = git(bare, "show", f"{branch}:.github/CODEOWNERS")
    assert codeowners.splitlines()[-1] == "* @maintainer @octo-cat"
    rerendered_cleanly(stand, branch, tmp_path)
    pushes = {r.login for r in stand.git_requests if r.service == "git-receive-pack"}
    assert pushes == {"smithy-bot"}

    said = reply(stand, flow, issue, tmp_path, LOGIN="octo-cat", RENDER="success",
                 CHANGED="true", PUSH="success", PULL=pull["html_url"])  # fmt: skip
    assert said == f"Opened {pull['html_url']}, adding `octo-cat` to the maintainers."

    # the same command again, on the same main: the same pull request, nothing pushed
    before = len(stand.git_requests)
    again = push(stand, flow, issue, patch.read_text(), login="octo-cat", cwd=tmp_path)
    assert again == pushed
    assert len(stand.pulls(ORG, REPO)) == 2  # the issue's stand-in and the one opened
    assert not [r for r in stand.git_requests[before:] if r.service == "git-receive-pack"]


def test_a_listed_login_changes_nothing(
    stand: GitHubStandIn, flow: Any, issue: dict[str, Any], tmp_path: Path
) -> None:
    made, patch = render(flow, issue, "Maintainer", tmp_path)
    assert made["changed"] == "false"
    assert not patch.exists()
    said = reply(stand, flow, issue, tmp_path, LOGIN="Maintainer", RENDER="success",
                 CHANGED="false", PUSH="skipped")  # fmt: skip
    assert said == "`Maintainer` is a maintainer already."


def test_an_outsiders_comment_is_refused_and_nothing_is_pushed(
    stand: GitHubStandIn, flow: Any, issue: dict[str, Any], tmp_path: Path
) -> None:
    for commenter in ("passer-by", "nobody-at-all"):
        code, outputs, log = check(stand, flow, commenter, f"{COMMAND} @passer-by", tmp_path)
        assert code == 0, log
        assert outputs == {"allowed": "false", "refusal": "permission"}, log
    said = reply(stand, flow, issue, tmp_path, REFUSAL="permission", RENDER="skipped",
                 PUSH="skipped")  # fmt: skip
    assert said.startswith("Only maintainers of this feedstock (users with write access)")
    assert branches(issue) == ["issue", "main"]
    assert stand.count("POST", rf"/repos/{ORG}/{REPO}/pulls") == 0


HOSTILE = [
    "@x$(touch${IFS}pwned)",
    "@a;touch${IFS}pwned",
    "@`touch pwned`",
    "@../../etc",
    "@" + "a" * 40,
    "@-leading",
    "@trailing-",
    "@double--hyphen",
    "@under_score",
    "@alice @bob",
    "",
    "@caf\u00e9",
    "@\u0661\u0662",
]


@pytest.mark.parametrize("login", HOSTILE)
def test_a_hostile_login_is_refused_with_a_reply_and_nothing_runs(
    stand: GitHubStandIn, flow: Any, issue: dict[str, Any], tmp_path: Path, login: str
) -> None:
    code, outputs, log = check(stand, flow, "maintainer", f"{COMMAND} {login}\nok", tmp_path)
    assert code == 0, log
    assert outputs == {"allowed": "false", "refusal": "login"}, log
    with pytest.raises(UsageError):  # pyodide-smithy's own rule agrees
        check_login(login)
    said = reply(stand, flow, issue, tmp_path, REFUSAL="login", RENDER="skipped", PUSH="skipped")
    assert said.startswith("That is not a GitHub login")
    assert login.removeprefix("@") not in said or not login
    assert not list(tmp_path.rglob("pwned*"))


def test_a_login_on_a_line_of_its_own_and_a_newline_after_it() -> None:
    """Only the command's own line is read: what follows a newline is never the login."""
    done = smithy("add-maintainer", "alice\n* @mallory", "/nonexistent")
    assert (done.code, done.err.count("\n")) == (2, 1), done.err
    assert "is not a GitHub login" in done.err


def test_the_check_reads_only_the_commands_line(
    stand: GitHubStandIn, flow: Any, issue: dict[str, Any], tmp_path: Path
) -> None:
    for body, login in (
        (f"Hi!\n{COMMAND} @octo-cat  \r\nthanks", "octo-cat"),
        ("@Pyodide-Smithy-Bot Please Add User Octo-Cat", "Octo-Cat"),
        (f"{COMMAND}\n@mallory", None),  # the login must be on the command's line
    ):
        code, outputs, log = check(stand, flow, "maintainer", body, tmp_path)
        assert code == 0, log
        if login is None:
            assert outputs == {"allowed": "false", "refusal": "login"}, body
        else:
            assert outputs == {"allowed": "true", "login": login}, body


def test_the_push_job_accepts_only_the_login_added(
    stand: GitHubStandIn, flow: Any, issue: dict[str, Any], tmp_path: Path
) -> None:
    """Patches a hostile render could make: another login, two logins, the version changed
    beside the login, a setting changed, an executable recipe: refused whole, nothing
    pushed, no pull request."""
    stand.serve_git_over_http()

    def patch(edit: Any) -> str:
        work = tmp_path / f"hostile-{len(list(tmp_path.iterdir()))}"
        git(tmp_path, "clone", "-q", str(issue["bare"]), str(work))
        edit(work / "recipe" / "meta.yaml", work)
        git(work, "add", "-A")
        git(work, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "hostile")
        return git(work, "format-patch", "--stdout", f"{issue['main']}..HEAD")

    def append(text: str) -> Any:
        def edit(meta: Path, work: Path) -> None:
            meta.write_text(meta.read_text() + text)

        return edit

    def bump(meta: Path, work: Path) -> None:
        meta.write_text(meta.read_text().replace("26.1.0", "26.2.0") + "    - octo-cat\n")

    def setting(meta: Path, work: Path) -> None:
        meta.write_text(meta.read_text() + "    - octo-cat\n")
        config = work / "pyodide-smithy.yml"
        config.write_text(config.read_text().replace("anaconda://pyodide", "anaconda://mallory"))

    def executable(meta: Path, work: Path) -> None:
        meta.write_text(meta.read_text() + "    - octo-cat\n")
        meta.chmod(0o755)

    hostile = {
        "another login": (append("    - mallory\n"), "recipe/meta.yaml"),
        "two logins": (append("    - octo-cat\n    - octo-cat\n"), "recipe/meta.yaml"),
        "a new version too": (bump, "recipe/meta.yaml"),
        "a setting": (setting, "pyodide-smithy.yml"),
        "a mode": (executable, "recipe/meta.yaml"),
        "a new key": (append("build:\n  script: curl evil\n"), "recipe/meta.yaml"),
    }
    for what, (edit, path) in hostile.items():
        with pytest.raises(Refused) as refused:
            push(stand, flow, issue, patch(edit), login="octo-cat", cwd=tmp_path)
        assert "refusing to push changes outside the maintainers list" in str(refused.value), what
        assert f"'{path}'" in str(refused.value), what
    assert branches(issue) == ["issue", "main"]
    assert stand.count("POST", rf"/repos/{ORG}/{REPO}/pulls") == 0
