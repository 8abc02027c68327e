"""Benchmark ``bot import`` against the figure issue 16 asks for.

    .venv/bin/python benchmarks/bench_import.py [--jobs 4] [--budget 120]

Imports the 332 real recipes of tests/data/pyodide-recipes.tar.gz into an empty org of the
GitHub stand-in on 127.0.0.1 with the real command line, whole process (start-up included):
every recipe ``init`` then ``register-github`` (repository, push, protection, auto-merge, the
upload secret). Then the same command again, which must find every feedstock in place
(exists-matches) and write nothing. Exits 1 over the budget or when a recipe was not imported.

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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import METADATA, extract_recipes  # noqa: E402
from tests.integration.github_standin import GitHubStandIn, running_github  # noqa: E402

ORG, LOGIN, TOKEN = "bench-org", "bench-bot", "ghp_bench-token"
UPLOAD = "bench-anaconda-token"


def bot_import(stand: GitHubStandIn, recipes: Path, jobs: int) -> tuple[float, dict[str, Any]]:
    """One whole ``pyodide-smithy bot import`` process: its wall time and JSON report."""
    env = os.environ | {
        "PYODIDE_SMITHY_GITHUB_API_URL": stand.base_url,
        "PYODIDE_SMITHY_GITHUB_THROTTLE": "0",
        "GITHUB_TOKEN": TOKEN,
        "ANACONDA_API_TOKEN": UPLOAD,
        "PYODIDE_CROSS_BUILD_ENV_METADATA_URL": str(METADATA),
    }
    command = [str(Path(sys.executable).parent / "pyodide-smithy"), "bot", "import", str(recipes)]
    command += ["--org", ORG, "--jobs", str(jobs), "--json"]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        sys.exit(f"bot import failed ({done.returncode}): {done.stderr or done.stdout}")
    return elapsed, report


def writes(stand: GitHubStandIn) -> int:
    """API requests that change something (GraphQL queries are reads)."""
    with stand.lock:
        return sum(1 for method, path in stand.requests if method != "GET" and path != "/graphql")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--budget", type=float, default=120.0, help="seconds, whole process")
    options = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="smithy-bench-import-") as tmp,
        running_github() as stand,
    ):
        stand.add_org(ORG)
        stand.add_user(LOGIN, TOKEN)
        recipes = extract_recipes(Path(tmp) / "recipes")
        n = sum(1 for p in recipes.iterdir() if (p / "meta.yaml").is_file())

        first, report = bot_import(stand, recipes, options.jobs)
        totals = report["totals"]
        repos = len(stand.store.orgs[ORG].repos)
        secrets = sum(1 for r in stand.store.orgs[ORG].repos.values() if r.secrets)
        print(
            f"bot import of {n} real recipes, --jobs {options.jobs}: {first:.1f} s whole process "
            f"(budget {options.budget:.0f} s), {first / n * 1000:.0f} ms per recipe"
        )
        print(f"  totals {totals}; {repos} repositories, {secrets} with the upload secret")
        failed = [f"{r['recipe']}: {r['reason']}" for r in report["recipes"] if r["reason"]]
        for line in failed[:10]:
            print(f"  {line}")
        by = sorted(stand.endpoints.items(), key=lambda kv: -kv[1])
        print("  by endpoint: " + ", ".join(f"{k} {v}" for k, v in by))

        before = writes(stand)
        stand.endpoints.clear()
        again, rerun = bot_import(stand, recipes, options.jobs)
        written = writes(stand) - before
        requests = sum(stand.endpoints.values())
        print(
            f"re-run: {again:.1f} s, {rerun['totals']['exists-matches']}/{n} exists-matches, "
            f"{written} writes, {requests} API requests"
        )
    ok = totals["created"] == n == repos and first <= options.budget
    ok = ok and rerun["totals"]["exists-matches"] == n and written == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
