"""Benchmark uploads against the figures issue 3 asks for.

    .venv/bin/python benchmarks/bench_channel.py [--wheels 200] [--latency 0.02] [--jobs 8]

Uploads ``--wheels`` small wheels (4 versions per package) to the Anaconda.org emulator, which
adds ``--latency`` seconds to every request: once one by one (``--jobs 1``), once in parallel,
each into a fresh owner. Then re-runs the parallel upload and counts the requests that ask
"is it already there". Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smithy import console  # noqa: E402
from smithy.channel.anaconda import AnacondaChannel  # noqa: E402
from smithy.channel.upload import Origin, run_upload  # noqa: E402
from tests.integration.anaconda_emulator import running_emulator  # noqa: E402
from tests.wheels import make_wheel  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--jobs", type=int, default=8)
    options = parser.parse_args()
    console.set_quiet(True)
    work = Path(tempfile.mkdtemp(prefix="smithy-bench-channel-"))
    wheels = [make_wheel(work, f"pkg{i // 4}", f"1.{i % 4}") for i in range(options.wheels)]
    packages = len({w.name.split("-")[0] for w in wheels})
    with running_emulator() as emu:
        times = {}
        for owner, jobs in (("serial", 1), ("parallel", options.jobs)):
            emu.add_owner(owner, f"token-{owner}")
            channel = AnacondaChannel(
                owner, api_url=emu.api_url, index_url=emu.index_url, token=f"token-{owner}"
            )
            emu.faults.latency = options.latency
            start = time.perf_counter()
            run_upload(wheels, channel, label="staging", xbuildenv=None, origin=Origin(), jobs=jobs)
            times[owner] = time.perf_counter() - start
            assert len(emu.files(owner)) == options.wheels
        emu.requests.clear()
        channel = AnacondaChannel(
            "parallel", api_url=emu.api_url, index_url=emu.index_url, token="token-parallel"
        )
        run_upload(
            wheels, channel, label="staging", xbuildenv=None, origin=Origin(), jobs=options.jobs
        )
        listings = emu.count("GET", r"/api/package/parallel/[^/]+")
        others = len(emu.requests) - listings
    ratio = times["parallel"] / times["serial"]
    print(
        f"{options.wheels} wheels, {packages} packages, {options.latency * 1000:.0f} ms per request"
    )
    print(f"one by one        {times['serial']:7.2f} s")
    parallel = times["parallel"]
    print(f"{options.jobs} in parallel     {parallel:7.2f} s   ratio {ratio:.3f} (budget <= 0.25)")
    print(f"re-run: {listings} listing requests for {packages} packages, {others} other requests")
    ok = ratio <= 0.25 and listings <= packages and others == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
