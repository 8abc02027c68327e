"""``add-maintainer``: a GitHub login added to ``extra.recipe-maintainers`` in the recipe, then a
rerender (CODEOWNERS names the maintainers), each committed.

The recipe is edited as text, in place: the line the new login needs goes after the list's
last item (or the key, or the ``extra`` block, is added), so comments, quoting and layout stay
as they were; ruamel's round trip only says where. The login may come from anyone's comment
(the feedstock's maintainers command), so it is checked against GitHub's rule before it
touches a file, and the edited recipe must load as the old one plus that login.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smithy.errors import FeedstockError, RecipeError, UsageError
from smithy.recipe.fields import LOGIN, MAX_LOGIN, shown

if TYPE_CHECKING:
    from smithy.feedstock.rerender import RerenderResult

KEY = "recipe-maintainers"
# What the edit writes and the maintainers command's push job accepts: an item, the key, the
# block; the lines it may replace are an empty key or block (``recipe-maintainers: []``).
_ITEM_PREFIX = re.compile(r" *- +")
_EMPTY_FLOW = re.compile(r"(?P<key>.*?:) *(?:\[\]|\{\}|null|~)? *(?P<comment>#.*)?")


def login_problem(login: str) -> str | None:
    """Why ``login`` is not a GitHub login (letters and digits, single hyphens between them, at
    most 39 characters); ``None`` if it is one. Stricter than what a recipe may already hold
    (``smithy.recipe.fields`` lets in underscores, for Enterprise Managed Users)."""
    if not login or len(login) > MAX_LOGIN or "_" in login or not LOGIN.fullmatch(login):
        return (
            f"not a GitHub login: 1 to {MAX_LOGIN} letters, digits and single hyphens, "
            "neither first nor last"
        )
    return None


def check_login(text: str) -> str:
    """``@login`` or ``login``, checked; the login."""
    login = text.removeprefix("@")
    if (why := login_problem(login)) is not None:
        raise UsageError(f"{shown(text)} is {why}", key="LOGIN")
    return login


def add_to_recipe(text: str, login: str, path: Path) -> str | None:
    """``text`` (a meta.yaml) with ``login`` appended to ``extra.recipe-maintainers``;
    ``None`` when the list has it already (GitHub logins ignore case)."""
    from smithy.yamlio import load_yaml_text, round_trip_load

    data = round_trip_load(text, path, error=RecipeError)
    if not isinstance(data, dict):
        raise RecipeError("the recipe is not a mapping", file=path)
    listed = _listed(data, path)
    if any(str(name).lower() == login.lower() for name in listed):
        return None
    edited = _insert(text, data, login, path)
    before, after = load_yaml_text(text, path, error=RecipeError), None
    with contextlib.suppress(RecipeError):  # a broken edit shows as a difference below
        after = load_yaml_text(edited, path, error=RecipeError)
    expected = dict(before)
    extra = dict(expected.get("extra") or {})
    extra[KEY] = [*listed, login]
    expected["extra"] = extra
    if after != expected:
        raise RecipeError(
            f"cannot add {login} in place: add it under extra.{KEY} by hand", file=path
        )
    return edited


def _listed(data: dict[str, Any], path: Path) -> list[Any]:
    extra = data.get("extra")
    if extra is None:
        return []
    if not isinstance(extra, dict):
        raise RecipeError("extra is not a mapping", file=path, key="extra")
    names = extra.get(KEY)
    if names is None:
        return []
    if not isinstance(names, list):
        raise RecipeError(f"extra.{KEY} is not a list", file=path, key=f"extra.{KEY}")
    return list(names)


def _insert(text: str, data: Any, login: str, path: Path) -> str:
    """The line(s) ``login`` needs, placed (see the module's docstring)."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    if "extra" not in data:
        return "".join([*lines, f"extra:\n  {KEY}:\n    - {login}\n"])
    extra = data["extra"]
    if not extra:  # `extra:` or `extra: {}`
        at = data.lc.key("extra")[0]
        return _fill(lines, at, [f"  {KEY}:", f"    - {login}"], path)
    if extra.fa.flow_style():
        raise RecipeError(f"cannot add {login} to a one-line extra: edit it by hand", file=path)
    if KEY not in extra:
        at, column = data.lc.key("extra")[0], extra.lc.key(next(iter(extra)))[1]
        return _put(lines, at, [f"{' ' * column}{KEY}:", f"{' ' * column}  - {login}"])
    names = extra[KEY]
    at, column = extra.lc.key(KEY)
    if not names:  # `recipe-maintainers:` or `recipe-maintainers: []`
        return _fill(lines, at, [f"{' ' * column}  - {login}"], path)
    if names.fa.flow_style():
        raise RecipeError(f"cannot add {login} to a one-line list: edit it by hand", file=path)
    last, value_column = names.lc.item(len(names) - 1)
    prefix = lines[last][:value_column]
    if not _ITEM_PREFIX.fullmatch(prefix):
        raise RecipeError(f"cannot add {login} after {prefix!r}: edit it by hand", file=path)
    return _put(lines, last, [f"{prefix}{login}"])


def _put(lines: list[str], after: int, new: list[str]) -> str:
    return "".join([*lines[: after + 1], *(f"{line}\n" for line in new), *lines[after + 1 :]])


def _fill(lines: list[str], at: int, new: list[str], path: Path) -> str:
    """An empty key's line (``key:``, ``key: []``, ``key: {}``, a comment kept) as ``key:``,
    then ``new`` under it."""
    match = _EMPTY_FLOW.fullmatch(lines[at].rstrip("\n"))
    if match is None:
        raise RecipeError("cannot find the empty key to fill: edit it by hand", file=path)
    comment = f"  {match['comment']}" if match["comment"] else ""
    lines = [*lines[:at], f"{match['key']}{comment}\n", *lines[at + 1 :]]
    return _put(lines, at, new)


@dataclass(frozen=True, kw_only=True)
class AddMaintainerResult:
    feedstock: Path
    login: str
    added: bool  # False: the recipe lists the login already
    commit: str | None = None  # the recipe's change
    rerender: RerenderResult | None = None


def run_add_maintainer(
    login: str, feedstock: Path, *, metadata: str | None = None
) -> AddMaintainerResult:
    """Add ``login`` to the feedstock's recipe maintainers and commit it, then rerender (and
    commit that, as rerender does). The recipe must have no uncommitted change."""
    from smithy import gitio
    from smithy.feedstock.rerender import run_rerender
    from smithy.feedstock.state import RECIPE_DIR, check_feedstock
    from smithy.fsutil import read_regular, write_atomic
    from smithy.recipe.load import META

    login = check_login(login)
    root = feedstock.resolve()
    check_feedstock(root)
    repo = gitio.open_repo(root)
    if repo is None:
        raise FeedstockError("not a git repository: the change could not be committed", file=root)
    meta = root / RECIPE_DIR / META
    relative = f"{RECIPE_DIR}/{META}"
    if gitio.dirty_paths(repo, [relative]):
        raise FeedstockError(f"{relative} has uncommitted changes: commit them first", file=root)
    text = read_regular(meta, limit=1 << 20, error=RecipeError).decode("utf-8", "replace")
    edited = add_to_recipe(text, login, meta)
    if edited is None:
        return AddMaintainerResult(feedstock=root, login=login, added=False)
    write_atomic(meta, edited.encode())
    commit = gitio.commit_paths(repo, [relative], f"Add @{login} to the recipe's maintainers")
    rendered = run_rerender(root, metadata=metadata)
    return AddMaintainerResult(
        feedstock=root, login=login, added=True, commit=commit, rerender=rendered
    )
