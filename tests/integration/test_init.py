"""``init`` end to end: real recipes, real git, recipe sources from disk, git and PyPI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from smithy.config import load_config
from smithy.errors import FeedstockError, GitError
from smithy.feedstock import init as init_module
from smithy.feedstock.init import run_init
from tests.conftest import METADATA
from tests.helpers import PURE_SDIST, write_recipe
from tests.integration.conftest import git, smithy
from tests.integration.pypi_server import FakeIndex, metadata, sdist, serve, wheel


def test_init_from_recipes_dir(recipes_root: Path, tmp_path: Path) -> None:
    run = smithy("init", "numpy", "--recipes", recipes_root, cwd=tmp_path)
    assert run.code == 0, run.err
    feedstock = tmp_path / "numpy-feedstock"
    assert f"recipe numpy from {recipes_root}" in run.err
    assert "created" in run.out
    assert git(feedstock, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert git(feedstock, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(feedstock, "status", "--porcelain") == ""
    tracked = set(git(feedstock, "ls-files").split())
    assert {
        "recipe/meta.yaml",
        "pyodide-smithy.yml",
        ".github/workflows/build.yml",
        ".pyodide-smithy/manifest.json",
        "README.md",
        "LICENSE.txt",
        ".gitattributes",
        ".gitignore",
        ".github/CODEOWNERS",
    } <= tracked
    # The recipe is copied byte for byte: comments and layout survive.
    original = (recipes_root / "numpy" / "meta.yaml").read_bytes()
    assert (feedstock / "recipe" / "meta.yaml").read_bytes() == original
    assert b"# numpy uses vendored meson" in original
    config = load_config(feedstock / "pyodide-smithy.yml")
    assert config.xbuildenv == "314.0.5"
    assert config.pyodide_build == "0.39.2"


def test_init_brings_the_whole_recipe_folder(tmp_path: Path) -> None:
    folder = write_recipe(tmp_path / "src" / "example", PURE_SDIST)
    (folder / "test_example.py").write_text("def test_it(): pass\n")
    (folder / "patches").mkdir()
    (folder / "patches" / "notes.txt").write_text("kept\n")
    (folder / "build").mkdir()  # a local build's leftovers stay behind
    (folder / "build" / "junk.o").write_text("")
    run = smithy("init", folder / "meta.yaml", "-o", tmp_path / "out", cwd=tmp_path)
    assert run.code == 0, run.err
    recipe = tmp_path / "out" / "recipe"
    assert (recipe / "test_example.py").is_file()
    assert (recipe / "patches" / "notes.txt").read_text() == "kept\n"
    assert not (recipe / "build").exists()


def test_init_from_a_pyodide_recipes_layout_and_bad_names(tmp_path: Path) -> None:
    write_recipe(tmp_path / "checkout" / "packages" / "example-pkg", PURE_SDIST)
    ok = smithy("init", "Example_Pkg", "--recipes", tmp_path / "checkout", cwd=tmp_path)
    assert ok.code == 0, ok.err
    assert (tmp_path / "example-pkg-feedstock").is_dir()
    missing = smithy("init", "exampel-pkg", "--recipes", tmp_path / "checkout", cwd=tmp_path)
    assert missing.code == 3
    assert missing.err.strip().splitlines()[-1] == (
        f"error: no recipe named 'exampel-pkg'; did you mean example-pkg? ({tmp_path / 'checkout'})"
    )


def test_init_from_a_git_url_clones_once_then_fetches(recipes_copy: Path, tmp_path: Path) -> None:
    upstream = tmp_path / "upstream"
    (upstream / "packages").mkdir(parents=True)
    for name in ("six", "attrs"):
        shutil.copytree(recipes_copy / name, upstream / "packages" / name)
    git(upstream, "init", "-q", "-b", "main")
    git(upstream, "add", "-A")
    git(upstream, "commit", "-qm", "recipes")
    url = upstream.as_uri()
    first = run_init("six", recipes=url, output=tmp_path / "one")
    assert first.recipe.version == "1.17.0"
    meta = upstream / "packages" / "six" / "meta.yaml"
    meta.write_text(meta.read_text().replace("1.17.0", "1.18.0"))  # version and wheel URL
    git(upstream, "commit", "-qam", "bump six")
    second = run_init("six", recipes=url, output=tmp_path / "two")
    assert second.recipe.version == "1.18.0"
    with pytest.raises(GitError, match="git failed to clone"):
        run_init("six", recipes=(tmp_path / "nowhere.git").as_uri(), output=tmp_path / "three")
    assert not (tmp_path / "three").exists()


def test_default_source_falls_back_to_pypi(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recipes_copy: Path
) -> None:
    """Upstream unreachable (or without the package): a new recipe is made from the index."""
    meta = metadata("Tiny-Pkg", "0.3", "Summary: A tiny package", "License-Expression: MIT")
    body = wheel("tiny_pkg", "0.3", "py3-none-any", {"tiny_pkg/__init__.py": b""}, meta)
    with serve(FakeIndex()) as index:
        index.add_project("tiny-pkg", [{**body, "metadata": meta}])
        env = {"PYODIDE_SMITHY_INDEX_URL": f"{index.base}/simple/", "NO_PROXY": "127.0.0.1"}
        run = smithy("init", "tiny-pkg", cwd=tmp_path, env=env)
        assert run.code == 0, run.err
        assert "cannot reach http://127.0.0.1:9/pyodide-recipes.git" in run.err
        assert f"generated from {index.base}/simple/ (pure wheel)" in run.err
        recipe = (tmp_path / "tiny-pkg-feedstock" / "recipe" / "meta.yaml").read_text()
        assert "tiny_pkg-0.3-py3-none-any.whl" in recipe
        flow = (tmp_path / "tiny-pkg-feedstock" / ".github/workflows/build.yml").read_text()
        assert "install-emscripten" not in flow
        # An upstream that is reachable but lacks the package: PyPI again.
        upstream = tmp_path / "upstream"
        shutil.copytree(recipes_copy / "six", upstream / "packages" / "six")
        git(upstream, "init", "-q", "-b", "main")
        git(upstream, "add", "-A")
        git(upstream, "commit", "-qm", "recipes")
        env["PYODIDE_SMITHY_RECIPES_URL"] = upstream.as_uri()
        again = smithy("init", "tiny-pkg", "-o", tmp_path / "again", cwd=tmp_path, env=env)
        assert again.code == 0, again.err
        assert "has no recipe for tiny-pkg; generating from PyPI" in again.err
        from_upstream = smithy("init", "six", "-o", tmp_path / "six", cwd=tmp_path, env=env)
        assert from_upstream.code == 0, from_upstream.err
        assert f"recipe six from {upstream.as_uri()}" in from_upstream.err
        unknown = smithy("init", "no-such-pkg", "-o", tmp_path / "x", cwd=tmp_path, env=env)
        assert unknown.code == 3
        assert "no project 'no-such-pkg'" in unknown.err


def test_refuses_a_non_empty_directory_but_takes_an_empty_one(tmp_path: Path) -> None:
    folder = write_recipe(tmp_path / "example", PURE_SDIST)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    run = smithy("init", folder, "-o", busy)
    assert run.code == 7
    assert run.err.strip() == f"error: refusing to write into a non-empty directory ({busy})"
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert smithy("init", folder, "-o", empty).code == 0
    assert (empty / "pyodide-smithy.yml").is_file()


def test_an_existing_folder_is_refused_before_any_lookup(tmp_path: Path) -> None:
    """Nothing is fetched for a feedstock that cannot be written: every service here is a
    closed port, and a lookup would say "cannot reach" before failing."""
    folder = write_recipe(tmp_path / "example", PURE_SDIST)
    (tmp_path / "example-pkg-feedstock").mkdir()
    (tmp_path / "example-pkg-feedstock" / "notes.txt").write_text("mine")
    env = {"PYODIDE_CROSS_BUILD_ENV_METADATA_URL": "http://127.0.0.1:9/meta.json"}
    busy = tmp_path / "example-pkg-feedstock"
    for spec in ("Example_Pkg", "example-pkg==1.2.3", folder):
        run = smithy("init", spec, cwd=tmp_path, env=env)
        assert (run.code, run.err) == (
            7,
            f"error: refusing to write into a non-empty directory ({busy})\n",
        ), spec
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]


def test_init_takes_the_channel_to_publish_to(tmp_path: Path) -> None:
    folder = write_recipe(tmp_path / "example", PURE_SDIST)
    run = smithy("init", folder, "-o", tmp_path / "mine", "--channel", "anaconda://my-org")
    assert run.code == 0, run.err
    assert load_config(tmp_path / "mine" / "pyodide-smithy.yml").channel.url == "anaconda://my-org"
    readme = (tmp_path / "mine" / "README.md").read_text()
    assert "uploads it to the `my-org` channel on Anaconda.org" in readme
    assert "https://pypi.anaconda.org/my-org/simple" in readme
    bad = smithy("init", folder, "-o", tmp_path / "bad", "--channel", "anaconda://my org")
    assert bad.code == 2
    assert bad.err.startswith("error: --channel must be anaconda://OWNER")
    assert len(bad.err.splitlines()) == 1
    assert not (tmp_path / "bad").exists()


def test_a_pure_sdist_from_the_index_builds_without_emscripten(tmp_path: Path) -> None:
    """A project whose newest release is an sdist of Python only gets pure-python: true."""
    files = {"PKG-INFO": metadata("Sdist-Pure", "1.0"), "sdist_pure/__init__.py": b"x = 1\n"}
    with serve(FakeIndex()) as index:
        index.add_project("sdist-pure", [sdist("sdist_pure", "1.0", files)])
        env = {"PYODIDE_SMITHY_INDEX_URL": f"{index.base}/simple/", "NO_PROXY": "127.0.0.1"}
        run = smithy("init", "sdist-pure", cwd=tmp_path, env=env)
    assert run.code == 0, run.err
    assert "(sdist of pure Python: pure-python: true, built without Emscripten)" in run.err
    feedstock = tmp_path / "sdist-pure-feedstock"
    assert load_config(feedstock / "pyodide-smithy.yml").pure_python
    flow = (feedstock / ".github/workflows/build.yml").read_text()
    assert "install-emscripten" not in flow


def test_a_failure_half_way_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_recipe(tmp_path / "example", PURE_SDIST)

    def broken(path: Path, message: str) -> str:
        raise GitError("git failed to create the feedstock repository: disk full", file=path)

    monkeypatch.setattr("smithy.gitio.init_and_commit", broken)
    with pytest.raises(GitError):
        run_init(str(folder), output=tmp_path / "out" / "example-feedstock")
    assert list((tmp_path / "out").iterdir()) == []


def test_bad_recipes_give_one_line_and_write_nothing(tmp_path: Path) -> None:
    cases = {
        "package:\n  name: x\n  version: [1\n": (4, "invalid YAML"),
        "package:\n  name: x\n  version: '1'\nsource:\n  url: u.tar.gz\n  sha256: a\n  patchs: []\n": (
            4,
            "did you mean 'patches'",
        ),
        "package:\n  name: x\n  version: '1'\nsource:\n  url: https://x.example/u.tar.gz\n  sha256: a\n  patches: [p.patch]\n": (
            4,
            "patch file that is missing",
        ),
    }
    for text, (code, words) in cases.items():
        folder = write_recipe(tmp_path / "bad", text)
        run = smithy("init", folder, "-o", tmp_path / "out")
        assert run.code == code, run.err
        lines = run.err.strip().splitlines()
        assert lines[-1].startswith("error: ")
        assert words in lines[-1]
        assert "Traceback" not in run.err
        assert not (tmp_path / "out").exists()


HOSTILE_BASE = (
    "package:\n  name: {name}\n  version: {version}\n"
    "source:\n  url: https://x.example/x-1.0.tar.gz\n  sha256: {sha}\n{extras}"
    "extra:\n  recipe-maintainers: {maintainers}\n"
)
HOSTILE_RECIPES = {
    "package.name": {"name": "../../escaped"},
    "package.version": {"version": '"1.0\\n        shell: sh"'},
    "extra.recipe-maintainers[0]": {"maintainers": '["alice\\n* @mallory"]'},
    "source.extras[0][0]": {"extras": "  extras:\n    - [../../.ssh/id_rsa, id_rsa]\n"},
}


@pytest.mark.parametrize("key", list(HOSTILE_RECIPES))
def test_init_of_a_hostile_recipe_fails_in_one_line_and_writes_nothing(
    tmp_path: Path, key: str
) -> None:
    """No -o: the folder would be named after the recipe, ``-/-/escaped-feedstock`` before."""
    values = {"name": "x", "version": "'1.0'", "sha": "ab" * 32, "extras": "", "maintainers": "[]"}
    text = HOSTILE_BASE.format(**{**values, **HOSTILE_RECIPES[key]})
    folder = write_recipe(tmp_path / "recipes" / "x", text)
    work = tmp_path / "work"
    work.mkdir()
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    run = smithy("init", folder, cwd=work)
    assert run.code == 4, run.err
    errors = [line for line in run.err.splitlines() if line.startswith("error:")]
    assert errors == [line for line in run.err.splitlines() if line.strip()][-1:]
    assert errors[0].endswith(f"({folder / 'meta.yaml'}:{key})"), errors
    assert "Traceback" not in run.err
    assert run.out == ""
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_traceback_only_when_asked(tmp_path: Path) -> None:
    run = smithy("--traceback", "init", tmp_path / "nothing-here")
    assert "Traceback" in run.err
    assert run.code != 0


def test_github_actions_annotation(tmp_path: Path) -> None:
    run = smithy("init", tmp_path / "nothing-here", env={"GITHUB_ACTIONS": "true"})
    assert run.code == 3
    lines = run.err.strip().splitlines()
    where = tmp_path / "nothing-here"
    assert lines[0] == f"error: no recipe there (expected a meta.yaml or its folder) ({where})"
    assert lines[1] == f"::error file={where}::no recipe there (expected a meta.yaml or its folder)"


def test_metadata_unreachable_uses_the_pinned_default(tmp_path: Path) -> None:
    folder = write_recipe(tmp_path / "example", PURE_SDIST)
    env = {
        "PYODIDE_CROSS_BUILD_ENV_METADATA_URL": "http://127.0.0.1:9/meta.json",
        "NO_PROXY": "127.0.0.1",
    }
    run = smithy("init", folder, "-o", tmp_path / "out", env=env)
    assert run.code == 0, run.err
    assert "using the pinned default xbuildenv 314.0.5" in run.err
    assert load_config(tmp_path / "out" / "pyodide-smithy.yml").xbuildenv == "314.0.5"
    explicit = smithy(
        "init",
        folder,
        "-o",
        tmp_path / "pre",
        "--xbuildenv",
        "315.0.0a2",
        "--xbuildenv-metadata",
        METADATA,
    )
    assert explicit.code == 0, explicit.err
    assert load_config(tmp_path / "pre" / "pyodide-smithy.yml").xbuildenv == "315.0.0a2"


def test_pyodide_build_pin_respects_the_xbuildenv() -> None:
    import dataclasses

    from smithy.xbuildenv import PINNED_DEFAULT

    assert init_module.pyodide_build_for(PINNED_DEFAULT) == "0.39.2"
    capped = dataclasses.replace(PINNED_DEFAULT, max_pyodide_build_version="0.30.1")
    assert init_module.pyodide_build_for(capped) == "0.30.1"


def test_feedstock_error_is_the_right_class() -> None:
    assert FeedstockError.exit_code == 7
