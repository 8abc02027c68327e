"""The bot over an org of 30 feedstocks made from real recipes, with their real dependency edges,
and over libopenblas (a library) and scipy alone.

The feedstocks are made once per module (pinned to xbuildenv 314.0.4) and pushed into a fresh
GitHub stand-in for each scenario; the bot runs in-process or as the real command line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from smithy.bot.plan import RERUN_LABEL, Feedstock, Graph, State
from smithy.bot.run import BotResult, run_bot
from smithy.bot.status import gather_status
from smithy.channel.local import LocalChannel
from smithy.channel.model import Provenance
from smithy.channel.wheel import read_wheel
from smithy.feedstock.init import run_init
from tests.conftest import METADATA
from tests.helpers import load_yaml, make_build
from tests.integration.conftest import GITHUB_ORG as ORG
from tests.integration.conftest import smithy
from tests.integration.github_standin import GitHubStandIn
from tests.wheels import make_wheel

RECIPES = [
    "numpy",
    "scipy",
    "pandas",
    "python-dateutil",
    "six",
    "matplotlib",
    "contourpy",
    "cycler",
    "kiwisolver",
    "fonttools",
    "packaging",
    "pyparsing",
    "pytz",
    "Pillow",
    "scikit-learn",
    "joblib",
    "threadpoolctl",
    "xarray",
    "statsmodels",
    "patsy",
    "astropy",
    "pyerfa",
    "pyyaml",
    "astropy_iers_data",
    "sympy",
    "mpmath",
    "networkx",
    "decorator",
    "setuptools",
    "attrs",
]
# What the channel holds before the migration: wheels for ABI 2026_0 of these, pure wheels of
# the rest.
COMPILED = {
    "numpy",
    "scipy",
    "pandas",
    "matplotlib",
    "contourpy",
    "kiwisolver",
    "Pillow",
    "scikit-learn",
    "statsmodels",
    "astropy",
    "pyerfa",
    "pyyaml",
}
OLD_TAG, NEW_TAG = (
    "cp314-cp314-pyemscripten_2026_0_wasm32",
    "cp315-cp315-pyemscripten_2026_5_wasm32",
)
ABI_TARGET, STABLE = "315.0.0a2", "314.0.5"
BIN = Path(sys.executable).parent


def fs(name: str) -> str:
    return f"{name}-feedstock"


@pytest.fixture(scope="module")
def feedstocks(recipes_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Recipe name -> its feedstock repository, pinned to 314.0.4 (made once, never changed)."""
    root = tmp_path_factory.mktemp("feedstocks")
    made = {}
    for name in RECIPES:
        result = run_init(str(recipes_root / name), output=root / fs(name), xbuildenv="314.0.4",
                          metadata=str(METADATA))  # fmt: skip
        made[name] = result.feedstock
    return made


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def publish_org(
    stand: GitHubStandIn, feedstocks: dict[str, Path], *, opted_out: Iterable[str] = ()
) -> None:
    """Every feedstock into the stand-in; ``opted_out`` ones with ``bot.migrations: false``."""
    for name, path in feedstocks.items():
        bare = stand.create_repo(ORG, fs(name))
        git(path, "push", "-q", "--force", str(bare), "HEAD:refs/heads/main")
    for name in opted_out:
        work = stand.git_root / "work" / name
        git(stand.git_root, "clone", "-q", str(stand.git_root / ORG / f"{fs(name)}.git"), str(work))
        config = work / "pyodide-smithy.yml"
        config.write_text(config.read_text().replace("migrations: true", "migrations: false"))
        git(work, "-c", "user.name=m", "-c", "user.email=m@m", "commit", "-qam", "Opt out")
        git(work, "push", "-q", "origin", "HEAD:main")


def run(**kw: object) -> BotResult:
    return run_bot(ORG, metadata=str(METADATA), **kw)  # type: ignore[arg-type]


def states(result: BotResult) -> dict[str, State]:
    return {d.feedstock: d.state for d in result.decisions}


def open_pulls(stand: GitHubStandIn, repo: str) -> list[dict[str, object]]:
    return [p for p in stand.pulls(ORG, repo) if p["state"] == "open"]


def cli(*args: str) -> subprocess.Popen[str]:
    """``pyodide-smithy bot run`` as a process (the stand fixture's environment points it)."""
    command = [str(BIN / "pyodide-smithy"), "bot", "run", "--org", ORG]
    command += ["--xbuildenv-metadata", str(METADATA), "--xbuildenv", STABLE, *args]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy()
    )


