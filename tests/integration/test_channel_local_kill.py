"""Real ``upload``, ``promote`` and ``channel remove`` processes SIGKILLed mid-change.

Each command runs against its own copy of one local channel, killed before its 1st, 2nd, ...
change (``$PYODIDE_SMITHY_TEST_KILL_AT``; promote and remove before every other one) until it
runs to the end. Right after the kill every
file the registry lists is in place; after the next step a user would take (the same command
again, a read, another write, or ``channel reindex``) every PEP 503 and PEP 691 page of every
label lists exactly the files there, with their sha256. A long upload killed after a random delay
lands mid-write too, where temporary files are left.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import count
from pathlib import Path

import pytest

from smithy.channel.local import KILL_AT_ENV, LocalChannel
from smithy.channel.model import MAIN
from tests.conftest import ROOT
from tests.integration.conftest import smithy
from tests.unit.test_channel_local_heal import (
    TINY_11,
    State,
    assert_consistent,
    assert_registry_files_present,
    find,
    put,
    registry_state,
    wheel,
)
from tests.wheels import make_wheel

WORKERS = min(4, os.cpu_count() or 2)
HEALS = ("rerun", "read", "write", "reindex")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny 1.0 in main and staging, tiny 1.1 in staging, other 2.0 in main; the wheels the
    commands upload in dist/."""
    tmp = tmp_path_factory.mktemp("kill")
    channel = LocalChannel(tmp / "channel")
    put(channel, wheel(tmp / "seed", "tiny", "1.0"), MAIN, "staging")
    put(channel, wheel(tmp / "seed", "tiny", "1.1"), "staging")
    put(channel, wheel(tmp / "seed", "other", "2.0"), MAIN)
    make_wheel(tmp / "dist", "brand", "1.0")
    make_wheel(tmp / "changed", "tiny", "1.1", files={"tiny/__init__.py": "CHANGED = 1\n"})
    return tmp


COMMANDS: dict[str, Callable[[Path], tuple[str, ...]]] = {
    "upload": lambda b: ("upload", str(b / "dist" / "brand-1.0-py3-none-any.whl")),
    "upload --replace": lambda b: ("upload", str(b / "changed" / TINY_11), "--replace"),
    "promote": lambda b: ("promote", "tiny", "1.1"),
    "channel remove --label": lambda b: ("channel", "remove", "tiny", "1.0", "--label", "staging"),
    "channel remove": lambda b: ("channel", "remove", "tiny", "1.0"),
}


def heal(how: str, args: tuple[str, ...], root: Path, base: Path) -> None:
    """What a user does next; each must leave the channel consistent."""
    if how == "rerun":
        again = smithy(*args, "--channel", root, cwd=base)
        assert again.code == 0, again.err
    elif how == "read":
        LocalChannel(root).files()
    elif how == "write":
        channel = LocalChannel(root)
        put(channel, wheel(base / "seed", "zzz", "1.0"), MAIN)
        channel.delete(find(channel, "zzz-1.0-py3-none-any.whl"))
    else:  # the command line's reindex runs in test_a_long_upload_killed_at_random_moments
        LocalChannel(root).reindex()


def killed_at(n: int, name: str, base: Path, work: Path) -> tuple[str, State]:
    """Run the command killed before its ``n``th change, heal it: how, and the state then
    ("finished" when the command ran to the end first)."""
    args = COMMANDS[name](base)
    root = work / f"kill-{n}"
    shutil.copytree(base / "channel", root)
    run = smithy(*args, "--channel", root, cwd=base, env={KILL_AT_ENV: str(n)})
    if run.code != -signal.SIGKILL:
        assert run.code == 0, run.err
        assert_consistent(root)
        return "finished", registry_state(root)
    assert_registry_files_present(root)
    heals = HEALS if name.startswith("upload") else HEALS[1:]  # rerun: what CI does on retry
    how = heals[n % len(heals)]
    heal(how, args, root, base)
    assert_consistent(root)
    return how, registry_state(root)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_command_killed_before_any_change_heals(name: str, base: Path, tmp_path: Path) -> None:
    before = registry_state(base / "channel")
    outcomes: list[tuple[str, State]] = []
    # Uploads are killed before every change; the others before every other one, to keep
    # this test short (tests/unit/test_channel_local_heal.py cuts them at every step).
    stride = 1 if name.startswith("upload") else 2
    with ThreadPoolExecutor(WORKERS) as pool:
        for start in count(1, WORKERS * stride):
            batch = range(start, start + WORKERS * stride, stride)
            outcomes += pool.map(lambda n: killed_at(n, name, base, tmp_path), batch)
            if any(how == "finished" for how, _ in outcomes):
                break
    kills = [(how, state) for how, state in outcomes if how != "finished"]
    after = next(state for how, state in outcomes if how == "finished")
    assert len(kills) >= 9 // stride, kills  # the command's changes are kill points
    between = {k: v for k, v in before.items() if k != TINY_11}  # replace: deleted, not put yet
    allowed = [before, after, *([between] if name == "upload --replace" else [])]
    assert [state in allowed for _, state in kills] == [True] * len(kills)
    assert kills[0][1] == before
    assert kills[-1][1] == after
    assert all(state == after for how, state in kills if how == "rerun")
    assert after != before


def test_a_long_upload_killed_at_random_moments_heals(tmp_path: Path) -> None:
    wheels = [str(make_wheel(tmp_path / "dist", f"pkg{i // 3}", f"1.{i % 3}")) for i in range(45)]
    command = [sys.executable, "-m", "smithy", "upload", *wheels, "--label", MAIN]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    assert smithy(*command[3:], "--channel", tmp_path / "whole", cwd=tmp_path).code == 0
    whole = (
        time.perf_counter() - start
    )  # start-up takes about the first half; runs in parallel go slower
    rng = random.Random(13)
    delays = [rng.uniform(0.6 * whole, 1.3 * whole) for _ in range(6)]

    def one(i: int) -> None:
        root = tmp_path / f"random-{i}"
        proc = subprocess.Popen(
            [*command, "--channel", str(root)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delays[i])
        proc.kill()
        proc.wait()
        if (root / "channel.json").exists():
            assert_registry_files_present(root)
            if i % 2:  # else the same upload again heals: it reads the channel first
                assert smithy("channel", "reindex", root).code == 0
                assert_consistent(root)
        again = smithy(*command[3:], "--channel", root, cwd=tmp_path)
        assert again.code == 0, again.err
        assert_consistent(root)
        assert len(registry_state(root)) == len(wheels)

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(one, range(len(delays))))
