"""Benchmark the bot against the figures issue 6 asks for.

    .venv/bin/python benchmarks/bench_bot.py [--feedstocks 300]

Builds an org of ``--feedstocks`` feedstocks from the real recipes in
tests/data/pyodide-recipes.tar.gz (sorted by name, pinned to xbuildenv 314.0.4) in the
GitHub stand-in on 127.0.0.1, then runs the real command line, whole process:

1. ``bot run`` migrating every feedstock to 314.0.5 (non-ABI): time until every PR is open,
   and per feedstock;
2. every PR merged, as maintainers would, then a no-op ``bot run``: time and GitHub API
   requests per feedstock.

The stand-in answers without PyGithub's production throttle (PYODIDE_SMITHY_GITHUB_THROTTLE=0).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smithy import console  # noqa: E402
from smithy.feedstock.init import run_init  # noqa: E402
from tests.conftest import METADATA, extract_recipes  # noqa: E402
from tests.integration.github_standin import GitHubStandIn, running_github  # noqa: E402

ORG, LOGIN, TOKEN = "bench-org", "bench-bot", "ghp_bench-token"
FROM, TO = "314.0.4", "314.0.5"


def build_org(stand: GitHubStandIn, work: Path, count: int) -> list[str]:
    """``count`` real recipes as feedstocks pinned to FROM, pushed into the stand-in."""
    recipes = extract_recipes(work / "recipes")
    names = sorted(p.name for p in recipes.iterdir())[:count]
    repos = []
    for name in names:
        result = run_init(
            str(recipes / name),
            output=work / "feedstocks" / f"{name}-feedstock",
            xbuildenv=FROM,
            metadata=str(METADATA),
        )
        repo = result.feedstock.name
        bare = stand.create_repo(ORG, repo)
        subprocess.run(
            ["git", "push", "-q", "--force", str(bare), "HEAD:refs/heads/main"],
            cwd=result.feedstock,
            check=True,
        )
        repos.append(repo)
    return repos


def bot(stand: GitHubStandIn, *args: str) -> tuple[float, str]:
    env = os.environ | {
        "PYODIDE_SMITHY_GITHUB_API_URL": stand.base_url,
        "PYODIDE_SMITHY_GITHUB_THROTTLE": "0",
        "GITHUB_TOKEN": TOKEN,
    }
    command = [str(Path(sys.executable).parent / "pyodide-smithy"), "bot", "run", "--org", ORG]
    command += ["--xbuildenv-metadata", str(METADATA), *args]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"bot run failed ({done.returncode}): {done.stderr or done.stdout}")
    return elapsed, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feedstocks", type=int, default=300)
    options = parser.parse_args()
    console.set_quiet(True)
    with tempfile.TemporaryDirectory(prefix="smithy-bench-bot-") as tmp, running_github() as stand:
        stand.add_org(ORG)
        stand.add_user(LOGIN, TOKEN)
        start = time.perf_counter()
        repos = build_org(stand, Path(tmp), options.feedstocks)
        n = len(repos)
        print(
            f"org of {n} feedstocks from real recipes built in {time.perf_counter() - start:.1f} s"
        )

        migration, out = bot(stand, "--xbuildenv", TO)
        opened = sum(1 for r in repos for p in stand.pulls(ORG, r) if p["state"] == "open")
        print(
            f"migration {FROM} -> {TO}: {opened}/{n} PRs open in {migration:.1f} s "
            f"({migration / n * 1000:.0f} ms per feedstock; budget 300 s)"
        )
        for repo in repos:
            for pull in stand.pulls(ORG, repo):
                stand.merge(ORG, repo, pull["number"])

        stand.endpoints.clear()
        noop, out = bot(stand, "--xbuildenv", TO)
        requests = sum(stand.endpoints.values())
        up_to_date = out.count("\tup-to-date\t")
        print(
            f"no-op run over {up_to_date} up-to-date feedstocks: {noop:.2f} s (budget 60 s), "
            f"{requests} API requests = {requests / n:.3f} per feedstock (budget 2)"
        )
        print("  by endpoint: " + ", ".join(f"{k} {v}" for k, v in sorted(stand.endpoints.items())))
    ok = opened == n and migration <= 300 and noop <= 60 and requests <= 2 * n and up_to_date == n
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
