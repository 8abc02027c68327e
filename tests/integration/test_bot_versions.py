"""``bot versions`` against the GitHub stand-in and the package-index stand-in, both over real
HTTP on 127.0.0.1: feedstocks made by ``init`` and pushed to bare repositories."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from smithy.bot.version_plan import VersionState
from smithy.bot.versions import VersionsResult, run_versions
from smithy.feedstock.init import run_init
from tests.conftest import METADATA
from tests.helpers import write_recipe
from tests.integration.conftest import GITHUB_ORG, GITHUB_TOKEN
from tests.integration.github_standin import GitHubStandIn
from tests.integration.pypi_server import FakeIndex, sdist, serve, wheel

ORG = GITHUB_ORG
NAME = "example-pkg"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def release(version: str, requires: tuple[str, ...] = ("six",), **extra: str) -> dict[str, object]:
    made = sdist("example_pkg", version, {"example_pkg/__init__.py": f"V = {version!r}\n".encode()})
    body = made["body"]
    lines = ["Metadata-Version: 2.1", f"Name: {NAME}", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    lines += [f"Project-URL: {k}, {v}" for k, v in extra.items()]
    metadata = ("\n".join(lines) + "\n").encode()
    return {"filename": f"example_pkg-{version}.tar.gz", "body": body, "metadata": metadata}


@pytest.fixture
def index(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIndex]:
    with serve(FakeIndex()) as fake:
        monkeypatch.setenv("PYODIDE_SMITHY_INDEX_URL", f"{fake.base}/simple/")
        yield fake


def publish(index: FakeIndex, *versions: str, **urls: str) -> None:
    releases = [
        release(v, ("six", "attrs>=22") if v != "1.2.3" else ("six",), **urls) for v in versions
    ]
    index.add_project(NAME, releases, absolute=True)


def add_feedstock(
    stand: GitHubStandIn, index: FakeIndex, tmp: Path, repo: str, settings: dict[str, str]
) -> str:
    """``repo`` holding example-pkg 1.2.3 from the index's sdist, build-number 2."""
    body = release("1.2.3")["body"]
    assert isinstance(body, bytes)
    meta = (
        f"package:\n  name: {NAME}\n  version: 1.2.3\n  top-level:\n    - example_pkg\n"
        f"source:\n  url: {index.base}/files/example_pkg-1.2.3.tar.gz  # upstream's sdist\n"
        f"  sha256: {hashlib.sha256(body).hexdigest()}\n"
        "requirements:\n  run:\n    - six\n"
        "about:\n  summary: An example\n  license: MIT\n"
    )
    folder = write_recipe(tmp / "src" / repo, meta)
    root = run_init(
        str(folder), output=tmp / repo, xbuildenv="314.0.5", metadata=str(METADATA),
        from_source=True,
    )  # fmt: skip
    config = root.feedstock / "pyodide-smithy.yml"
    text = config.read_text().replace("build-number: 0", "build-number: 2")
    for key, value in settings.items():
        for old in ("false", "true"):  # bot.KEY indented, or a top-level KEY
            text = text.replace(f"  {key}: {old}", f"  {key}: {value}")
            text = text.replace(f"\n{key}: {old}", f"\n{key}: {value}")
    config.write_text(text)
    git(root.feedstock, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "settings")
    bare = stand.create_repo(ORG, repo)
    git(root.feedstock, "push", "-q", "--force", str(bare), "HEAD:refs/heads/main")
    return repo


def show(stand: GitHubStandIn, repo: str, branch: str, path: str) -> str:
    return git(stand.git_root / ORG / f"{repo}.git", "show", f"{branch}:{path}")


def states(result: VersionsResult) -> dict[str, VersionState]:
    return {d.feedstock: d.state for d in result.decisions}


def writes(stand: GitHubStandIn) -> int:
    return sum(n for k, n in stand.endpoints.items() if not k.startswith(("GET", "POST /graphql")))


def refs(stand: GitHubStandIn, repo: str) -> str:
    return git(stand.git_root / ORG / f"{repo}.git", "for-each-ref")


