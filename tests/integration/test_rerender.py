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
        "build_number": None,
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


def changed_lines(repo: Path, path: str, since: str = "HEAD~1") -> list[str]:
    diff = git(repo, "diff", since, "--", path)
    return [x for x in diff.splitlines() if x[:1] in "+-" and x[:3] not in ("+++", "---")]


def test_new_xbuildenv_moves_the_pin_and_bumps_the_build_number(feedstock: Path) -> None:
    run = smithy(
        "rerender", feedstock, "--xbuildenv", "315.0.0a2", "--xbuildenv-metadata", METADATA
    )
    assert run.code == 0, run.err
    assert run.err.strip() == "build-number 0 -> 1: a rebuild of 1.2.3 for xbuildenv 315.0.0a2"
    assert changed_lines(feedstock, "pyodide-smithy.yml") == [
        '-xbuildenv: "314.0.5"',
        '+xbuildenv: "315.0.0a2"',
        "-build-number: 0",
        "+build-number: 1",
    ]
    flow = (feedstock / WORKFLOW).read_text()
    assert 'python-version: "3.15.0rc1"' in flow
    assert "for xbuildenv 315.0.0a2" in git(feedstock, "log", "-1", "--format=%s")
    assert git(feedstock, "status", "--porcelain") == ""  # the config went in the same commit
    manifest = Manifest.from_bytes((feedstock / MANIFEST).read_bytes(), feedstock / MANIFEST)
    assert manifest.xbuildenv.emscripten_version == "6.0.5"
    assert manifest.recipe_version == "1.2.3"
    # pinned now: a plain rerender keeps it without asking for the metadata again
    assert "up to date (xbuildenv 315.0.0a2)" in smithy("rerender", feedstock).out
    # the pin does not move again, so neither does the number
    again = run_rerender(feedstock, xbuildenv="315.0.0a2", metadata=str(METADATA))
    assert again.up_to_date
    assert again.build_number is None
    assert "build-number: 1\n" in (feedstock / "pyodide-smithy.yml").read_text()


def set_build_number(feedstock: Path, number: int) -> None:
    """As a maintainer would: edit it, commit, rerender (which leaves the number alone)."""
    config = feedstock / "pyodide-smithy.yml"
    config.write_text(config.read_text().replace("build-number: 0", f"build-number: {number}"))
    git(feedstock, "commit", "-qam", f"build {number}")
    assert run_rerender(feedstock).build_number is None
    assert f"build-number: {number}\n" in config.read_text()


def new_version(feedstock: Path, version: str) -> None:
    meta = feedstock / "recipe" / "meta.yaml"
    meta.write_text(meta.read_text().replace("version: 1.2.3", f"version: {version}"))
    git(feedstock, "commit", "-qam", f"{version}")


def test_a_new_version_resets_the_build_number_and_says_so(feedstock: Path) -> None:
    set_build_number(feedstock, 3)
    new_version(feedstock, "1.3.0")
    head, config = git(feedstock, "rev-parse", "HEAD"), (feedstock / "pyodide-smithy.yml")
    check = smithy("rerender", "--check", "--json", feedstock)
    assert check.code == 1
    report = json.loads(check.out)
    assert {"path": "pyodide-smithy.yml", "action": "update"} in report["changes"]
    assert report["build_number"] == {
        "from": 3,
        "to": 0,
        "reason": "new version 1.3.0 (was 1.2.3)",
    }
    assert "build-number: 3\n" in config.read_text()  # --check wrote nothing
    assert git(feedstock, "rev-parse", "HEAD") == head
    assert git(feedstock, "status", "--porcelain") == ""

    run = smithy("rerender", feedstock)
    assert run.code == 0, run.err
    assert run.err.strip() == "build-number 3 -> 0: new version 1.3.0 (was 1.2.3)"
    assert changed_lines(feedstock, "pyodide-smithy.yml") == [
        "-build-number: 3",
        "+build-number: 0",
    ]
    assert "pyodide-smithy.yml" in git(feedstock, "show", "--name-only", "--format=", "HEAD")
    assert git(feedstock, "status", "--porcelain") == ""
    manifest = Manifest.from_bytes((feedstock / MANIFEST).read_bytes(), feedstock / MANIFEST)
    assert manifest.recipe_version == "1.3.0"
    assert "up to date" in smithy("rerender", feedstock).out


