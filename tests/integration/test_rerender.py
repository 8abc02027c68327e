"""``rerender`` on real git feedstocks: idempotent, --check/--json, and never destroying work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smithy import __version__
from smithy.errors import FeedstockError
from smithy.feedstock.init import run_init
from smithy.feedstock.rerender import run_rerender
from smithy.render.manifest import MANIFEST, Manifest, sha256
from tests.conftest import METADATA
from tests.helpers import PURE_SDIST, write_recipe
from tests.integration.conftest import git, smithy

WORKFLOW = ".github/workflows/build.yml"


@pytest.fixture
def feedstock(tmp_path: Path) -> Path:
    folder = write_recipe(tmp_path / "src" / "example-pkg", PURE_SDIST)
    return run_init(str(folder), output=tmp_path / "example-pkg-feedstock").feedstock


def commits(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD"))


def test_fresh_feedstock_is_up_to_date(feedstock: Path) -> None:
    run = smithy("rerender", feedstock)
    assert run.code == 0, run.err
    assert run.out.strip() == f"{feedstock}: up to date (xbuildenv 314.0.5)"
    check = smithy("rerender", "--check", "--json", cwd=feedstock)
    assert check.code == 0
    assert json.loads(check.out) == {
        "feedstock": str(feedstock),
        "up_to_date": True,
        "pyodide_smithy": __version__,
        "xbuildenv": {"from": "314.0.5", "to": "314.0.5"},
        "changes": [],
        "hand_edited": [],
        "commit": None,
    }
    assert commits(feedstock) == 1


def test_recipe_change_is_rendered_committed_then_idempotent(feedstock: Path) -> None:
    meta = feedstock / "recipe" / "meta.yaml"
    meta.write_text(meta.read_text().replace("version: 1.2.3", "version: 1.3.0"))
    git(feedstock, "commit", "-qam", "bump")
    check = smithy("rerender", "--check", "--json", feedstock)
    assert check.code == 1
    changed = {c["path"]: c["action"] for c in json.loads(check.out)["changes"]}
    assert changed == {WORKFLOW: "update", "README.md": "update", MANIFEST: "update"}
    assert commits(feedstock) == 2  # --check changed nothing
    run = smithy("rerender", feedstock)
    assert run.code == 0, run.err
    assert commits(feedstock) == 3
    assert git(feedstock, "log", "-1", "--format=%s").strip() == (
        f"MNT: Re-rendered with pyodide-smithy {__version__} for xbuildenv 314.0.5"
    )
    assert git(feedstock, "status", "--porcelain") == ""
    assert "1.3.0" in (feedstock / "README.md").read_text()
    again = smithy("rerender", feedstock)
    assert "up to date" in again.out
    assert commits(feedstock) == 3


def test_new_xbuildenv_changes_one_line_of_the_config(feedstock: Path) -> None:
    run = smithy(
        "rerender", feedstock, "--xbuildenv", "315.0.0a2", "--xbuildenv-metadata", METADATA
    )
    assert run.code == 0, run.err
    diff = git(feedstock, "diff", "HEAD~1", "--", "pyodide-smithy.yml")
    changed = [x for x in diff.splitlines() if x[:1] in "+-" and x[:3] not in ("+++", "---")]
    assert changed == [
        '-xbuildenv: "314.0.5"',
        '+xbuildenv: "315.0.0a2"',
    ]
    flow = (feedstock / WORKFLOW).read_text()
    assert 'python-version: "3.15.0rc1"' in flow
    assert "for xbuildenv 315.0.0a2" in git(feedstock, "log", "-1", "--format=%s")
    manifest = Manifest.from_bytes((feedstock / MANIFEST).read_bytes(), feedstock / MANIFEST)
    assert manifest.xbuildenv.emscripten_version == "6.0.5"
    # pinned now: a plain rerender keeps it without asking for the metadata again
    assert "up to date (xbuildenv 315.0.0a2)" in smithy("rerender", feedstock).out


def test_latest_follows_prerelease_opt_in(feedstock: Path) -> None:
    assert run_rerender(feedstock, xbuildenv="latest", check=True).xbuildenv == "314.0.5"
    config = feedstock / "pyodide-smithy.yml"
    config.write_text(config.read_text().replace("prereleases: false", "prereleases: true"))
    git(feedstock, "commit", "-qam", "opt in")
    assert run_rerender(feedstock, xbuildenv="latest", check=True).xbuildenv == "315.0.0a2"


def test_hand_edits_stop_the_rerender_unless_forced(feedstock: Path) -> None:
    readme = feedstock / "README.md"
    readme.write_text(readme.read_text() + "my notes\n")
    git(feedstock, "commit", "-qam", "notes in the generated README")
    config = feedstock / "pyodide-smithy.yml"
    config.write_text(config.read_text().replace("tests: true", "tests: false"))
    git(feedstock, "commit", "-qam", "no tests")
    refused = smithy("rerender", feedstock)
    assert refused.code == 7
    assert "edited by hand since the last rerender: README.md" in refused.err
    assert "my notes" in readme.read_text()
    assert "test:" in (feedstock / WORKFLOW).read_text()  # nothing was written
    check = smithy("rerender", "--check", "--json", feedstock)
    assert json.loads(check.out)["hand_edited"] == ["README.md"]
    forced = smithy("rerender", "--force", feedstock)
    assert forced.code == 0, forced.err
    assert "my notes" not in readme.read_text()
    assert "  test:" not in (feedstock / WORKFLOW).read_text()


def test_uncommitted_changes_stop_the_rerender(feedstock: Path) -> None:
    git(feedstock, "rm", "-q", "--cached", ".gitignore")  # staged, not committed
    meta = feedstock / "recipe" / "meta.yaml"
    meta.write_text(meta.read_text().replace("version: 1.2.3", "version: 2.0.0"))
    with pytest.raises(FeedstockError, match=r"uncommitted changes .*\.gitignore"):
        run_rerender(feedstock)


def test_stale_generated_files_are_deleted(feedstock: Path) -> None:
    """A file an older template made and the current one no longer does is removed."""
    old = feedstock / ".github" / "workflows" / "old.yml"
    old.write_text("name: old\n")
    path = feedstock / MANIFEST
    manifest = Manifest.from_bytes(path.read_bytes(), path)
    files = {**manifest.files, ".github/workflows/old.yml": sha256(old.read_bytes())}
    stale = Manifest(
        smithy_version="0.0.1", xbuildenv=manifest.xbuildenv, inputs="old", files=files
    )
    path.write_bytes(stale.to_bytes())
    git(feedstock, "add", "-A")
    git(feedstock, "commit", "-qm", "as an older pyodide-smithy left it")
    result = run_rerender(feedstock)
    assert {(c.path, c.action) for c in result.changes} == {
        (".github/workflows/old.yml", "delete"),
        (MANIFEST, "update"),
    }
    assert not old.exists()
    assert git(feedstock, "status", "--porcelain") == ""


def test_template_override_is_an_input(feedstock: Path) -> None:
    override = feedstock / ".pyodide-smithy" / "templates" / "README.md.j2"
    override.parent.mkdir(parents=True)
    override.write_text("<!-- {{ header }} -->\n# {{ recipe.name }}, our way\n")
    git(feedstock, "add", "-A")
    git(feedstock, "commit", "-qm", "our README")
    result = run_rerender(feedstock)
    assert [c.path for c in result.changes] == [MANIFEST, "README.md"]
    assert (feedstock / "README.md").read_text().endswith("# example-pkg, our way\n")


def test_bad_config_is_reported_with_its_key(feedstock: Path) -> None:
    config = feedstock / "pyodide-smithy.yml"
    config.write_text(config.read_text() + "chanel: {}\n")
    run = smithy("rerender", feedstock)
    assert run.code == 5
    assert run.err.strip() == (
        f"error: unknown key 'chanel'; did you mean 'channel'? ({config}:chanel)"
    )


def test_rerender_outside_git_writes_and_warns(feedstock: Path) -> None:
    import shutil

    shutil.rmtree(feedstock / ".git")
    (feedstock / "README.md").unlink()
    run = smithy("rerender", feedstock)
    assert run.code == 0, run.err
    assert "not a git repository" in run.err
    assert (feedstock / "README.md").is_file()
