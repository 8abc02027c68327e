"""Benchmark the feedstock commands against the figures issue 2 asks for.

    .venv/bin/python benchmarks/bench_feedstock.py [--runs 15] [--json]

Whole-process wall times of the installed ``pyodide-smithy`` command (median of ``--runs``
after one warm-up run, with smithy's bytecode compiled as pip does for an installed wheel),
and the 332 real recipes turned into feedstocks with ``run_init`` in a pool of as many
processes as the machine has cores. Offline: the xbuildenv metadata and the recipes are the
copies in tests/data (tests/data/README.md), and the package index ``init`` asks for upstream's
Pyodide wheels is the stand-in on 127.0.0.1 (numpy's page: its sdist, no Pyodide wheel), so
the figure is pyodide-smithy's own cost, not a far index's latency.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import METADATA, extract_recipes  # noqa: E402
from tests.integration.pypi_server import FakeIndex, sdist, serve  # noqa: E402

COMMAND = str(Path(sys.executable).parent / "pyodide-smithy")
BUDGETS = {"--help": 0.15, "init": 0.5, "rerender (no-op)": 0.3, "332 recipes": 30.0}


def timed(args: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


FASTEST: dict[str, float] = {}


def median_of(runs: int, make_args: Callable[[int], list[str]], env: dict[str, str]) -> float:
    times = []
    for i in range(runs + 1):
        elapsed = timed(make_args(i), env)
        if i:  # the first run warms the page cache and the template bytecode cache
            times.append(elapsed)
    FASTEST[" ".join(make_args(0)[1:3])] = min(times)
    return statistics.median(times)


def _init_one(job: tuple[str, str]) -> str:
    from smithy import console
    from smithy.feedstock.init import run_init
    from smithy.feedstock.rerender import run_rerender

    console.set_quiet(True)
    recipe, output = job
    result = run_init(recipe, output=Path(output))
    if not run_rerender(result.feedstock, check=True).up_to_date:
        raise RuntimeError(f"{recipe}: rerender after init is not a no-op")
    return result.recipe.name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="smithy-bench-"))
    index = ExitStack()
    fake = index.enter_context(serve(FakeIndex()))
    sdist_file = sdist("numpy", "2.2.5", {"PKG-INFO": b"Name: numpy\n"})
    fake.add_project("numpy", [sdist_file])
    env = {
        **os.environ,
        "PYODIDE_SMITHY_INDEX_URL": f"{fake.base}/simple/",
        "PYODIDE_CROSS_BUILD_ENV_METADATA_URL": str(METADATA),
        "PYODIDE_SMITHY_CACHE_DIR": str(work / "cache"),
        "GIT_CONFIG_GLOBAL": str(work / "gitconfig"),
    }
    (work / "gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@example.invalid\n")
    os.environ.update(env)
    # An installed wheel has its bytecode compiled by pip; an editable checkout under
    # PYTHONDONTWRITEBYTECODE=1 (as on these machines) would recompile smithy on every run.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "smithy")], check=True)
    try:
        recipes = extract_recipes(work / "recipes")
        results: dict[str, float] = {}
        numpy = str(recipes / "numpy")
        results["--help"] = median_of(options.runs, lambda _: [COMMAND, "--help"], env)
        results["--version"] = median_of(options.runs, lambda _: [COMMAND, "--version"], env)
        results["init"] = median_of(
            options.runs,
            lambda i: [COMMAND, "-q", "init", numpy, "-o", str(work / f"init-{i}")],
            env,
        )
        results["rerender (no-op)"] = median_of(
            options.runs, lambda _: [COMMAND, "-q", "rerender", str(work / "init-0")], env
        )
        jobs = [(str(p), str(work / "all" / p.name)) for p in sorted(recipes.iterdir())]
        start = time.perf_counter()
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            done = list(pool.map(_init_one, jobs, chunksize=8))
        results["332 recipes"] = time.perf_counter() - start
        assert len(done) == 332, len(done)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        index.close()

    if options.json:
        print(
            json.dumps({"seconds": results, "budgets": BUDGETS, "cores": os.cpu_count()}, indent=2)
        )
    else:
        print(f"{'measure':<20} {'median':>8} {'budget':>8}")
        for name, seconds in results.items():
            budget = BUDGETS.get(name)
            verdict = "" if budget is None else ("ok" if seconds <= budget else "OVER")
            shown = "" if budget is None else f"{budget:.2f}"
            print(f"{name:<20} {seconds:8.3f} {shown:>8} {verdict}")
        fastest = ", ".join(f"{k}: {v:.3f}" for k, v in FASTEST.items())
        print(f"(fastest runs: {fastest}; this machine's timings vary by ±30 % minute to minute)")
        print(f"(median of {options.runs} runs after a warm-up; {os.cpu_count()} cores)")
    over = [n for n, b in BUDGETS.items() if results[n] > b]
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
