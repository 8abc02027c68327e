"""Benchmark ``bot versions`` against the figures issue 15 asks for.

    .venv/bin/python benchmarks/bench_versions.py [--feedstocks 300] [--index-latency 0]

Builds an org of ``--feedstocks`` feedstocks from the real recipes in
tests/data/pyodide-recipes.tar.gz in the GitHub stand-in: every recipe whose source is a file of
the package index (an sdist or a wheel on files.pythonhosted.org; 273 of the 332), then, to make
up the number, the others by name (not on the index: the bot asks about those named like an
sdist of their project, and reports the rest not-checked). Each index recipe's source moves to
the package-index stand-in (tests/integration/pypi_server.py), which serves per project a PEP 691
page with the current release's file (the recipe's file name, a small real archive whose sha256
the recipe now holds) and core metadata, plus, for every third project, a newer release (the
version's last component + 1, the same kind of file). Then it runs the real command line, whole
process (``python -m smithy bot versions --json``):

1. the first run: a pull request per newer release; its time (no budget);
2. a no-op re-run: time (budget 30 s), requests to the index (budget 1 per feedstock, and never
   two for one project) and GitHub writes: API requests other than GETs and GraphQL queries,
   and refs changed in the repositories (budget 0).

The stand-in answers without PyGithub's production throttle (PYODIDE_SMITHY_GITHUB_THROTTLE=0).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smithy import console  # noqa: E402
from smithy.errors import RecipeError  # noqa: E402
from smithy.feedstock.init import run_init  # noqa: E402
from smithy.yamlio import load_yaml_file  # noqa: E402
from tests.conftest import METADATA, extract_recipes  # noqa: E402
from tests.integration.github_standin import GitHubStandIn, running_github  # noqa: E402
from tests.integration.pypi_server import (  # noqa: E402
    FakeIndex,
    metadata,
    sdist,
    serve,
    sha256,
    wheel,
)

ORG, LOGIN, TOKEN = "bench-org", "bench-bot", "ghp_bench-token"
XBUILDENV = "314.0.5"
PYPI_FILES = "https://files.pythonhosted.org/"
BUDGET_SECONDS, BUDGET_REQUESTS = 30.0, 1.0


@dataclass(frozen=True)
class Followed:
    """A feedstock whose recipe's source is one of its project's files on the index."""

    repo: str
    project: str
    newer: str | None  # the newer release the index serves, if any


def index_source(meta: Path) -> tuple[str, str, str, list[str]] | None:
    """(url, sha256, version, run requirements) of a recipe built from a file on PyPI."""
    data = load_yaml_file(meta, error=RecipeError)
    source = data.get("source") or {}
    url = str(source.get("url") or "")
    if not url.startswith(PYPI_FILES) or not source.get("sha256"):
        return None
    run = (data.get("requirements") or {}).get("run") or []
    return url, str(source["sha256"]), str(data["package"]["version"]), [str(r) for r in run]


def bumped(version: str) -> str:
    """A release above ``version``: its last release component plus one."""
    *head, last = Version(version).release
    return ".".join(str(n) for n in (*head, last + 1))


def release(filename: str, version: str, requires: list[str], *, newer: bool) -> dict[str, Any]:
    """A small real archive named ``filename`` (wheel or sdist), with its core metadata."""
    headers = [f"Requires-Dist: {r}" for r in requires]
    if newer:  # a release that moves its requirements and names its changelog
        headers += ["Requires-Dist: typing-extensions>=4", "Project-URL: Changelog, https://x.org"]
    if filename.endswith(".whl"):
        dist, _, *tags = filename.removesuffix(".whl").split("-")
        files = {f"{dist.lower()}/__init__.py": f"__version__ = {version!r}\n".encode()}
        made = wheel(dist, version, "-".join(tags[-3:]), files, metadata(dist, version, *headers))
    else:
        dist = filename.removesuffix(".tar.gz").removesuffix(".zip").rpartition("-")[0]
        files = {"PKG-INFO": metadata(dist, version, *headers), "setup.py": b"# setup\n"}
        made = sdist(dist, version, files, zip_=filename.endswith(".zip"))
    return made | {"filename": filename, "metadata": metadata(dist, version, *headers)}


def renamed(filename: str, new: str) -> str:
    """``filename`` for release ``new``: a wheel's second field, an sdist's text after its last
    hyphen."""
    if filename.endswith(".whl"):
        dist, _, *rest = filename.split("-")
        return "-".join([dist, new, *rest])
    ext = ".zip" if filename.endswith(".zip") else ".tar.gz"
    return f"{filename.removesuffix(ext).rpartition('-')[0]}-{new}{ext}"


def project_of(filename: str) -> str:
    if filename.endswith(".whl"):
        return canonicalize_name(parse_wheel_filename(filename)[0])
    return canonicalize_name(parse_sdist_filename(filename)[0])


def publish(index: FakeIndex, recipe: Path, with_newer: bool) -> tuple[str, str | None] | None:
    """Serve ``recipe``'s project on the index and point the recipe's source at it: (project,
    newer release or None); None for a recipe whose source is not on the index."""
    meta = recipe / "meta.yaml"
    found = index_source(meta)
    if found is None:
        return None
    url, sha, version, run = found
    filename = url.rsplit("/", 1)[-1]
    current = release(filename, version, run, newer=False)
    files, newer = [current], bumped(version) if with_newer else None
    if newer is not None:
        files.append(release(renamed(filename, newer), newer, run, newer=True))
    project = project_of(filename)
    index.add_project(project, files, absolute=True)
    text = meta.read_text(encoding="utf-8")
    assert text.count(url) == 1, recipe
    assert text.count(sha) == 1, recipe
    text = text.replace(url, f"{index.base}/files/{filename}")
    meta.write_text(text.replace(sha, sha256(current["body"])), encoding="utf-8")
    return project, newer


def build_org(
    stand: GitHubStandIn, index: FakeIndex, work: Path, count: int
) -> tuple[list[str], list[Followed]]:
    """``count`` feedstocks pinned to XBUILDENV: index recipes first, then the others."""
    recipes = extract_recipes(work / "recipes")
    names = sorted(p.name for p in recipes.iterdir())
    on_index = [n for n in names if index_source(recipes / n / "meta.yaml") is not None]
    chosen = (on_index + [n for n in names if n not in on_index])[:count]
    repos: list[str] = []
    followed: list[Followed] = []
    for name in chosen:
        published = publish(index, recipes / name, with_newer=len(followed) % 3 == 0)
        result = run_init(
            str(recipes / name),
            output=work / "feedstocks" / f"{name}-feedstock",
            xbuildenv=XBUILDENV,
            metadata=str(METADATA),
            from_source=True,  # the stand-in has no Pyodide wheels: keep init off the index
        )
        repo = result.feedstock.name
        bare = stand.create_repo(ORG, repo)
        subprocess.run(
            ["git", "push", "-q", "--force", str(bare), "HEAD:refs/heads/main"],
            cwd=result.feedstock,
            check=True,
        )
        repos.append(repo)
        if published is not None:
            followed.append(Followed(repo, *published))
    return repos, followed


def versions(stand: GitHubStandIn, index: FakeIndex, cache: Path) -> tuple[float, dict[str, Any]]:
    """``bot versions --json`` as a whole process; its time and report."""
    env = os.environ | {
        "PYODIDE_SMITHY_GITHUB_API_URL": stand.base_url,
        "PYODIDE_SMITHY_GITHUB_THROTTLE": "0",
        "PYODIDE_SMITHY_INDEX_URL": f"{index.base}/simple/",
        "PYODIDE_SMITHY_CACHE_DIR": str(cache),
        "GITHUB_TOKEN": TOKEN,
    }
    command = [sys.executable, "-m", "smithy", "bot", "versions", "--org", ORG]
    command += ["--xbuildenv-metadata", str(METADATA), "--json"]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1) or not done.stdout.strip():
        sys.exit(f"bot versions failed ({done.returncode}): {done.stderr or done.stdout}")
    report: dict[str, Any] = json.loads(done.stdout)
    for action in report["actions"]:
        if action["action"] == "failed":
            print(f"  failed: {action['feedstock']}: {action['detail']}")
    return elapsed, report


def refs(stand: GitHubStandIn, repos: list[str]) -> dict[str, str]:
    """Every repository's refs and their commits: what a push would change."""
    root = stand.git_root / ORG
    command = ["git", "for-each-ref"]
    return {
        repo: subprocess.run(
            command, cwd=root / f"{repo}.git", capture_output=True, text=True, check=True
        ).stdout
        for repo in repos
    }


