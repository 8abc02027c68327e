"""add-maintainer's recipe edit: in place, comments kept, the login checked first."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest

from smithy.errors import RecipeError, UsageError
from smithy.feedstock.maintainers import add_to_recipe, check_login, login_problem

META = Path("recipe/meta.yaml")
HEAD = "package:\n  name: pkg\n  version: 1.0.0  # pinned\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (  # a block list: one line after its last item, as that item is written
            HEAD + "extra:\n  recipe-maintainers:\n    - alice  # lead\n    - 'bob'\n# end\n",
            HEAD + "extra:\n  recipe-maintainers:\n    - alice  # lead\n    - 'bob'\n"
            "    - carol\n# end\n",
        ),
        (  # items at the key's own indentation
            HEAD + "extra:\n  recipe-maintainers:\n  - alice\n  other: 1\n",
            HEAD + "extra:\n  recipe-maintainers:\n  - alice\n  - carol\n  other: 1\n",
        ),
        (  # an empty key
            HEAD + "extra:\n  recipe-maintainers:\n  other: 1\n",
            HEAD + "extra:\n  recipe-maintainers:\n    - carol\n  other: 1\n",
        ),
        (  # an empty flow list, its comment kept
            HEAD + "extra:\n  recipe-maintainers: []  # nobody yet\n",
            HEAD + "extra:\n  recipe-maintainers:  # nobody yet\n    - carol\n",
        ),
        (  # extra without the key: added at extra's indentation, first
            HEAD + "extra:\n    other: 1\n",
            HEAD + "extra:\n    recipe-maintainers:\n      - carol\n    other: 1\n",
        ),
        (  # an empty extra
            HEAD + "extra: {}\nabout: {}\n",
            HEAD + "extra:\n  recipe-maintainers:\n    - carol\nabout: {}\n",
        ),
        (  # no extra, no newline at the end
            HEAD.rstrip("\n"),
            HEAD + "extra:\n  recipe-maintainers:\n    - carol\n",
        ),
    ],
)
def test_the_login_is_added_in_place(before: str, after: str) -> None:
    assert add_to_recipe(before, "carol", META) == after


def test_a_listed_login_is_not_added_again_whatever_its_case() -> None:
    text = HEAD + "extra:\n  recipe-maintainers:\n    - Carol\n"
    assert add_to_recipe(text, "carol", META) is None


@pytest.mark.parametrize(
    "text",
    [
        HEAD + "extra:\n  recipe-maintainers: [alice, bob]\n",
        HEAD + "extra: {recipe-maintainers: [alice]}\n",
        HEAD + "extra:\n  recipe-maintainers: alice\n",
        HEAD + "extra: [1]\n",
    ],
)
def test_what_cannot_be_edited_in_place_is_refused_in_one_line(text: str) -> None:
    with pytest.raises(RecipeError) as refused:
        add_to_recipe(text, "carol", META)
    assert "\n" not in str(refused.value)
    assert refused.value.file == str(META)


@pytest.mark.parametrize("login", ["a", "octo-cat", "A1-b2-C3", "x" * 39, "@monalisa"])
def test_github_logins_pass(login: str) -> None:
    assert check_login(login) == login.removeprefix("@")


HOSTILE = [
    "x$(id)",
    "a\nb",
    "alice\n",
    "../x",
    "x" * 40,
    "-a",
    "a-",
    "a--b",
    "a_b",
    "",
    "@",
    "@@a",
    "a b",
    "a;b",
    "\u0661",  # ARABIC-INDIC DIGIT ONE: a digit to str.isdigit, not to GitHub
    "caf\u00e9",
    "a\u202eb",
]


@pytest.mark.parametrize("login", HOSTILE)
def test_anything_else_is_refused_in_one_line(login: str) -> None:
    with pytest.raises(UsageError) as refused:
        check_login(login)
    assert "\n" not in str(refused.value)
    assert "not a GitHub login" in str(refused.value)
    assert login_problem(login.removeprefix("@")) is not None


# The only lines the edit may add or replace: what the maintainers command's push job accepts.
ADDED = re.compile(r" *- +carol| *recipe-maintainers:( +#.*)?|extra:")
REMOVED = re.compile(r" *recipe-maintainers: *(\[\]|null|~)?( +#.*)?|extra: *(\{\}|null|~)?")


def test_every_real_recipe_takes_a_maintainer_in_place(recipes_root: Path) -> None:
    """All 332 real recipes: the edit adds lines (or fills an empty key) and nothing else."""
    done = 0
    for meta in sorted(recipes_root.glob("*/meta.yaml")):
        text = meta.read_text()
        edited = add_to_recipe(text, "carol", meta)
        assert edited is not None, meta
        diff = list(difflib.ndiff(text.splitlines(), edited.splitlines()))
        added = [line[2:] for line in diff if line.startswith("+ ")]
        removed = [line[2:] for line in diff if line.startswith("- ")]
        assert all(ADDED.fullmatch(line) for line in added), (meta, added)
        assert all(REMOVED.fullmatch(line) for line in removed), (meta, removed)
        assert sum(line.strip() == "- carol" for line in added) == 1, meta
        done += 1
    assert done == 332
