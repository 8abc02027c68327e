"""Benchmark ``lock`` against the figure issue 4 asks for.

    .venv/bin/python benchmarks/bench_lock.py [--packages 300] [--runs 5]

Fills a local channel with ``--packages`` synthetic wheels (each depending on up to two
others, some with markers and extras, some with two versions), then times the whole
``pyodide-smithy lock`` process that resolves all of them (median of ``--runs``).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smithy import console  # noqa: E402
from smithy.channel.local import LocalChannel  # noqa: E402
from smithy.channel.upload import Origin, run_upload  # noqa: E402
from tests.conftest import METADATA  # noqa: E402
from tests.wheels import make_wheel  # noqa: E402

COMMAND = str(Path(sys.executable).parent / "pyodide-smithy")


def fill(channel: Path, work: Path, count: int) -> list[str]:
    rng = random.Random(4)
    wheels = []
    for i in range(count):
        deps = [f"pkg{j}>=1" for j in rng.sample(range(i + 1, count), min(2, count - i - 1))]
        if i % 7 == 0 and i + 3 < count:
            deps.append(f"pkg{i + 3}; sys_platform == 'emscripten'")
            deps.append(f"not-there{i}; sys_platform == 'win32'")
        if i % 11 == 0 and i + 5 < count:
            deps.append(f"pkg{i + 5}; extra == 'fast'")
        wheels.append(make_wheel(work, f"pkg{i}", "1.0", requires=tuple(deps)))
        if i % 10 == 0:
            wheels.append(make_wheel(work, f"pkg{i}", "1.1", requires=tuple(deps)))
    run_upload(wheels, LocalChannel(channel), label="main", xbuildenv=None, origin=Origin())
    return [f"pkg{i}" for i in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    console.set_quiet(True)
    work = Path(tempfile.mkdtemp(prefix="smithy-bench-lock-"))
    names = fill(work / "channel", work / "dist", options.packages)
    env = {**os.environ, "PYODIDE_SMITHY_CACHE_DIR": str(work / "cache")}
    args = [COMMAND, "-q", "lock", *names, "--channel", str(work / "channel")]
    args += ["--xbuildenv-metadata", str(METADATA), "-o", str(work / "pyodide-lock.json")]
    times = []
    for _ in range(options.runs + 1):
        start = time.perf_counter()
        subprocess.run(args, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    median = statistics.median(times[1:])
    print(
        f"lock of {options.packages} packages from a local channel: {median:.3f} s (budget <= 2 s)"
    )
    return 0 if median <= 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
