"""``bot import``'s decisions without GitHub: which recipes, in which order, run how, and what
GitHub's answers about existing feedstocks mean."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from graphql import parse, validate

from smithy import console
from smithy.bot.bulk_github import Existing, meta_query, parse_node, same_recipe
from smithy.bot.bulk_import import FAILED, ImportResult, Outcome, _run_all
from smithy.bot.bulk_recipes import RecipeEntry, import_order, recipe_folders, scan
from smithy.bot.github_view import Repo
from smithy.errors import RecipeNotFoundError
from tests.unit.test_github_graphql_schema import schema


def recipe(root: Path, folder: str, name: str, *, kind: str = "package", **reqs: list[str]) -> None:
    lines = [f"package:\n  name: {name}\n  version: 1.0\n", f"build:\n  type: {kind}\n"]
    if reqs:
        lines.append("requirements:\n")
        lines += [f"  {section}: [{', '.join(items)}]\n" for section, items in reqs.items()]
    (root / folder).mkdir(parents=True)
    (root / folder / "meta.yaml").write_text("".join(lines))


def entry(name: str, *requires: str, library: bool = False) -> RecipeEntry:
    return RecipeEntry(Path(name), name, f"{name}-feedstock", library=library, requires=requires)


def names(entries: list[RecipeEntry]) -> list[str]:
    return [e.package for e in entries]


def test_scan_reads_names_kinds_and_requirements(tmp_path: Path) -> None:
    recipe(tmp_path, "Jinja2", "Jinja2", run=["MarkupSafe"])
    recipe(tmp_path, "libz", "libz", kind="shared_library")
    recipe(tmp_path, "pkg", "pkg", host=["libz", "numpy >=2"], run=["numpy", "six"])
    (tmp_path / "docs").mkdir()  # no meta.yaml: not a recipe
    jinja, libz, pkg = scan(tmp_path)
    assert (jinja.package, jinja.feedstock, jinja.library) == ("Jinja2", "jinja2-feedstock", False)
    assert jinja.requires == ("markupsafe",)
    assert (libz.library, pkg.library) == (True, False)
    assert pkg.requires == ("libz", "numpy", "six")
    assert pkg.meta == (tmp_path / "pkg" / "meta.yaml").read_text()
    assert all(e.problem is None for e in (jinja, libz, pkg))


def test_scan_takes_pyodide_recipes_packages_folder(tmp_path: Path) -> None:
    recipe(tmp_path / "packages", "six", "six")
    assert recipe_folders(tmp_path) == [tmp_path / "packages" / "six"]


def test_a_bad_recipe_is_an_entry_with_its_problem(tmp_path: Path) -> None:
    recipe(tmp_path, "good", "good")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "meta.yaml").write_text("package: [\n")
    recipe(tmp_path, "Good_", "good")  # the same feedstock as good's
    (tmp_path / "nameless").mkdir()
    (tmp_path / "nameless" / "meta.yaml").write_text("package:\n  version: 1\n")
    found = {e.folder.name: e for e in scan(tmp_path)}
    assert found["good"].problem is None
    assert found["Good_"].problem == "good makes the same feedstock, good-feedstock"
    assert found["broken"].feedstock == "broken-feedstock"  # named after its folder
    assert str(found["broken"].problem).startswith("invalid YAML")
    meta = tmp_path / "nameless" / "meta.yaml"
    assert found["nameless"].problem == f"the recipe names no package ({meta}:package.name)"


def test_no_recipes_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RecipeNotFoundError, match="no such folder"):
        recipe_folders(tmp_path / "missing")
    with pytest.raises(RecipeNotFoundError, match="no folder holds a meta.yaml"):
        recipe_folders(tmp_path)


def test_libraries_first_then_dependencies_before_dependents() -> None:
    entries = [
        entry("aaa", "scipy"),
        entry("libb", "liba", library=True),
        entry("liba", library=True),
        entry("numpy", "libb"),
        entry("scipy", "numpy", "libb"),
        entry("zzz"),
    ]
    order, after = import_order(entries)
    assert names(order) == ["liba", "libb", "numpy", "scipy", "aaa", "zzz"]
    assert after["liba-feedstock"] == frozenset()
    assert after["libb-feedstock"] == {"liba-feedstock"}
    libraries = {"liba-feedstock", "libb-feedstock"}
    assert after["zzz-feedstock"] == libraries
    assert after["scipy-feedstock"] == libraries | {"numpy-feedstock"}
    assert after["aaa-feedstock"] == libraries | {"scipy-feedstock"}


def test_a_cycle_is_cut_where_found_and_a_bad_recipe_waits_for_nothing() -> None:
    broken = RecipeEntry(Path("bad"), "bad", "bad-feedstock", problem="no")
    order, after = import_order(
        [entry("a", "b"), entry("b", "a"), broken, entry("l", library=True)]
    )
    assert names(order) == ["l", "b", "a", "bad"]
    assert after["b-feedstock"] == {"l-feedstock"}  # the edge b -> a is the one cut
    assert after["a-feedstock"] == {"l-feedstock", "b-feedstock"}
    assert after["bad-feedstock"] == frozenset()


def test_run_all_starts_each_after_what_it_waits_for_at_most_jobs_at_once() -> None:
    order, after = import_order(
        [entry("lib", library=True), entry("a"), entry("b", "a"), entry("c"), entry("d")]
    )
    lock, running = threading.Lock(), [0, 0]  # now, most at once
    started: list[str] = []
    finished: set[str] = set()

    def act(e: RecipeEntry) -> Outcome:
        with lock:
            assert after[e.feedstock] <= finished, e.package
            started.append(e.package)
            running[0] += 1
            running[1] = max(running)
        time.sleep(0.02)
        with lock:
            running[0] -= 1
            finished.add(e.feedstock)
        return Outcome(e.package, e.package, e.feedstock, e.library, "created")

    heard: list[str] = []
    done = _run_all(order, after, act, 2, lambda o: heard.append(o.recipe))
    assert [o.recipe for o in done] == names(order)  # reported in import order
    assert started[0] == "lib"
    assert started.index("a") < started.index("b")
    assert running[1] == 2
    assert sorted(heard) == sorted(names(order))


def test_run_all_stops_on_a_bug() -> None:
    order, after = import_order([entry("a"), entry("b")])

    def act(e: RecipeEntry) -> Outcome:
        raise KeyError(e.package)

    with pytest.raises(KeyError):
        _run_all(order, after, act, 1, lambda _: None)


REPO = Repo("x-feedstock", "org/x-feedstock", "main", "file:///x")


def test_githubs_answer_about_an_existing_feedstock() -> None:
    full = {"autoMergeAllowed": True, "defaultBranchRef": {"name": "main"}, "meta": {"text": "m"}}
    assert parse_node(REPO, full) == Existing(REPO, "m", empty=False, auto_merge=True)
    empty = {"autoMergeAllowed": False, "defaultBranchRef": None, "meta": None}
    assert parse_node(REPO, empty) == Existing(REPO, None, empty=True, auto_merge=False)
    # the stand-in answers the blob only: the rest is unknown, asked again over REST
    assert parse_node(REPO, {"meta": {"text": "m"}}) == Existing(REPO, "m")
    assert parse_node(REPO, None) == Existing(REPO, None)


def test_the_query_is_valid_against_githubs_schema() -> None:
    repos = [REPO, Repo("a.b", "org/a.b", "main", ""), Repo("-", "org/-", "main", "")]
    document = parse(meta_query("pyodide-feedstocks", repos))
    assert validate(schema(), document) == []
    assert meta_query("o", [REPO]).count("repository(") == 1


def test_same_recipe_ignores_only_line_endings_and_trailing_space() -> None:
    text = "package:\n  name: x\n  version: 1.0\n"
    assert same_recipe(text.replace("\n", "\r\n") + "\n", text)
    assert same_recipe(text.replace("x\n", "x  \n"), text)
    assert not same_recipe(text.replace("1.0", "1.1"), text)
    assert not same_recipe(text.replace("  name", "   name"), text)


def test_result_totals_and_json() -> None:
    outcomes = (
        Outcome("a", "a", "o/a-feedstock", False, "created"),
        Outcome("b", "b", "o/b-feedstock", True, FAILED, "bad"),
    )
    result = ImportResult("o", "/r", False, outcomes, 1.234)
    assert result.failed
    data = result.to_json()
    assert data["totals"] == {
        "created": 1,
        "completed": 0,
        "exists-matches": 0,
        "exists-differs": 0,
        "failed": 1,
    }
    assert data["seconds"] == 1.23
    assert data["recipes"][1] == {
        "recipe": "b",
        "package": "b",
        "repo": "o/b-feedstock",
        "library": True,
        "outcome": "failed",
        "reason": "bad",
    }
    dry = ImportResult("o", "/r", True, outcomes[:1], 0.0)
    assert not dry.failed
    assert list(dry.totals())[:2] == ["would-create", "would-complete"]


def test_stepping_prints_a_line_per_item_off_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with console.stepping(2, "import") as step:
        step("a created")
        step("b failed")
    assert capsys.readouterr().err == "import 1/2: a created\nimport 2/2: b failed\n"
    with console.stepping(2, "import", enabled=False) as step:
        step("a")
    with console.hushed(), console.stepping(2, "import") as step:
        step("a")
    assert capsys.readouterr() == ("", "")
    assert not console.is_quiet()  # hushed() puts it back