def _stocks(feedstocks: dict[str, Path]) -> list[Feedstock]:
    from smithy.bot.github_view import parse_feedstock

    out = []
    for name, path in feedstocks.items():
        config = (path / "pyodide-smithy.yml").read_text()
        out.append(parse_feedstock(fs(name), config, (path / "recipe" / "meta.yaml").read_text()))
    return out


def test_the_real_dependency_graph(feedstocks: dict[str, Path]) -> None:
    stocks = _stocks(feedstocks)
    graph = Graph.of(stocks)
    assert graph.dependencies(fs("scikit-learn")) == {fs("numpy"), fs("scipy"), fs("joblib"),
                                                      fs("threadpoolctl")}  # fmt: skip
    assert fs("Pillow") in graph.dependencies(fs("matplotlib"))  # "Pillow" is named as such
    order = graph.order()
    assert order.index(fs("numpy")) < order.index(fs("scipy")) < order.index(fs("scikit-learn"))
    assert order.index(fs("matplotlib")) < order.index(fs("networkx"))


def test_non_abi_migration_with_an_opt_out_and_a_declined_pr(
    stand: GitHubStandIn, feedstocks: dict[str, Path]
) -> None:
    publish_org(stand, feedstocks, opted_out=["sympy"])
    first = run(xbuildenv=STABLE)
    assert states(first)[fs("sympy")] == State.DECLINED
    assert "opted out" in next(d.reason for d in first.decisions if d.feedstock == fs("sympy"))
    opened = {a.feedstock for a in first.actions if a.action == "opened"}
    assert opened == {fs(n) for n in RECIPES} - {fs("sympy")}  # everywhere at once
    assert stand.pulls(ORG, fs("sympy")) == []
    for repo in opened:
        (pull,) = stand.pulls(ORG, repo)
        assert pull["head"]["ref"] == f"pyodide-smithy/xbuildenv-{STABLE}"

    declined = stand.pulls(ORG, fs("pandas"))[0]["number"]
    stand.close(ORG, fs("pandas"), declined)  # a maintainer says no
    stand.merge(ORG, fs("six"), stand.pulls(ORG, fs("six"))[0]["number"])
    second = run(xbuildenv=STABLE)
    assert states(second)[fs("pandas")] == State.DECLINED
    assert "bot-rerun" in next(d.reason for d in second.decisions if d.feedstock == fs("pandas"))
    assert states(second)[fs("six")] == State.UP_TO_DATE
    assert {a.action for a in second.actions} == {"unchanged"}  # nothing re-pushed or re-opened
    assert len(stand.pulls(ORG, fs("pandas"))) == 1

    stand.label(ORG, fs("pandas"), declined, RERUN_LABEL)  # the maintainer changes their mind
    third = run(xbuildenv=STABLE)
    assert [a.action for a in third.actions if a.feedstock == fs("pandas")] == ["reopened"]
    assert [p["number"] for p in open_pulls(stand, fs("pandas"))] == [declined]


