"""Benchmark ``pyodide-smithy test`` against the figure issue 5 asks for.

    .venv/bin/python benchmarks/bench_test.py [--runs 3]

A small pure-Python feedstock (a wheel with one dependency from a local channel, and two
recipe test files using run_in_pyodide), the runtime and the runner environment already
cached (one warm-up run fills them): whole-process wall time of ``pyodide-smithy test``.
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

from smithy import console  # noqa: E402
from smithy.channel.local import LocalChannel  # noqa: E402
from smithy.channel.upload import Origin, run_upload  # noqa: E402
from smithy.feedstock.init import run_init  # noqa: E402
from tests.conftest import METADATA  # noqa: E402
from tests.helpers import write_recipe  # noqa: E402
from tests.wheels import make_wheel  # noqa: E402

COMMAND = str(Path(sys.executable).parent / "pyodide-smithy")
RECIPE = """\
package:
  name: small-pkg
  version: 1.0.0
  top-level:
    - small_pkg
source:
  url: https://files.example/small_pkg-1.0.0-py3-none-any.whl
  sha256: {sha}
requirements:
  run:
    - helper-pkg
about:
  summary: A small package
""".format(sha="ab" * 32)
TEST = """
from pytest_pyodide import run_in_pyodide


@run_in_pyodide(packages=["small-pkg"])
def test_{n}(selenium):
    import small_pkg

    assert small_pkg.VERSION == "1.0.0"
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    console.set_quiet(True)
    work = Path(tempfile.mkdtemp(prefix="smithy-bench-test-"))
    os.environ["PYODIDE_CROSS_BUILD_ENV_METADATA_URL"] = str(METADATA)
    recipe = write_recipe(work / "src" / "small-pkg", RECIPE)
    for n in (1, 2):
        (recipe / f"test_{n}.py").write_text(TEST.format(n=n))
    feedstock = run_init(str(recipe), output=work / "small-pkg-feedstock").feedstock
    make_wheel(feedstock / "dist", "small-pkg", "1.0.0", requires=("helper-pkg",))
    helper = make_wheel(work / "uploads", "helper-pkg", "0.5")
    channel = work / "channel"
    run_upload([helper], LocalChannel(channel), label="main", xbuildenv=None, origin=Origin())
    env = {
        **os.environ,
        "PYODIDE_SMITHY_RUNTIME_DIR": os.environ.get(
            "PYODIDE_SMITHY_RUNTIME_DIR", str(ROOT / ".cache" / "pyodide-runtime")
        ),
        "PYODIDE_SMITHY_TEST_RUNNER_DIR": str(ROOT / ".cache" / "test-runner"),
    }
    args = [COMMAND, "test", str(feedstock), "--dist", str(feedstock / "dist")]
    args += ["--channel", str(channel)]
    times = []
    for _ in range(options.runs + 1):
        start = time.perf_counter()
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            print(done.stdout, done.stderr)
            return 1
    median = statistics.median(times[1:])
    print(f"test of a small pure-Python feedstock (2 test files), cached: {median:.2f} s (<= 15 s)")
    return 0 if median <= 15 else 1


if __name__ == "__main__":
    sys.exit(main())