def writes(stand: GitHubStandIn) -> int:
    """API requests that change something: all but GETs and GraphQL queries."""
    return sum(n for k, n in stand.endpoints.items() if not k.startswith(("GET ", "POST /graphql")))


def summary(report: dict[str, Any]) -> str:
    tally = Counter(d["state"] for d in report["decisions"])
    return ", ".join(f"{n} {state}" for state, n in sorted(tally.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feedstocks", type=int, default=300)
    parser.add_argument(
        "--index-latency", type=float, default=0.0, help="seconds each index page waits"
    )
    options = parser.parse_args()
    console.set_quiet(True)
    with (
        tempfile.TemporaryDirectory(prefix="smithy-bench-versions-") as tmp,
        running_github() as stand,
        serve(FakeIndex(delay=options.index_latency)) as index,
    ):
        stand.add_org(ORG)
        stand.add_user(LOGIN, TOKEN)
        start = time.perf_counter()
        repos, followed = build_org(stand, index, Path(tmp), options.feedstocks)
        n, checked = len(repos), len(followed)
        newer = sum(1 for f in followed if f.newer)
        print(
            f"org of {n} feedstocks from real recipes ({checked} from a file of the index, "
            f"{newer} with a newer release) built in {time.perf_counter() - start:.1f} s"
        )
        cache = Path(tmp) / "cache"

        index.hits.clear()
        first, report = versions(stand, index, cache)
        opened = sum(1 for a in report["actions"] if a["action"] == "opened")
        pages = sum(1 for h in index.hits if h.path.startswith("/simple/"))
        print(
            f"first run: {opened}/{newer} PRs opened in {first:.1f} s "
            f"({first / max(opened, 1):.2f} s per PR); index: {len(index.hits)} requests "
            f"({pages} pages, the rest metadata and sources for the PRs' text)"
        )
        print(f"  {summary(report)}")

        stand.endpoints.clear()
        index.hits.clear()
        before = refs(stand, repos)
        noop, again = versions(stand, index, cache)
        requests = len(index.hits)
        statuses = Counter(h.status for h in index.hits)
        most = max(Counter(h.path for h in index.hits).values(), default=0)
        written = writes(stand) + sum(
            1 for r, text in refs(stand, repos).items() if text != before[r]
        )
        print(
            f"no-op run: {noop:.2f} s (budget {BUDGET_SECONDS:.0f} s); {requests} index requests "
            f"= {requests / n:.2f} per feedstock (budget {BUDGET_REQUESTS:.0f}), at most {most} "
            "for one project ("
            + ", ".join(f"{k} HTTP {s}" for s, k in sorted(statuses.items()))
            + f"); {written} GitHub writes (budget 0)"
        )
        print(f"  {summary(again)}; the report's index_requests: {again['index_requests']}")
        print(
            "  GitHub by endpoint: "
            + ", ".join(f"{k} {v}" for k, v in sorted(stand.endpoints.items()))
        )
        pr_open = sum(1 for d in again["decisions"] if d["state"] == "pr-open")
    ok = (
        opened == newer
        and pr_open == newer
        and noop <= BUDGET_SECONDS
        and requests <= BUDGET_REQUESTS * n
        and most <= 1
        and written == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