def test_abi_migration_in_dependency_order_with_a_dependency_that_never_publishes(
    stand: GitHubStandIn, feedstocks: dict[str, Path], tmp_path: Path
) -> None:
    """Round after round, maintainers merge every open PR and CI publishes its wheels, except
    pyerfa's: astropy waits on it to the end, and says so."""
    publish_org(stand, feedstocks)
    channel = LocalChannel(tmp_path / "channel")

    def publish(name: str, tag: str) -> None:
        path = make_wheel(tmp_path / "wheels" / tag, name, "1.0", tag=tag)
        wheel = read_wheel(path)
        channel.put(wheel, labels=("main",), provenance=Provenance(sha256=wheel.sha256))

    for name in RECIPES:
        publish(name, OLD_TAG if name in COMPILED else "py3-none-any")

    opened_in: dict[str, int] = {}
    published_in: dict[str, int] = {}
    last = None
    for round_ in range(8):
        last = run(xbuildenv=ABI_TARGET, channel=str(tmp_path / "channel"))
        assert not [a for a in last.actions if a.action == "failed"], last.actions
        for action in last.actions:
            assert action.action == "opened", action
            opened_in[action.feedstock] = round_
        if not last.actions:
            break
        for name in RECIPES:
            for pull in open_pulls(stand, fs(name)):
                stand.merge(ORG, fs(name), int(str(pull["number"])))
                if name in COMPILED and name != "pyerfa":
                    publish(name, NEW_TAG)
                    published_in[fs(name)] = round_
    assert last is not None
    assert not last.actions

    # Nobody opened before what it depends on had published for the new ABI.
    decisions = {d.feedstock: d for d in last.decisions}
    graph = Graph.of(_stocks(feedstocks))
    for repo, round_ in opened_in.items():
        for dep in graph.dependencies(repo):
            if dep.removesuffix("-feedstock") in COMPILED:
                assert published_in.get(dep, 99) < round_, (repo, dep)
    assert opened_in[fs("numpy")] == 0
    assert opened_in[fs("scipy")] == 1
    assert opened_in[fs("scikit-learn")] == 2
    assert opened_in[fs("networkx")] == 3  # numpy -> contourpy -> matplotlib -> networkx
    assert max(opened_in.values()) == 3

    assert decisions[fs("pyerfa")].state == State.MERGED_AWAITING_UPLOAD
    astropy = decisions[fs("astropy")]
    assert astropy.state == State.AWAITING_DEPENDENCIES
    assert astropy.waiting_on == (fs("pyerfa"),)
    assert fs("pyerfa") in astropy.reason
    assert stand.pulls(ORG, fs("astropy")) == []
    done = {n for n, d in decisions.items() if d.state == State.UP_TO_DATE}
    assert done == {fs(n) for n in RECIPES} - {fs("pyerfa"), fs("astropy")}

    status = gather_status(
        ORG, xbuildenv=ABI_TARGET, metadata=str(METADATA), channel=str(tmp_path / "channel")
    ).to_json()
    (rows,) = [{f["name"]: f for f in m["feedstocks"]} for m in status["migrations"]]
    assert rows[fs("astropy")]["state"] == "awaiting-dependencies"
    assert rows[fs("astropy")]["waiting_on"] == [fs("pyerfa")]  # the status says so
    assert rows[fs("pyerfa")]["state"] == "merged-awaiting-upload"

    body = str(stand.pulls(ORG, fs("scikit-learn"))[0]["body"])
    assert "**The ABI changes**" in body
    assert f"`{fs('numpy')}`, `{fs('scipy')}`" in body  # what it waited for


def test_a_run_killed_half_way_then_re_run(
    stand: GitHubStandIn, feedstocks: dict[str, Path]
) -> None:
    publish_org(stand, feedstocks)
    proc = cli()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with stand.lock:
            made = sum(len(r.pulls) for r in stand.store.orgs[ORG].repos.values())
        if made >= 8 or proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert 8 <= made < len(RECIPES)

    again = cli("--json")
    _out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    for name in RECIPES:
        assert len(stand.pulls(ORG, fs(name))) == 1, name  # never a second PR
        assert len(open_pulls(stand, fs(name))) == 1, name


def test_two_runs_at_once(stand: GitHubStandIn, feedstocks: dict[str, Path]) -> None:
    publish_org(stand, feedstocks)
    procs = [cli("--json"), cli("--json")]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err + out
    for name in RECIPES:
        assert len(stand.pulls(ORG, fs(name))) == 1, name
    assert stand.count("POST", r".*/pulls") >= len(RECIPES)


BLAS = ("libopenblas", "scipy")
CONFIG = "pyodide-smithy.yml"


