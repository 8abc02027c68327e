"""Benchmark ``bot status`` against the figures issue 7 asks for.

    .venv/bin/python benchmarks/bench_status.py [--feedstocks 300] [--runs 5]

Builds the org of bench_bot.py (real recipes, pinned to 314.0.4) in the GitHub stand-in,
starts an ABI migration to 315.0.0a2 with an empty channel (PRs open for the feedstocks with
no dependency in the org, the others wait), then times the command line
``bot status --html DIR`` (whole process) and the page's load in Debian's chromium (headless,
through Playwright: navigation start to the load event, median of ``--runs``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_bot import LOGIN, ORG, TOKEN, build_org  # noqa: E402
from smithy import console  # noqa: E402
from tests.conftest import METADATA  # noqa: E402
from tests.integration.github_standin import GitHubStandIn, running_github  # noqa: E402

TARGET = "315.0.0a2"


def command(stand: GitHubStandIn, *args: str) -> float:
    env = os.environ | {
        "PYODIDE_SMITHY_GITHUB_API_URL": stand.base_url,
        "PYODIDE_SMITHY_GITHUB_THROTTLE": "0",
        "GITHUB_TOKEN": TOKEN,
    }
    line = [str(Path(sys.executable).parent / "pyodide-smithy"), "bot", *args, "--org", ORG]
    line += ["--xbuildenv-metadata", str(METADATA), "--xbuildenv", TARGET]
    start = time.perf_counter()
    done = subprocess.run(line, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"bot {args[0]} failed ({done.returncode}): {done.stderr}")
    return time.perf_counter() - start


def load_times(index: Path, runs: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for _ in range(runs):
            page = browser.new_page()
            page.goto(index.as_uri(), wait_until="load")
            timing = page.evaluate(
                "() => { const [n] = performance.getEntriesByType('navigation');"
                " return n.loadEventEnd - n.startTime; }"
            )
            out.append(float(timing) / 1000)
            page.close()
        browser.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feedstocks", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    console.set_quiet(True)
    with (
        tempfile.TemporaryDirectory(prefix="smithy-bench-status-") as tmp,
        running_github() as stand,
    ):
        stand.add_org(ORG)
        stand.add_user(LOGIN, TOKEN)
        work = Path(tmp)
        n = len(build_org(stand, work, options.feedstocks))
        channel = work / "channel"
        channel.mkdir()
        command(stand, "run", "--channel", str(channel))
        site = work / "site"
        times = [
            command(stand, "status", "--channel", str(channel), "--html", str(site))
            for _ in range(options.runs)
        ]
        size = (site / "index.html").stat().st_size
        loads = load_times(site / "index.html", options.runs)
    status, load = statistics.median(times), statistics.median(loads)
    print(f"bot status --html over {n} feedstocks: median {status:.2f} s of {options.runs} "
          f"(budget 30 s); page {size / 1024:.0f} KiB")  # fmt: skip
    print(f"page load in headless chromium: median {load:.3f} s, max {max(loads):.3f} s "
          "(budget 1 s)")  # fmt: skip
    return 0 if status <= 30 and load <= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