def test_a_new_version_on_a_new_xbuildenv_starts_at_zero(feedstock: Path) -> None:
    set_build_number(feedstock, 2)
    new_version(feedstock, "2.0.0")
    result = run_rerender(feedstock, xbuildenv="315.0.0a2", metadata=str(METADATA))
    assert result.build_number is not None
    assert (result.build_number.before, result.build_number.after) == (2, 0)
    assert changed_lines(feedstock, "pyodide-smithy.yml") == [
        '-xbuildenv: "314.0.5"',
        '+xbuildenv: "315.0.0a2"',
        "-build-number: 2",
        "+build-number: 0",
    ]


def test_the_same_version_written_otherwise_is_no_new_version(feedstock: Path) -> None:
    """``1.2.3.0`` names the same wheels as ``1.2.3``: resetting would reuse their names."""
    set_build_number(feedstock, 2)
    new_version(feedstock, "1.2.3.0")
    result = run_rerender(feedstock)
    assert result.build_number is None
    assert "build-number: 2\n" in (feedstock / "pyodide-smithy.yml").read_text()


def test_a_manifest_from_before_the_recorded_version_resets_nothing(feedstock: Path) -> None:
    """An older pyodide-smithy recorded no version: unknown, so the number stays; the render
    records it, and the next new version resets."""
    set_build_number(feedstock, 2)
    path = feedstock / MANIFEST
    data = json.loads(path.read_text())
    del data["recipe-version"]
    path.write_text(json.dumps(data, indent=2) + "\n")
    git(feedstock, "commit", "-qam", "as an older pyodide-smithy left it")
    new_version(feedstock, "1.3.0")
    assert run_rerender(feedstock).build_number is None
    assert "build-number: 2\n" in (feedstock / "pyodide-smithy.yml").read_text()
    assert json.loads(path.read_text())["recipe-version"] == "1.3.0"


def test_a_config_from_before_build_numbers_gets_the_key_after_the_pin(feedstock: Path) -> None:
    config = feedstock / "pyodide-smithy.yml"
    config.write_text(config.read_text().replace("build-number: 0\n", ""))
    git(feedstock, "commit", "-qam", "written before build-number existed")
    run_rerender(feedstock)
    result = run_rerender(feedstock, xbuildenv="315.0.0a2", metadata=str(METADATA))
    assert result.build_number is not None
    assert result.build_number.after == 1
    assert changed_lines(feedstock, "pyodide-smithy.yml") == [
        '-xbuildenv: "314.0.5"',
        '+xbuildenv: "315.0.0a2"',
        "+build-number: 1",
    ]


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


def test_a_refused_rerender_moves_neither_the_pin_nor_the_number(feedstock: Path) -> None:
    readme = feedstock / "README.md"
    readme.write_text(readme.read_text() + "my notes\n")
    git(feedstock, "commit", "-qam", "notes in the generated README")
    config = feedstock / "pyodide-smithy.yml"
    before = config.read_bytes()
    with pytest.raises(FeedstockError, match="edited by hand"):
        run_rerender(feedstock, xbuildenv="315.0.0a2", metadata=str(METADATA))
    assert config.read_bytes() == before


def test_a_rerender_stopped_before_its_manifest_bumps_once_when_run_again(
    feedstock: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The config is written first and the manifest last: after a stop in between, the next
    rerender (forced past the files left uncommitted) bumps nothing more."""
    import smithy.fsutil

    write = smithy.fsutil.write_atomic

    def stop_at_the_manifest(path: Path, content: bytes, **kw: object) -> None:
        if path.name == "manifest.json":
            raise KeyboardInterrupt
        write(path, content)

    monkeypatch.setattr(smithy.fsutil, "write_atomic", stop_at_the_manifest)
    with pytest.raises(KeyboardInterrupt):
        run_rerender(feedstock, xbuildenv="315.0.0a2", metadata=str(METADATA))
    monkeypatch.undo()
    config = (feedstock / "pyodide-smithy.yml").read_text()
    assert 'xbuildenv: "315.0.0a2"' in config
    assert "build-number: 1\n" in config
    result = run_rerender(feedstock, xbuildenv="315.0.0a2", metadata=str(METADATA), force=True)
    assert result.build_number is None
    assert (feedstock / "pyodide-smithy.yml").read_text() == config
    assert run_rerender(feedstock).up_to_date
