"""Benchmark ``bot status`` at 300 feedstocks mid ABI migration (issues 7 and 16).

    .venv/bin/python benchmarks/bench_status.py [--feedstocks 300] [--runs 5]

Builds the org of bench_bot.py (the first real recipes by name, pinned to 314.0.4) in the
GitHub stand-in, those whose source is a file on PyPI served by the package-index stand-in (one
in five with a newer release, as in the test's scenario), then brings it mid migration to the
new ABI of 315.0.0a2 as tests/integration/test_bot_status.py's scenario does, but for real:
the published feedstocks pinned to 315.0.0a2 on main with their wheels on the channel, the
merged ones pinned without wheels, one ``bot run`` opening a PR for every feedstock whose
dependencies published, then PRs closed, CI set, and a run report naming the failed ones.
It times the command line ``bot status --html DIR`` (whole process, versions from the index
stand-in), compares its blockers with the scenario's, and times the page's load in Debian's
chromium (headless, through Playwright: navigation start to the load event, median of
``--runs``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_bot import LOGIN, ORG, TOKEN  # noqa: E402
from benchmarks.bench_versions import publish  # noqa: E402
from smithy import console  # noqa: E402
from smithy.bot.github_view import parse_feedstock  # noqa: E402
from smithy.bot.plan import Graph  # noqa: E402
from smithy.feedstock.init import run_init  # noqa: E402
from tests.conftest import METADATA, extract_recipes  # noqa: E402
from tests.integration.github_standin import GitHubStandIn, running_github  # noqa: E402
from tests.integration.pypi_server import FakeIndex, serve  # noqa: E402
from tests.integration.test_bot_status import (  # noqa: E402
    behind_upstream,
    mid_migration,
    scenario_report,
)

TARGET, ABI_TAG = "315.0.0a2", "cp315-cp315-pyemscripten_2026_5_wasm32"
BUDGET_STATUS, BUDGET_LOAD = 30.0, 1.0
CHECKS = {"open": "SUCCESS", "ci-failure": "FAILURE", "failed": "SUCCESS"}


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def build_org(stand: GitHubStandIn, index: FakeIndex, work: Path, count: int) -> dict[str, Path]:
    """``count`` real recipes as feedstocks pinned to 314.0.4: repository -> its checkout."""
    recipes = extract_recipes(work / "recipes")
    out = {}
    for name in sorted(p.name for p in recipes.iterdir())[:count]:
        publish(index, recipes / name, with_newer=behind_upstream(f"{name}-feedstock"))
        output = work / "feedstocks" / f"{name}-feedstock"
        made = run_init(str(recipes / name), output=output, xbuildenv="314.0.4",
                        metadata=str(METADATA), from_source=True)  # fmt: skip
        folder = made.feedstock
        bare = stand.create_repo(ORG, folder.name)
        git(folder, "push", "-q", "--force", str(bare), "HEAD:refs/heads/main")
        out[folder.name] = folder
    return out


def stages_of(repos: dict[str, Path]) -> dict[str, str]:
    """The scenario's stages over the dependency graph of the feedstocks as pushed."""
    stocks = [
        parse_feedstock(
            name,
            (folder / "pyodide-smithy.yml").read_text(),
            (folder / "recipe" / "meta.yaml").read_text(),
        )
        for name, folder in repos.items()
    ]
    return mid_migration(Graph.of(stocks))


def pin_and_publish(
    stand: GitHubStandIn, repos: dict[str, Path], stages: dict[str, str], channel: Path
) -> None:
    """Published and merged feedstocks pinned to TARGET on main; wheels for the published."""
    from smithy.channel.local import LocalChannel
    from smithy.channel.model import Provenance
    from smithy.channel.wheel import read_wheel
    from smithy.errors import RecipeError
    from smithy.yamlio import load_yaml_file
    from tests.wheels import make_wheel

    store = LocalChannel(channel)
    for name, stage in stages.items():
        if stage not in ("published", "merged"):
            continue
        folder = repos[name]
        config = folder / "pyodide-smithy.yml"
        pinned = re.sub(r"(?m)^xbuildenv: .*$", f'xbuildenv: "{TARGET}"', config.read_text())
        config.write_text(pinned)
        git(folder, "-c", "user.name=m", "-c", "user.email=m@m", "commit", "-qam", "merged")
        git(folder, "push", "-q", str(stand.git_root / ORG / f"{name}.git"), "HEAD:refs/heads/main")
        if stage == "published":
            package = load_yaml_file(folder / "recipe" / "meta.yaml", error=RecipeError)["package"]
            dist = re.sub(r"[-_.]+", "_", str(package["name"])).lower()
            made = make_wheel(channel.parent / "wheels", dist, "1.0", tag=ABI_TAG,
                              meta_name=str(package["name"]))  # fmt: skip
            wheel = read_wheel(made)
            store.put(wheel, labels=("main",), provenance=Provenance(sha256=wheel.sha256))


