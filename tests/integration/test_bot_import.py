"""``bot import`` against the GitHub stand-in: real recipes, the real command line in its own
process, bare git repositories as the org's repositories."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.integration.conftest import GITHUB_ORG, Run, git, smithy
from tests.integration.github_standin import Fault, GitHubStandIn, Reply

ORG = GITHUB_ORG
# A library, a package that needs it (and numpy, which comes first too), and one that needs
# neither: alphabetically attrs would come first.
RECIPES = ("attrs", "libopenblas", "numpy", "scipy")
UPLOAD = "anaconda-upload-token-never-shown"


@pytest.fixture
def recipes(recipes_root: Path, tmp_path: Path) -> Path:
    out = tmp_path / "pyodide-recipes"
    for name in RECIPES:
        shutil.copytree(recipes_root / name, out / name)
    return out


def bot_import(recipes: Path, *args: str) -> tuple[Run, dict[str, Any]]:
    ran = smithy("bot", "import", recipes, "--org", ORG, "--json", *args, env=_env())
    return ran, json.loads(ran.out) if ran.out.strip() else {}


def _env() -> dict[str, str]:
    return {"ANACONDA_API_TOKEN": UPLOAD}


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {r["recipe"]: r["outcome"] for r in report["recipes"]}


def writes(stand: GitHubStandIn) -> list[tuple[str, str]]:
    """The API requests that change something (a GraphQL query reads)."""
    with stand.lock:
        return [(m, p) for m, p in stand.requests if m != "GET" and p != "/graphql"]


def creations(stand: GitHubStandIn) -> list[str]:
    """The org's repositories, oldest first."""
    with stand.lock:
        repos = sorted(stand.store.orgs[ORG].repos.values(), key=lambda r: r.id)
        return [r.name for r in repos]


def bare(stand: GitHubStandIn, name: str) -> Path:
    return stand.git_root / ORG / f"{name}-feedstock.git"


def assert_registered(stand: GitHubStandIn, recipes: Path, name: str) -> None:
    """Pushed with the recipe as it is, protected, auto-merge allowed, the secret stored."""
    repo = f"{name}-feedstock"
    meta = git(bare(stand, name), "show", "main:recipe/meta.yaml")
    assert meta == (recipes / name / "meta.yaml").read_text()
    protection = stand.protection(ORG, repo, "main")
    assert protection is not None
    assert protection["required_status_checks"]["checks"][0] == {"context": "build"}
    assert stand.settings(ORG, repo)["allow_auto_merge"] is True
    assert stand.secrets(ORG, repo) == {"ANACONDA_API_TOKEN": UPLOAD}


def test_recipes_become_registered_feedstocks_libraries_first(
    stand: GitHubStandIn, recipes: Path
) -> None:
    ran, report = bot_import(recipes)
    assert ran.code == 0, ran.err
    assert outcomes(report) == dict.fromkeys(RECIPES, "created")
    assert report["totals"] == {
        "created": 4,
        "completed": 0,
        "exists-matches": 0,
        "exists-differs": 0,
        "failed": 0,
    }
    for name in RECIPES:
        assert_registered(stand, recipes, name)
    order = creations(stand)
    # the library before every package, though four run at once; numpy before scipy
    assert order[0] == "libopenblas-feedstock"
    assert order.index("numpy-feedstock") < order.index("scipy-feedstock")
    assert [r["recipe"] for r in report["recipes"]] == ["libopenblas", "attrs", "numpy", "scipy"]
    assert [r["library"] for r in report["recipes"]] == [True, False, False, False]
    assert report["recipes"][0]["repo"] == f"{ORG}/libopenblas-feedstock"
    assert "error" not in ran.err
    assert UPLOAD not in ran.out + ran.err

    # a re-run finds every feedstock in place and writes nothing, to the API or with git
    before, refs = writes(stand), {n: git(bare(stand, n), "for-each-ref") for n in RECIPES}
    ran, report = bot_import(recipes)
    assert ran.code == 0, ran.err
    assert outcomes(report) == dict.fromkeys(RECIPES, "exists-matches")
    assert writes(stand) == before
    assert {n: git(bare(stand, n), "for-each-ref") for n in RECIPES} == refs


