"""The admin repository's files: pinned by golden files, and their security shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from smithy.admin import VERSIONS_SCHEDULE, AdminSettings, render_admin, smithy_install_option
from smithy.errors import UsageError
from smithy.self_install import SmithyInstall
from tests.helpers import assert_golden

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "admin"
WORKFLOW = ".github/workflows/bot.yml"
BUILD_YML = ".github/workflows/build.yml"
SETTINGS = AdminSettings(org="pyodide-feedstocks", smithy=SmithyInstall("0.1.0"))


def test_golden(update_golden: bool) -> None:
    assert_golden(GOLDEN, render_admin(SETTINGS), update=update_golden)


def workflow(settings: AdminSettings = SETTINGS) -> Any:
    return YAML(typ="safe").load(render_admin(settings)[WORKFLOW])


def test_least_permissions_and_secrets_only_where_the_bot_runs() -> None:
    flow = workflow()
    assert flow["permissions"] == {}
    jobs = flow["jobs"]
    assert jobs["run"]["permissions"] == {}
    assert jobs["versions"]["permissions"] == {}
    assert jobs["status"]["permissions"] == {}
    assert jobs["publish"]["permissions"] == {"pages": "write", "id-token": "write"}
    holders = []
    for job_id, job in jobs.items():
        for step in job["steps"]:
            if "secrets." in str(step):
                holders.append((job_id, step.get("name")))
    assert holders == [("run", "bot run"), ("versions", "bot versions"), ("status", "bot status")]
    assert "secrets." not in str(flow.get("env"))


def test_shards_schedule_and_channel_reach_the_commands() -> None:
    flow = workflow(
        AdminSettings(org="o", shards=3, schedule="5 * * * *", channel="anaconda://mine")
    )
    assert flow["on"]["schedule"][0] == {"cron": "5 * * * *"}  # then bot versions' daily line
    assert flow["jobs"]["run"]["strategy"]["matrix"]["shard"] == [0, 1, 2]
    (run,) = [s["run"] for s in flow["jobs"]["run"]["steps"] if s.get("name") == "bot run"]
    assert '--shard "$SHARD/3"' in run
    assert '--org "o" --channel "anaconda://mine"' in run
    (status,) = [s["run"] for s in flow["jobs"]["status"]["steps"] if s.get("name") == "bot status"]
    assert "--run-report" in status
    assert "--html site" in status


def test_the_org_installs_pyodide_smithy_from_its_setting() -> None:
    """Between releases an org pins a git commit: every bot job installs it, through env only."""
    git = "git+https://github.com/o/pyodide-smithy@" + "0" * 40
    flow = workflow(AdminSettings(org="o", smithy=smithy_install_option(git)))
    for job in ("run", "versions", "status"):
        (step,) = [s for s in flow["jobs"][job]["steps"] if "pip install" in s.get("run", "")]
        assert step["env"] == {"PYODIDE_SMITHY": f"pyodide-smithy @ {git}"}
        assert step["run"] == 'python -m pip install "$PYODIDE_SMITHY"'
    assert (
        f"--pyodide-smithy {git}"
        in render_admin(AdminSettings(org="o", smithy=SmithyInstall(git)))["README.md"].decode()
    )


def test_versions_run_daily_in_the_same_shards_and_on_demand() -> None:
    """`bot versions` has its own cron line, which its job's condition names, and a dispatch
    input; the migrations run on every trigger, and the status page waits for both."""
    flow = workflow(AdminSettings(org="o", shards=3, schedule="5 * * * *"))
    crons = [entry["cron"] for entry in flow["on"]["schedule"]]
    assert crons == ["5 * * * *", VERSIONS_SCHEDULE]
    assert flow["on"]["workflow_dispatch"]["inputs"]["versions"]["type"] == "boolean"
    jobs = flow["jobs"]
    versions = jobs["versions"]
    assert versions["if"] == (
        f"${{{{ github.event.schedule == '{VERSIONS_SCHEDULE}' || inputs.versions }}}}"
    )
    assert "if" not in jobs["run"]
    assert versions["strategy"]["matrix"]["shard"] == [0, 1, 2]
    (step,) = [s for s in versions["steps"] if s.get("name") == "bot versions"]
    assert step["run"].startswith('pyodide-smithy bot versions --org "o" --shard "$SHARD/3" --json')
    assert set(step["env"]) == {"PYODIDE_SMITHY_GITHUB_APP_KEY", "SHARD"}
    assert jobs["status"]["needs"] == ["run", "versions"]
    assert jobs["status"]["if"] == "${{ !cancelled() }}"  # runs when versions is skipped too
    same = workflow(AdminSettings(org="o", schedule=VERSIONS_SCHEDULE))
    assert same["on"]["schedule"] == [{"cron": VERSIONS_SCHEDULE}]  # one line runs both


@pytest.mark.parametrize("spec", ["main", "0.1", "git+https://x/y@main", '0.1.0"; id; "'])
def test_a_pyodide_smithy_that_is_not_pinned_is_refused(spec: str) -> None:
    if spec == "0.1":
        assert smithy_install_option(spec) == SmithyInstall("0.1")  # a release, exact
        return
    with pytest.raises(UsageError) as refused:
        smithy_install_option(spec)
    assert refused.value.key == "--pyodide-smithy"


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        (AdminSettings(org="a b"), "ORG"),
        (AdminSettings(org="-org"), "ORG"),
        (AdminSettings(org="o", shards=0), "--shards"),
        (AdminSettings(org="o", schedule="@hourly"), "--schedule"),
        (AdminSettings(org="o", schedule='0 * * * * "; x'), "--schedule"),
        (AdminSettings(org="o", channel='https://x/"$(id)"'), "--channel"),
        (AdminSettings(org="o", channel="/srv/channel"), "--channel"),
    ],
)
def test_values_that_could_break_the_workflow_are_refused(
    settings: AdminSettings, key: str
) -> None:
    with pytest.raises(UsageError) as refused:
        render_admin(settings)
    assert refused.value.key == key


STAGED = ".github/workflows/staged-recipes.yml"
REGISTER = ".github/workflows/staged-register.yml"


def staged_flow(path: str, settings: AdminSettings = SETTINGS) -> Any:
    return YAML(typ="safe").load(render_admin(settings)[path])


def named(job: Any, name: str) -> dict[str, Any]:
    (found,) = [s for s in job["steps"] if s.get("id") == name or s.get("name", "") == name]
    return dict(found)


def test_staged_recipes_pull_requests_run_with_no_secret_and_a_read_only_token() -> None:
    """A pull request's recipes are anyone's: `pull_request` (its token read-only, no secret
    even for branches of this repository), never `pull_request_target`."""
    flow = staged_flow(STAGED)
    assert set(flow["on"]) == {"pull_request"}
    assert flow["permissions"] == {}
    jobs = flow["jobs"]
    assert jobs["list"]["permissions"] == {"contents": "read"}
    assert jobs["check"]["permissions"] == {"contents": "read"}
    assert jobs["staged"]["permissions"] == {}
    text = render_admin(SETTINGS)[STAGED].decode()
    assert "secrets." not in text
    assert "github.token" not in text
    for job in jobs.values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), step  # values only through env:
            if "actions/checkout" in step.get("uses", ""):
                assert step["with"]["persist-credentials"] is False


def test_each_staged_recipe_is_linted_then_built_and_tested_with_the_feedstocks_commands(
    recipes_root: Path,
) -> None:
    """The matrix is the list job's JSON; the build and test commands are the ones a rendered
    feedstock's build.yml runs, in the feedstock init made."""
    from tests.helpers import render_recipe

    check = staged_flow(STAGED)["jobs"]["check"]
    assert check["strategy"]["matrix"]["recipe"] == "${{ fromJSON(needs.list.outputs.recipes) }}"
    assert check["if"] == "needs.list.outputs.recipes != '[]'"
    names = [s.get("id") or s.get("name") or s["uses"] for s in check["steps"]]
    lint, init = names.index("Lint the recipe"), names.index("init")
    assert lint < init
    assert named(check, "Lint the recipe")["run"] == 'pyodide-smithy lint "recipes/$RECIPE"'
    assert named(check, "Lint the recipe")["env"] == {"RECIPE": "${{ matrix.recipe }}"}
    assert named(check, "init")["run"].startswith(
        'pyodide-smithy bot stage-init "recipes/$RECIPE" --output "$FEEDSTOCK"'
    )
    feedstock = YAML(typ="safe").load(render_recipe(recipes_root / "numpy")[BUILD_YML])
    theirs = {
        s["run"]
        for job in feedstock["jobs"].values()
        for s in job["steps"]
        if s.get("run", "").startswith(("pyodide-smithy build", "pyodide-smithy test"))
    }
    ours = {s["run"] for s in check["steps"] if s.get("run", "").startswith(tuple(theirs))}
    assert (
        ours
        == theirs
        == {"pyodide-smithy build --output dist/", "pyodide-smithy test --dist dist/"}
    )
    for step in check["steps"]:
        if step.get("run") in theirs:
            assert step["working-directory"] == "${{ runner.temp }}/feedstock"
    emscripten = named(check, "Install the xbuildenv and Emscripten")
    assert emscripten["if"] == "steps.init.outputs.needs_emscripten == 'true'"
    assert "pyodide xbuildenv install-emscripten" in emscripten["run"]
    staged = staged_flow(STAGED)["jobs"]["staged"]
    assert (staged["needs"], staged["name"]) == (["list", "check"], "staged recipes")


def test_merged_staged_recipes_are_registered_with_the_app_key_in_one_step_only() -> None:
    flow = staged_flow(REGISTER, AdminSettings(org="o", channel="anaconda://mine"))
    assert flow["on"]["push"] == {"branches": ["main"], "paths": ["recipes/**"]}
    assert set(flow["on"]) == {"push", "workflow_dispatch"}  # never a pull request
    assert flow["permissions"] == {}
    (job,) = flow["jobs"].values()
    assert job["permissions"] == {"contents": "read"}
    holders = [s.get("name") for s in job["steps"] if "secrets." in str(s)]
    assert holders == ["bot stage-merge"]
    step = named(job, "bot stage-merge")
    assert set(step["env"]) == {
        "PYODIDE_SMITHY_GITHUB_APP_ID",
        "PYODIDE_SMITHY_GITHUB_INSTALLATION_ID",
        "PYODIDE_SMITHY_GITHUB_APP_KEY",
    }
    assert (
        'pyodide-smithy bot stage-merge --org "o" --channel "anaconda://mine" recipes'
        in step["run"]
    )
    assert "${{" not in step["run"]
    assert flow["concurrency"]["cancel-in-progress"] is False