def settle_pulls(stand: GitHubStandIn, stages: dict[str, str], report: Path) -> None:
    """PRs closed unmerged, CI reported, and a bot run report naming the failed feedstocks."""
    failed = []
    for name, stage in stages.items():
        pulls = stand.pulls(ORG, name)
        if stage not in ("open", "ci-pending", "ci-failure", "closed", "failed") or not pulls:
            continue
        number = int(pulls[0]["number"])
        if stage == "closed":
            stand.close(ORG, name, number)
        elif stage in CHECKS:
            stand.set_checks(ORG, name, number, CHECKS[stage])
        if stage == "failed":
            why = "the bot failed: rerender: the recipe's patch does not apply"
            failed.append({"feedstock": name, "state": "failed", "reason": why})
    run_url = f"https://github.com/{ORG}/pyodide-smithy-admin/actions/runs/41"
    report.write_text(json.dumps({"org": ORG, "run_url": run_url, "decisions": failed}))


def bot(stand: GitHubStandIn, index: FakeIndex, *args: str) -> tuple[float, str]:
    """``bot ARGS --org ORG`` as a whole process: its time and output."""
    env = os.environ | {
        "PYODIDE_SMITHY_GITHUB_API_URL": stand.base_url,
        "PYODIDE_SMITHY_GITHUB_THROTTLE": "0",
        "PYODIDE_SMITHY_INDEX_URL": f"{index.base}/simple/",
        "GITHUB_TOKEN": TOKEN,
    }
    line = [str(Path(sys.executable).parent / "pyodide-smithy"), "bot", *args, "--org", ORG]
    line += ["--xbuildenv-metadata", str(METADATA), "--xbuildenv", TARGET]
    start = time.perf_counter()
    done = subprocess.run(line, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"bot {args[0]} failed ({done.returncode}): {done.stderr}")
    return time.perf_counter() - start, done.stdout


def load_times(index: Path, runs: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(index.as_uri(), wait_until="load")
            timing = page.evaluate(
                "() => { const [n] = performance.getEntriesByType('navigation');"
                " return n.loadEventEnd - n.startTime; }"
            )
            out.append(float(timing) / 1000)
            page.close()
        browser.close()
    return out


def blockers(report: dict[str, Any]) -> list[tuple[str, int, str]]:
    (migration,) = report["migrations"]
    return [(b["name"], b["holds_back"], b["state"]) for b in migration["blockers"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feedstocks", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    console.set_quiet(True)
    with (
        tempfile.TemporaryDirectory(prefix="smithy-bench-status-") as tmp,
        running_github() as stand,
        serve(FakeIndex()) as index,
    ):
        stand.add_org(ORG)
        stand.add_user(LOGIN, TOKEN)
        work = Path(tmp)
        start = time.perf_counter()
        repos = build_org(stand, index, work, options.feedstocks)
        stages = stages_of(repos)
        channel = work / "channel"
        channel.mkdir()
        pin_and_publish(stand, repos, stages, channel)
        migration, _ = bot(stand, index, "run", "--channel", str(channel))
        report = work / "run.json"
        settle_pulls(stand, stages, report)
        print(f"org of {len(repos)} feedstocks mid ABI migration to {TARGET} made in "
              f"{time.perf_counter() - start:.0f} s (the bot run opening its PRs: "
              f"{migration:.0f} s)")  # fmt: skip

        site = work / "site"
        args = ["status", "--channel", str(channel), "--run-report", str(report)]
        times = [bot(stand, index, *args, "--html", str(site))[0] for _ in range(options.runs)]
        as_json = json.loads(bot(stand, index, *args, "--json")[1])
        size = (site / "index.html").stat().st_size
        loads = load_times(site / "index.html", options.runs)
        made = blockers(as_json)
        scenario = blockers(scenario_report(work / "recipes" / "pyodide-recipes").to_json())
    (migration_json,) = as_json["migrations"]
    status, load = statistics.median(times), statistics.median(loads)
    counts = ", ".join(f"{n} {s}" for s, n in migration_json["counts"].items() if n)
    print(f"  {counts}; {len(migration_json['blockers'])} blockers; "
          f"{len(as_json['versions']['behind'] or [])} behind upstream")  # fmt: skip
    print("  biggest blockers: " + ", ".join(f"{name} {n} ({s})" for name, n, s in made[:5]))
    same = "the same as" if made == scenario else "NOT the same as"
    print(f"  blockers (all {len(made)}, ranked, with counts and states) {same} the test "
          "scenario's (in-process, from the recipes)")  # fmt: skip
    print(f"bot status --html over {len(repos)} feedstocks: median {status:.2f} s of "
          f"{options.runs} (budget {BUDGET_STATUS:.0f} s); page {size / 1024:.0f} KiB")  # fmt: skip
    print(f"page load in headless chromium: median {load:.3f} s, max {max(loads):.3f} s "
          f"(budget {BUDGET_LOAD:.0f} s)")  # fmt: skip
    return 0 if status <= BUDGET_STATUS and load <= BUDGET_LOAD and made == scenario else 1


if __name__ == "__main__":
    sys.exit(main())