def test_text_output_and_progress_lines(stand: GitHubStandIn, recipes: Path) -> None:
    ran = smithy("bot", "import", recipes, "--org", ORG, "--jobs", "2", env=_env())
    assert ran.code == 0, ran.err
    lines = ran.out.splitlines()
    assert lines[0] == f"libopenblas\t{ORG}/libopenblas-feedstock\tcreated"
    assert len(lines) == 4
    # not a terminal: a plain line per recipe on stderr, then the summary
    progress = [line for line in ran.err.splitlines() if line.startswith("import ")]
    assert len(progress) == 4
    assert progress[-1].startswith("import 4/4: ")
    assert ran.err.splitlines()[-1].startswith("4 recipes in ")
    assert ran.err.splitlines()[-1].endswith(": 4 created")
    quiet = smithy("-q", "bot", "import", recipes, "--org", ORG, env=_env())
    assert (quiet.code, quiet.err) == (0, "")
    assert quiet.out.count("\texists-matches") == 4


def test_dry_run_says_what_it_would_do_and_writes_nothing(
    stand: GitHubStandIn, recipes: Path
) -> None:
    other = "package:\n  name: attrs\n  version: 0.0.1\nsource:\n  url: x\n"
    stand.create_repo(ORG, "attrs-feedstock", {"recipe/meta.yaml": other})
    stand.create_repo(ORG, "numpy-feedstock")  # someone else's: a README, no recipe
    stand.create_repo(ORG, "scipy-feedstock", {})
    git(bare(stand, "scipy"), "update-ref", "-d", "refs/heads/main")  # created, never pushed
    foreign = {n: git(bare(stand, n), "for-each-ref") for n in ("attrs", "numpy")}

    ran, report = bot_import(recipes, "--dry-run")
    assert ran.code == 0, ran.err
    assert outcomes(report) == {
        "libopenblas": "would-create",
        "attrs": "exists-differs",
        "numpy": "exists-differs",
        "scipy": "would-complete",
    }
    reasons = {r["recipe"]: r["reason"] for r in report["recipes"]}
    assert reasons["attrs"] == "its recipe/meta.yaml is not the recipe's"
    assert reasons["numpy"] == "it holds no recipe/meta.yaml"
    assert reasons["scipy"] == "registration unfinished: nothing pushed"
    assert report["dry_run"] is True
    assert set(report["totals"]) == {
        "would-create",
        "would-complete",
        "exists-matches",
        "exists-differs",
        "failed",
    }
    assert writes(stand) == []
    assert len(creations(stand)) == 3

    ran, report = bot_import(recipes)
    assert ran.code == 0, ran.err
    assert outcomes(report)["libopenblas"] == "created"
    assert outcomes(report)["scipy"] == "completed"
    assert_registered(stand, recipes, "scipy")
    # the others' repositories are left as they were
    assert {n: git(bare(stand, n), "for-each-ref") for n in ("attrs", "numpy")} == foreign
    assert stand.protection(ORG, "attrs-feedstock", "main") is None
    assert stand.secrets(ORG, "numpy-feedstock") == {}


def test_a_bad_recipe_fails_alone(stand: GitHubStandIn, recipes: Path) -> None:
    broken = recipes / "broken"
    broken.mkdir()
    (broken / "meta.yaml").write_text("package:\n  name: broken\n  version: [1\n")
    unknown = recipes / "unknown-key"
    shutil.copytree(recipes / "attrs", unknown)
    meta = (unknown / "meta.yaml").read_text().replace("name: attrs", "name: unknown-key", 1)
    (unknown / "meta.yaml").write_text(meta + "bogus: 1\n")

    ran, report = bot_import(recipes)
    assert ran.code == 1
    assert ran.err.count("error") == 0  # reported in the summary, not as the command's error
    found = outcomes(report)
    assert found.pop("broken") == found.pop("unknown-key") == "failed"
    assert found == dict.fromkeys(RECIPES, "created")
    reasons = {r["recipe"]: r["reason"] for r in report["recipes"]}
    assert reasons["broken"] == (
        "invalid YAML: did not find expected ',' or ']' at line 4, column 1 "
        f"({broken / 'meta.yaml'})"
    )
    assert reasons["unknown-key"] == (
        f"unknown key 'bogus' in recipe; did you mean 'about'? ({unknown / 'meta.yaml'}:bogus)"
    )
    assert report["totals"]["failed"] == 2
    assert "unknown-key-feedstock" not in creations(stand)