@pytest.fixture(scope="module")
def blas_feedstocks(
    recipes_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """libopenblas (a shared_library recipe) and scipy, which builds against it, pinned to
    314.0.4."""
    root = tmp_path_factory.mktemp("blas")
    made = {}
    for name in BLAS:
        result = run_init(str(recipes_root / name), output=root / fs(name), xbuildenv="314.0.4",
                          metadata=str(METADATA))  # fmt: skip
        made[name] = result.feedstock
    return made


def libopenblas_wheel(folder: Path, abi: str, build: int) -> Path:
    """libopenblas 0.3.31's library wheel for ``abi``, as its feedstock's build makes it."""
    tag = f"py3-none-pyemscripten_{abi}_wasm32"  # a library: no Python ABI, the Pyodide one
    files: dict[str, str | bytes] = {"libopenblas.so": b"\0asm"}
    return make_build(folder, "libopenblas", "0.3.31", build, tag=tag, files=files,
                      library="shared_library")  # fmt: skip


def config_lines_changed(bare: Path, old: str, new: str) -> list[str]:
    """The removed and added lines of pyodide-smithy.yml between two refs."""
    diff = git(bare, "diff", "--no-color", "--no-ext-diff", "-U0", old, new, "--", CONFIG)
    return [x for x in diff.splitlines() if x[:1] in "+-" and x[:3] not in ("+++", "---")]


def test_abi_migration_scipy_waits_for_the_libopenblas_library_wheel(
    stand: GitHubStandIn, blas_feedstocks: dict[str, Path], tmp_path: Path
) -> None:
    """scipy needs libopenblas at build time only (requirements.host; its wheel vendors the
    library): in an ABI migration its PR still waits until libopenblas's library wheel for the
    new ABI is on the channel's main label — not merely until libopenblas's PR merged."""
    meta = load_yaml((blas_feedstocks["scipy"] / "recipe" / "meta.yaml").read_bytes())
    assert "libopenblas" in meta["requirements"]["host"]
    assert "libopenblas" not in meta["requirements"]["run"]
    publish_org(stand, blas_feedstocks)
    channel_dir = tmp_path / "channel"
    channel = LocalChannel(channel_dir)
    before = (
        libopenblas_wheel(tmp_path / "old", "2026_0", 0),
        make_build(tmp_path / "old", "scipy", "1.18.0", 0, tag=OLD_TAG),
    )
    for wheel in map(read_wheel, before):  # what the channel holds before the migration
        channel.put(wheel, labels=("main",), provenance=Provenance(sha256=wheel.sha256))
    branch = f"pyodide-smithy/xbuildenv-{ABI_TARGET}"
    lib, sci = fs("libopenblas"), fs("scipy")

    def bot_run() -> BotResult:
        result = run(xbuildenv=ABI_TARGET, channel=str(channel_dir))
        assert not [a for a in result.actions if a.action == "failed"], result.actions
        return result

    first = bot_run()
    assert [(a.feedstock, a.action) for a in first.actions] == [(lib, "opened")]
    scipy = next(d for d in first.decisions if d.feedstock == sci)
    assert (scipy.state, scipy.waiting_on) == (State.AWAITING_DEPENDENCIES, (lib,))
    assert scipy.reason == f"ABI 2026_5: waiting until {lib} publishes wheels for it"
    assert stand.pulls(ORG, sci) == []
    status = gather_status(
        ORG, xbuildenv=ABI_TARGET, metadata=str(METADATA), channel=str(channel_dir)
    ).to_json()
    (rows,) = [{f["name"]: f for f in m["feedstocks"]} for m in status["migrations"]]
    assert (rows[sci]["state"], rows[sci]["waiting_on"]) == ("awaiting-dependencies", [lib])

    # The library's PR moves the pin and bumps build-number: its wheel for the new ABI gets a
    # file name of its own.
    (pull,) = stand.pulls(ORG, lib)
    assert pull["head"]["ref"] == branch
    bare = stand.git_root / ORG / f"{lib}.git"
    assert config_lines_changed(bare, "main", branch) == [
        '-xbuildenv: "314.0.4"',
        f'+xbuildenv: "{ABI_TARGET}"',
        "-build-number: 0",
        "+build-number: 1",
    ]
    assert "| build-number | 0 | 1 |" in str(pull["body"])

    stand.merge(ORG, lib, int(str(pull["number"])))
    merged = bot_run()  # merged, but nothing on the channel for 2026_5 yet
    assert merged.actions == []
    assert states(merged) == {lib: State.MERGED_AWAITING_UPLOAD, sci: State.AWAITING_DEPENDENCIES}

    # The merged feedstock's CI uploads its build from main's settings (to main here, as once
    # a reviewer has promoted it from staging).
    ci = tmp_path / "ci"
    git(tmp_path, "clone", "-q", "--branch", "main", str(bare), str(ci))
    built = libopenblas_wheel(tmp_path / "dist", "2026_5", 1)
    assert built.name == "libopenblas-0.3.31-1-py3-none-pyemscripten_2026_5_wasm32.whl"
    upload = smithy("upload", built, "--feedstock", ci, "--channel", channel_dir, "--label", "main")
    assert upload.code == 0, upload.err

    ready = bot_run()
    assert [(a.feedstock, a.action) for a in ready.actions] == [(sci, "opened")]
    (scipy_pull,) = stand.pulls(ORG, sci)
    assert f"`{lib}`" in str(scipy_pull["body"])  # what it waited for
    scipy_config = config_lines_changed(stand.git_root / ORG / f"{sci}.git", "main", branch)
    assert scipy_config[-2:] == ["-build-number: 0", "+build-number: 1"]