def test_a_new_release_opens_one_pr_and_a_rerun_changes_nothing(
    stand: GitHubStandIn, index: FakeIndex, tmp_path: Path
) -> None:
    publish(index, "1.2.3", "1.3.0", "2.0.0rc1", Changelog="https://example.org/changes")
    repo = add_feedstock(stand, index, tmp_path, "example-pkg-feedstock", {})
    result = run_versions(ORG, metadata=str(METADATA))
    assert states(result) == {repo: VersionState.READY}
    assert result.index_requests == 3  # the page, then both releases' metadata for the PR text
    (pull,) = stand.pulls(ORG, repo)
    branch = "pyodide-smithy/version-1.3.0"  # 2.0.0rc1 is a pre-release: not opted in
    assert pull["head"]["ref"] == branch
    assert pull["title"] == "example-pkg 1.3.0"
    meta = show(stand, repo, branch, "recipe/meta.yaml")
    assert "version: 1.3.0\n" in meta
    url = f"{index.base}/files/example_pkg-1.3.0.tar.gz  # upstream's sdist"
    assert url in meta  # the comment kept: only the tokens change
    served = requests.get(url.split(maxsplit=1)[0], timeout=10).content  # the file the PR names
    assert f"sha256: {hashlib.sha256(served).hexdigest()}" in meta
    assert "\nbuild-number: 0\n" in show(stand, repo, branch, "pyodide-smithy.yml")
    assert 'xbuildenv: "314.0.5"' in show(stand, repo, branch, "pyodide-smithy.yml")
    body = pull["body"]
    assert "<https://example.org/changes>" in body
    assert "1.3.0 adds `attrs>=22`" in body
    assert "`requirements.run` lacks `attrs>=22`" in body
    assert "| build-number | 2 → 0 |" in body

    stand.endpoints.clear()
    before = refs(stand, repo)
    again = run_versions(ORG, metadata=str(METADATA))
    assert states(again) == {repo: VersionState.PR_OPEN}
    assert again.index_requests == 1  # one conditional request, answered 304
    assert writes(stand) == 0
    assert refs(stand, repo) == before
    assert [h.status for h in index.hits if h.path == f"/simple/{NAME}/"][-1] == 304


def test_a_newer_release_supersedes_and_a_closed_pr_is_declined_until_rerun(
    stand: GitHubStandIn, index: FakeIndex, tmp_path: Path
) -> None:
    publish(index, "1.2.3", "1.3.0")
    repo = add_feedstock(stand, index, tmp_path, "example-pkg-feedstock", {})
    run_versions(ORG, metadata=str(METADATA))
    (old,) = stand.pulls(ORG, repo)
    publish(index, "1.2.3", "1.3.0", "1.4.0")
    newer = run_versions(ORG, metadata=str(METADATA))
    assert [a.action for a in newer.actions] == ["opened"]
    first, second = stand.pulls(ORG, repo)
    assert (first["number"], first["state"]) == (old["number"], "closed")
    assert second["head"]["ref"] == "pyodide-smithy/version-1.4.0"
    comments = stand.comments(ORG, repo, old["number"])
    assert f"Superseded by #{second['number']} (1.4.0)" in comments[-1]

    stand.close(ORG, repo, second["number"])
    declined = run_versions(ORG, metadata=str(METADATA))
    assert states(declined) == {repo: VersionState.DECLINED}
    assert declined.actions == []
    stand.label(ORG, repo, second["number"], "bot-rerun")
    rerun = run_versions(ORG, metadata=str(METADATA))
    assert [a.action for a in rerun.actions] == ["reopened"]
    assert [p["state"] for p in stand.pulls(ORG, repo)] == ["closed", "open"]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"version-updates": "false"}, None),
        ({"version-prereleases": "true"}, "2.0.0rc1"),
    ],
    ids=["opted-out", "pre-releases"],
)
def test_opt_out_and_pre_releases(
    stand: GitHubStandIn,
    index: FakeIndex,
    tmp_path: Path,
    settings: dict[str, str],
    expected: str | None,
) -> None:
    publish(index, "1.2.3", "1.3.0", "2.0.0rc1")
    repo = add_feedstock(stand, index, tmp_path, "example-pkg-feedstock", settings)
    result = run_versions(ORG, metadata=str(METADATA))
    if expected is None:
        assert states(result) == {repo: VersionState.OPTED_OUT}
        assert stand.pulls(ORG, repo) == []
        return
    (pull,) = stand.pulls(ORG, repo)
    assert pull["head"]["ref"] == f"pyodide-smithy/version-{expected}"