def test_bad_input_is_one_line(stand: GitHubStandIn, tmp_path: Path) -> None:
    missing = smithy("bot", "import", tmp_path / "nowhere", "--org", ORG)
    assert missing.code == 3
    assert missing.err == f"error: no such folder of recipes ({tmp_path / 'nowhere'})\n"
    (tmp_path / "empty" / "docs").mkdir(parents=True)
    empty = smithy("bot", "import", tmp_path / "empty", "--org", ORG)
    assert empty.code == 3
    assert empty.err == (
        f"error: no recipes there: no folder holds a meta.yaml ({tmp_path / 'empty'})\n"
    )
    assert smithy("bot", "import", tmp_path / "empty", "--org", ORG, "--jobs", "0").code == 2
    assert stand.requests == []


KILL_POINTS = {
    # the step the first repository is stopped at -> what the stopped run left behind
    "push": "created, nothing pushed",
    "protect": "pushed, main unprotected",
    "secret": "protected, auto-merge allowed, no secret",
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_killed_run_is_completed_by_the_next(
    stand: GitHubStandIn, recipes: Path, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    """SIGKILL while the first repository (the library) is half registered; the re-run
    completes it, creates the rest, and never creates a repository twice."""
    stand.serve_git_over_http()  # so that the push, too, reaches the stand-in
    first = "libopenblas-feedstock"
    command = [sys.executable, "-m", "smithy", "bot", "import", str(recipes), "--org", ORG]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **_env()}
    proc = subprocess.Popen([*command, "--jobs", "1"], env=env, stdout=subprocess.PIPE)
    killed = threading.Event()

    def kill_when(hit: bool) -> bool:
        """Kill the import at the first ``hit``; whether it was this one."""
        if not hit or killed.is_set():
            return False
        proc.kill()
        proc.wait()
        killed.set()
        return True

    api = {"protect": f"/repos/{ORG}/{first}/branches/main"}
    api["secret"] = f"/repos/{ORG}/{first}/actions/secrets/public-key"
    before, git_http = stand.before, stand.git_http

    def stop_api(method: str, path: str) -> Fault | str | None:
        return "drop" if kill_when(path == api.get(point)) else before(method, path)

    def stop_push(method: str, path: str, query: str, headers: Any, body: bytes) -> Reply:
        if kill_when(point == "push" and "service=git-receive-pack" in query):
            return 500, b"", {}
        return git_http(method, path, query, headers, body)

    monkeypatch.setattr(stand, "before", stop_api)
    monkeypatch.setattr(stand, "git_http", stop_push)
    proc.communicate(timeout=120)
    assert killed.is_set()
    assert proc.returncode == -9

    assert creations(stand) == [first]  # one at a time: the library only
    heads = git(bare(stand, "libopenblas"), "for-each-ref", "refs/heads")
    assert bool(heads) is (point != "push")
    assert (stand.protection(ORG, first, "main") is None) is (point != "secret")
    assert stand.settings(ORG, first)["allow_auto_merge"] is (point == "secret")
    assert stand.secrets(ORG, first) == {}

    ran, report = bot_import(recipes)
    assert ran.code == 0, ran.err
    assert outcomes(report) == {
        "libopenblas": "completed",
        "attrs": "created",
        "numpy": "created",
        "scipy": "created",
    }
    reason = report["recipes"][0]["reason"]
    assert (
        reason
        == "registration unfinished: "
        + {
            "push": "nothing pushed",
            "protect": "auto-merge off, no ANACONDA_API_TOKEN secret",
            "secret": "no ANACONDA_API_TOKEN secret",
        }[point]
    )
    for name in RECIPES:
        assert_registered(stand, recipes, name)
    if point != "push":  # completed on top of what was pushed: no second commit, no force
        assert git(bare(stand, "libopenblas"), "for-each-ref", "refs/heads") == heads
    assert stand.count("POST", f"/orgs/{ORG}/repos") == len(RECIPES)
    assert len(creations(stand)) == len(RECIPES)

    again, report = bot_import(recipes)
    assert outcomes(report) == dict.fromkeys(RECIPES, "exists-matches"), again.err
