"""``bot versions``' decision for one feedstock: pure, from what was read."""

from __future__ import annotations

from smithy.bot.plan import RERUN_LABEL, Feedstock, Pull
from smithy.bot.version_plan import (
    VersionState,
    branch_for_version,
    decide,
    version_of_branch,
)
from smithy.versions.select import Update

F = Feedstock(name="x-feedstock", outputs=("x",), requires=(), xbuildenv="314.0.5", version="1.0")
U = Update(
    name="x",
    current="1.0",
    version="1.2",
    filename="x-1.2.tar.gz",
    url="https://files.example/x-1.2.tar.gz",
    sha256="0" * 64,
    kind="sdist",
)


def pull(
    number: int, *, open_: bool = True, merged: bool = False, labels: tuple[str, ...] = ()
) -> Pull:
    return Pull(number=number, open=open_, merged=merged, labels=labels, url=f"u/{number}")


def test_branches_name_their_version() -> None:
    assert branch_for_version("1.2") == "pyodide-smithy/version-1.2"
    assert version_of_branch("pyodide-smithy/version-1.2") == "1.2"
    assert version_of_branch("pyodide-smithy/xbuildenv-314.0.5") is None


def test_each_state() -> None:
    none: dict[str, Pull] = {}
    assert decide(F, U, target_pull=None, open_version_pulls=none).state is VersionState.READY
    assert decide(F, U, target_pull=pull(3), open_version_pulls=none).state is VersionState.PR_OPEN
    rerun = pull(3, labels=(RERUN_LABEL,))
    assert decide(F, U, target_pull=rerun, open_version_pulls=none).state is VersionState.READY
    closed = pull(3, open_=False)
    declined = decide(F, U, target_pull=closed, open_version_pulls=none)
    assert declined.state is VersionState.DECLINED
    assert RERUN_LABEL in declined.reason
    closed_rerun = pull(3, open_=False, labels=(RERUN_LABEL,))
    assert (
        decide(F, U, target_pull=closed_rerun, open_version_pulls=none).state is VersionState.READY
    )
    merged = pull(3, open_=False, merged=True)
    assert (
        decide(F, U, target_pull=merged, open_version_pulls=none).state is VersionState.UP_TO_DATE
    )
    assert (
        decide(F, None, target_pull=None, open_version_pulls=none).state is VersionState.UP_TO_DATE
    )
    opted_out = Feedstock(**{**F.__dict__, "version_updates": False})
    assert decide(opted_out, U, target_pull=None, open_version_pulls=none).state is (
        VersionState.OPTED_OUT
    )


def test_a_newer_release_supersedes_the_older_ones() -> None:
    opens = {"1.1": pull(2), "1.2": pull(3)}
    d = decide(F, U, target_pull=pull(3), open_version_pulls=opens)
    assert [(v, p.number) for v, p in d.superseded] == [("1.1", 2)]
    stale = decide(F, None, target_pull=None, open_version_pulls=opens)  # main moved on itself
    assert [v for v, _ in stale.superseded] == ["1.1", "1.2"]
