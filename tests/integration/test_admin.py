"""``bot init-admin``: the organisation's admin repository, as git, and its workflow linted."""

from __future__ import annotations

from pathlib import Path

from smithy.admin import AdminSettings, render_admin
from tests.integration.conftest import git, smithy
from tests.integration.workflow_lint import assert_actionlint_clean, assert_zizmor_clean


def test_init_admin_makes_a_repository_whose_workflow_lints_clean(tmp_path: Path) -> None:
    out = tmp_path / "admin"
    done = smithy("bot", "init-admin", "my-org", "--output", out, "--shards", "6")
    assert done.code == 0, done.err
    assert f"created {out}" in done.out
    assert "my-org/pyodide-smithy-admin" in done.err
    assert git(out, "status", "--porcelain") == ""
    assert git(out, "log", "--format=%s").splitlines() == ["Admin repository for my-org"]
    expected = render_admin(AdminSettings(org="my-org", shards=6))
    on_disk = {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in out.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(out).parts
    }
    assert on_disk == expected
    assert "https://my-org.github.io/pyodide-smithy-admin/" in (out / "README.md").read_text()
    flows = sorted((out / ".github" / "workflows").glob("*.yml"))
    assert [f.name for f in flows] == ["bot.yml", "staged-recipes.yml", "staged-register.yml"]
    assert_actionlint_clean(flows)
    assert_zizmor_clean(out)
    assert_zizmor_clean(out, persona="pedantic")


def test_bad_settings_leave_nothing_behind(tmp_path: Path) -> None:
    cases = {
        ("bad org",): "not a GitHub organization name",
        ("org", "--shards", "0"): "--shards must be 1 to 64",
        ("org", "--schedule", "hourly"): "--schedule must be a cron line",
        ("org", "--channel", "/srv/c"): "--channel must be anaconda://OWNER",
    }
    for args, message in cases.items():
        done = smithy("bot", "init-admin", *args, "--output", tmp_path / "admin")
        assert (done.code, done.err.count("\n")) == (2, 1), (args, done.err)
        assert message in done.err
        assert list(tmp_path.iterdir()) == []
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("")
    busy = smithy("bot", "init-admin", "org", "--output", tmp_path / "busy")
    assert busy.code == 7
    assert "non-empty directory" in busy.err
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["x"]
