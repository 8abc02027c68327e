"""The admin repository's files: pinned by golden files, and their security shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from smithy.admin import AdminSettings, render_admin
from smithy.errors import UsageError
from tests.helpers import assert_golden

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "admin"
WORKFLOW = ".github/workflows/bot.yml"
SETTINGS = AdminSettings(org="pyodide-feedstocks", smithy_version="0.1.0")


def test_golden(update_golden: bool) -> None:
    assert_golden(GOLDEN, render_admin(SETTINGS), update=update_golden)


def workflow(settings: AdminSettings = SETTINGS) -> Any:
    return YAML(typ="safe").load(render_admin(settings)[WORKFLOW])


def test_least_permissions_and_secrets_only_where_the_bot_runs() -> None:
    flow = workflow()
    assert flow["permissions"] == {}
    jobs = flow["jobs"]
    assert jobs["run"]["permissions"] == {}
    assert jobs["status"]["permissions"] == {}
    assert jobs["publish"]["permissions"] == {"pages": "write", "id-token": "write"}
    holders = []
    for job_id, job in jobs.items():
        for step in job["steps"]:
            if "secrets." in str(step):
                holders.append((job_id, step.get("name")))
    assert holders == [("run", "bot run"), ("status", "bot status")]
    assert "secrets." not in str(flow.get("env"))


def test_shards_schedule_and_channel_reach_the_commands() -> None:
    flow = workflow(
        AdminSettings(org="o", shards=3, schedule="5 * * * *", channel="anaconda://mine")
    )
    assert flow["on"]["schedule"] == [{"cron": "5 * * * *"}]
    assert flow["jobs"]["run"]["strategy"]["matrix"]["shard"] == [0, 1, 2]
    (run,) = [s["run"] for s in flow["jobs"]["run"]["steps"] if s.get("name") == "bot run"]
    assert '--shard "$SHARD/3"' in run
    assert '--org "o" --channel "anaconda://mine"' in run
    (status,) = [s["run"] for s in flow["jobs"]["status"]["steps"] if s.get("name") == "bot status"]
    assert "--run-report" in status
    assert "--html site" in status


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