@pytest.mark.parametrize("tests", [True, False], ids=["with-tests", "without-tests"])
def test_automerge_only_when_opted_in_and_tested(
    stand: GitHubStandIn, index: FakeIndex, tmp_path: Path, tests: bool
) -> None:
    publish(index, "1.2.3", "1.3.0")
    settings = {"automerge": "true"} | ({} if tests else {"tests": "false"})
    repo = add_feedstock(stand, index, tmp_path, "example-pkg-feedstock", settings)
    token = {"Authorization": f"token {GITHUB_TOKEN}"}
    allowed = requests.patch(  # the repository setting register-github turns on
        f"{stand.base_url}/repos/{ORG}/{repo}", json={"allow_auto_merge": True}, headers=token,
        timeout=10,
    )  # fmt: skip
    assert allowed.status_code == 200, allowed.text
    protection = {  # as register-github protects main: the build and test checks required
        "required_status_checks": {"strict": False, "contexts": ["build", "test"]},
        "enforce_admins": None,
        "required_pull_request_reviews": None,
        "restrictions": None,
    }
    protected = requests.put(
        f"{stand.base_url}/repos/{ORG}/{repo}/branches/main/protection",
        json=protection,
        headers=token,
        timeout=10,
    )
    assert protected.status_code == 200, protected.text
    run_versions(ORG, metadata=str(METADATA))
    (pull,) = stand.pulls(ORG, repo)
    if tests:
        assert pull["auto_merge"]["merge_method"] == "squash"
    else:
        assert pull["auto_merge"] is None  # nothing would check the new version


@pytest.mark.parametrize("newer", [True, False], ids=["with-a-new-version", "switch-only"])
def test_upstreams_own_pyodide_wheel_is_proposed(
    stand: GitHubStandIn, index: FakeIndex, tmp_path: Path, newer: bool
) -> None:
    """An sdist feedstock whose upstream publishes a Pyodide wheel for the version it would
    build (and the pinned ABI): the PR takes the wheel as the source (issue 15, PEP 783)."""
    version = "1.3.0" if newer else "1.2.3"
    tag = "cp314-cp314-pyemscripten_2026_0_wasm32"
    meta = f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {version}\n".encode()
    made = wheel("example_pkg", version, tag, {"example_pkg/__init__.py": b"V = 1\n"}, meta)
    other = wheel("example_pkg", version, "cp313-cp313-pyemscripten_2025_0_wasm32", {}, meta)
    releases = [release("1.2.3"), *([release("1.3.0")] if newer else []), made, other]
    index.add_project(NAME, releases, absolute=True)
    repo = add_feedstock(stand, index, tmp_path, "example-pkg-feedstock", {})
    result = run_versions(ORG, metadata=str(METADATA))
    assert states(result) == {repo: VersionState.READY}
    (pull,) = stand.pulls(ORG, repo)
    assert pull["head"]["ref"] == f"pyodide-smithy/version-{version}"
    title = f"example-pkg {version}" + ("" if newer else ": upstream's Pyodide wheel")
    assert pull["title"] == title
    assert f"upstream's wheel `{made['filename']}` as its source" in pull["body"]
    recipe = show(stand, repo, pull["head"]["ref"], "recipe/meta.yaml")
    assert f"{index.base}/files/{made['filename']}" in recipe
    assert f"version: {version}" in recipe
    again = run_versions(ORG, metadata=str(METADATA))
    assert states(again) == {repo: VersionState.PR_OPEN}


def test_a_project_the_index_lacks_is_not_checked(
    stand: GitHubStandIn, index: FakeIndex, tmp_path: Path
) -> None:
    repo = add_feedstock(stand, index, tmp_path, "example-pkg-feedstock", {})
    result = run_versions(ORG, metadata=str(METADATA))  # the index answers 404 for it
    (decision,) = result.decisions
    assert (decision.feedstock, decision.state) == (repo, VersionState.NOT_CHECKED)
    assert decision.reason == "example-pkg is not on the package index"
    assert stand.pulls(ORG, repo) == []


def test_a_source_named_like_the_projects_file_but_not_on_the_index_is_not_followed(
    stand: GitHubStandIn, index: FakeIndex, tmp_path: Path
) -> None:
    """A GitHub archive called ``example_pkg-1.2.3.tar.gz`` is not the index's sdist: its
    sha256 is not among the index's files, so no PR would swap one source for another."""
    repo = add_feedstock(stand, index, tmp_path, "example-pkg-feedstock", {})
    other = release("1.2.3")
    other["body"] = b"not the archive the recipe names"
    index.add_project(NAME, [other, release("1.3.0")], absolute=True)
    result = run_versions(ORG, metadata=str(METADATA))
    (decision,) = result.decisions
    assert decision.state is VersionState.NOT_CHECKED
    assert "is not a file the package index lists" in decision.reason
    assert stand.pulls(ORG, repo) == []
