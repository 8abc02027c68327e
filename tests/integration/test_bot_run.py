"""``bot run`` against the GitHub stand-in: bare git repositories as the feedstocks' remotes."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

from smithy.bot.plan import RERUN_LABEL, State
from smithy.bot.run import BotResult, run_bot
from smithy.channel.local import LocalChannel
from smithy.channel.model import Provenance
from smithy.channel.wheel import read_wheel
from smithy.feedstock.init import run_init
from tests.conftest import METADATA as SHARED_METADATA
from tests.helpers import PURE_SDIST, write_recipe
from tests.integration.conftest import GITHUB_LOGIN, GITHUB_ORG, GITHUB_TOKEN
from tests.integration.github_standin import GitHubStandIn
from tests.wheels import make_wheel

ORG, LOGIN, TOKEN = GITHUB_ORG, GITHUB_LOGIN, GITHUB_TOKEN
METADATA = str(SHARED_METADATA)
STABLE_BRANCH = "pyodide-smithy/xbuildenv-314.0.5"
PRE_BRANCH = "pyodide-smithy/xbuildenv-315.0.0a2"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def recipe(name: str, run: tuple[str, ...]) -> str:
    text = PURE_SDIST.replace("example-pkg", name).replace("example_pkg", name.replace("-", "_"))
    reqs = "".join(f"    - {r}\n" for r in run)
    return text.replace("  run:\n    - six\n", f"  run:\n{reqs}")


def add_feedstock(
    stand: GitHubStandIn,
    tmp: Path,
    name: str,
    run: tuple[str, ...] = ("six",),
    *,
    migrations: bool = True,
    prereleases: bool = False,
) -> str:
    """``<name>-feedstock`` pinned to 314.0.4, pushed into the stand-in; its repository name."""
    folder = write_recipe(tmp / "src" / name, recipe(name, run))
    root = run_init(str(folder), output=tmp / f"{name}-feedstock", xbuildenv="314.0.4",
                    metadata=METADATA).feedstock  # fmt: skip
    config = root / "pyodide-smithy.yml"
    text = config.read_text()
    if not migrations:
        text = text.replace("migrations: true", "migrations: false")
    if prereleases:
        text = text.replace("prereleases: false", "prereleases: true")
    if text != config.read_text():
        config.write_text(text)
        git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "settings")
    repo = f"{name}-feedstock"
    bare = stand.create_repo(ORG, repo)
    git(root, "push", "-q", "--force", str(bare), "HEAD:refs/heads/main")
    return repo


def tip_config(stand: GitHubStandIn, repo: str, branch: str) -> str:
    bare = stand.git_root / ORG / f"{repo}.git"
    return git(bare, "show", f"{branch}:pyodide-smithy.yml")


def run(**kw: object) -> BotResult:
    return run_bot(ORG, metadata=METADATA, **kw)  # type: ignore[arg-type]


def states(result: BotResult) -> dict[str, State]:
    return {d.feedstock: d.state for d in result.decisions}


def pushes(stand: GitHubStandIn) -> list[str]:
    return [
        git(stand.git_root / ORG / f"{r}.git", "for-each-ref", "--format=%(objectname)")
        for r in sorted(stand.store.orgs[ORG].repos)
    ]


def test_non_abi_bump_opens_one_pr_each_and_a_rerun_changes_nothing(
    stand: GitHubStandIn, tmp_path: Path
) -> None:
    repos = [
        add_feedstock(stand, tmp_path, "alpha-pkg"),
        add_feedstock(stand, tmp_path, "beta-pkg", ("alpha-pkg", "six")),
    ]
    stand.create_repo(ORG, "not-a-feedstock")
    stand.create_repo(ORG, "old-feedstock", {"pyodide-smithy.yml": "x"}, archived=True)
    stand.endpoints.clear()
    result = run(xbuildenv="314.0.5")
    assert stand.endpoints["POST /graphql"] == 1  # one query reads every feedstock
    assert stand.endpoints["GET /repos/{o}/{r}"] == 0  # nothing listed is completed
    assert states(result) == dict.fromkeys(repos, State.READY)
    assert {a.action for a in result.actions} == {"opened"}
    for repo in repos:
        pulls = stand.pulls(ORG, repo)
        assert len(pulls) == 1
        assert pulls[0]["head"]["ref"] == STABLE_BRANCH
        assert pulls[0]["title"] == "MNT: Re-render for xbuildenv 314.0.5"
        assert "ABI does not change" in pulls[0]["body"]
        status = f"https://{ORG}.github.io/pyodide-smithy-admin/?feedstock={repo}"
        assert status in pulls[0]["body"]
        assert "waited until" not in pulls[0]["body"]
        assert 'xbuildenv: "314.0.5"' in tip_config(stand, repo, STABLE_BRANCH)
    posts, refs = stand.count("POST", r".*/pulls"), pushes(stand)
    again = run(xbuildenv="314.0.5")
    assert states(again) == dict.fromkeys(repos, State.PR_OPEN)
    assert {a.action for a in again.actions} == {"unchanged"}
    assert stand.count("POST", r".*/pulls") == posts
    assert pushes(stand) == refs
    assert all(len(stand.pulls(ORG, r)) == 1 for r in repos)


def test_closed_pr_is_declined_until_labelled_then_reopened(
    stand: GitHubStandIn, tmp_path: Path
) -> None:
    repo = add_feedstock(stand, tmp_path, "alpha-pkg")
    run(xbuildenv="314.0.5")
    number = stand.pulls(ORG, repo)[0]["number"]
    stand.close(ORG, repo, number)
    declined = run(xbuildenv="314.0.5")
    assert states(declined) == {repo: State.DECLINED}
    assert declined.actions == []
    stand.label(ORG, repo, number, RERUN_LABEL)
    rerun = run(xbuildenv="314.0.5")
    assert [a.action for a in rerun.actions] == ["reopened"]
    (only,) = stand.pulls(ORG, repo)
    assert (only["number"], only["state"]) == (number, "open")
    assert RERUN_LABEL not in [label["name"] for label in only["labels"]]


def test_opted_out_feedstock_gets_no_pr(stand: GitHubStandIn, tmp_path: Path) -> None:
    repo = add_feedstock(stand, tmp_path, "alpha-pkg", migrations=False)
    result = run(xbuildenv="314.0.5")
    assert states(result) == {repo: State.DECLINED}
    assert stand.pulls(ORG, repo) == []


def test_abi_bump_waits_for_dependency_wheels(stand: GitHubStandIn, tmp_path: Path) -> None:
    channel_dir = tmp_path / "channel"
    channel_dir.mkdir()
    alpha = add_feedstock(stand, tmp_path, "alpha-pkg", prereleases=True)
    beta = add_feedstock(stand, tmp_path, "beta-pkg", ("alpha-pkg",), prereleases=True)
    first = run(channel=str(channel_dir))
    assert states(first) == {alpha: State.READY, beta: State.AWAITING_DEPENDENCIES}
    (waiting,) = [d for d in first.decisions if d.feedstock == beta]
    assert waiting.waiting_on == (alpha,)
    assert alpha in waiting.reason
    assert stand.pulls(ORG, beta) == []
    assert stand.pulls(ORG, alpha)[0]["head"]["ref"] == PRE_BRANCH
    assert "ABI changes" in stand.pulls(ORG, alpha)[0]["body"]

    tag = "cp315-cp315-pyemscripten_2027_0_wasm32"
    wheel = read_wheel(make_wheel(tmp_path / "wheels", "alpha-pkg", "1.2.3", tag=tag))
    LocalChannel(channel_dir).put(
        wheel, labels=("main",), provenance=Provenance(sha256=wheel.sha256)
    )
    second = run(channel=str(channel_dir))
    assert states(second)[beta] == State.READY
    (pull,) = stand.pulls(ORG, beta)
    assert pull["head"]["ref"] == PRE_BRANCH
    assert f"published wheels for the new ABI: `{alpha}`." in pull["body"]
    assert 'xbuildenv: "315.0.0a2"' in tip_config(stand, beta, PRE_BRANCH)

    # Both merged, only alpha's new wheels out: beta is not done, though nobody is behind now.
    for repo in (alpha, beta):
        stand.merge(ORG, repo, stand.pulls(ORG, repo)[0]["number"])
    merged = run(channel=str(channel_dir))
    assert states(merged) == {alpha: State.UP_TO_DATE, beta: State.MERGED_AWAITING_UPLOAD}
    assert merged.actions == []


def test_dry_run_changes_nothing(stand: GitHubStandIn, tmp_path: Path) -> None:
    repo = add_feedstock(stand, tmp_path, "alpha-pkg")
    refs = pushes(stand)
    result = run(xbuildenv="314.0.5", dry_run=True)
    assert states(result) == {repo: State.READY}
    assert [a.action for a in result.actions] == ["would open"]
    assert stand.pulls(ORG, repo) == []
    assert pushes(stand) == refs
    assert stand.count("POST", r".*/pulls") == 0


def test_two_runs_at_once_give_one_pr_each(stand: GitHubStandIn, tmp_path: Path) -> None:
    repos = [add_feedstock(stand, tmp_path, n) for n in ("alpha-pkg", "beta-pkg", "gamma-pkg")]
    results: list[BotResult] = []
    errors: list[BaseException] = []

    def go() -> None:
        try:
            results.append(run(xbuildenv="314.0.5"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    actions = sorted(a.action for r in results for a in r.actions)
    assert "failed" not in actions
    assert actions.count("opened") == len(repos)  # the other run adopted or found it unchanged
    for repo in repos:
        open_pulls = [p for p in stand.pulls(ORG, repo) if p["state"] == "open"]
        assert len(open_pulls) == 1, repo
        assert 'xbuildenv: "314.0.5"' in tip_config(stand, repo, STABLE_BRANCH)


def test_max_prs_and_the_command_line(stand: GitHubStandIn, tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from smithy.cli.bot_cmds import bot_app

    app = typer.Typer()  # as app.py registers it
    app.add_typer(bot_app)

    repos = [add_feedstock(stand, tmp_path, n) for n in ("alpha-pkg", "beta-pkg")]
    limited = run(xbuildenv="314.0.5", max_prs=1)
    assert sorted(a.action for a in limited.actions) == ["opened", "skipped"]
    args = ["bot", "run", "--org", ORG, "--xbuildenv", "314.0.5", "--xbuildenv-metadata", METADATA]
    out = CliRunner().invoke(app, [*args, "--json", "--status-url", "https://status.example/"])
    assert out.exit_code == 0, out.output
    assert '"opened"' in out.output
    bodies = [p["body"] for r in repos for p in stand.pulls(ORG, r)]
    assert sum("https://status.example/?feedstock=" in b for b in bodies) == 1
    text = CliRunner().invoke(app, args)
    assert text.exit_code == 0, text.output
    assert all(f"{r}\tpr-open" in text.output for r in repos)
    assert "2 feedstocks: 2 unchanged" in text.output
    assert stand.count("POST", r".*/pulls") == 2


def test_a_pr_created_but_answered_with_an_error_is_adopted_not_duplicated(
    stand: GitHubStandIn, tmp_path: Path
) -> None:
    """GitHub acted, then failed: PyGithub retries the POST, gets 422, and the bot adopts."""
    repo = add_feedstock(stand, tmp_path, "alpha-pkg")
    stand.faults.add("POST", r"/repos/.*/pulls$", 502, after=True)
    result = run(xbuildenv="314.0.5")
    (action,) = result.actions
    assert action.action == "adopted", action
    assert len(stand.pulls(ORG, repo)) == 1
    again = run(xbuildenv="314.0.5")
    assert states(again) == {repo: State.PR_OPEN}
    assert len(stand.pulls(ORG, repo)) == 1


def test_a_no_op_run_costs_no_request_per_feedstock(stand: GitHubStandIn, tmp_path: Path) -> None:
    repos = [add_feedstock(stand, tmp_path, f"pkg{i}") for i in range(3)]
    stand.endpoints.clear()
    result = run(xbuildenv="314.0.4")  # what they already pin
    assert states(result) == dict.fromkeys(repos, State.UP_TO_DATE)
    assert not result.actions
    assert stand.endpoints["GET /repos/{o}/{r}/pulls"] == 0
    assert sum(stand.endpoints.values()) <= 2  # the listing and one GraphQL query


def test_feedstocks_the_bot_cannot_read_or_migrate_fail_with_the_reason(
    stand: GitHubStandIn, tmp_path: Path
) -> None:
    good = add_feedstock(stand, tmp_path, "alpha-pkg")
    stand.create_repo(
        ORG,
        "broken-feedstock",
        {"pyodide-smithy.yml": "bot: [", "recipe/meta.yaml": "package: {name: b}"},
    )
    stand.create_repo(ORG, "norecipe-feedstock", {"pyodide-smithy.yml": 'xbuildenv: "314.0.4"\n'})
    bad = add_feedstock(stand, tmp_path, "beta-pkg")
    work = tmp_path / "edit"
    git(tmp_path, "clone", "-q", str(stand.git_root / ORG / f"{bad}.git"), str(work))
    meta = work / "recipe" / "meta.yaml"
    meta.write_text(meta.read_text() + "colour: blue\n")  # pyodide-build refuses unknown keys
    git(work, "-c", "user.name=m", "-c", "user.email=m@m", "commit", "-qam", "Break the recipe")
    git(work, "push", "-q", "origin", "HEAD:main")

    result = run(xbuildenv="314.0.5")
    decisions = {d.feedstock: d for d in result.decisions}
    assert decisions[good].state == State.READY
    assert decisions["broken-feedstock"].state == State.FAILED
    assert "pyodide-smithy.yml" in decisions["broken-feedstock"].reason
    assert decisions["norecipe-feedstock"].state == State.FAILED
    assert "recipe/meta.yaml" in decisions["norecipe-feedstock"].reason
    assert decisions[bad].state == State.FAILED
    assert "(recipe/meta.yaml:colour)" in decisions[bad].reason  # not the bot's clone's path
    assert [a.action for a in result.actions if a.feedstock == bad] == ["failed"]
    assert stand.pulls(ORG, bad) == []
    assert len(stand.pulls(ORG, good)) == 1


def test_bad_inputs_get_one_line_and_a_non_zero_exit(stand: GitHubStandIn, tmp_path: Path) -> None:
    from tests.integration.conftest import smithy

    base = ["bot", "run", "--xbuildenv-metadata", METADATA]
    empty = smithy(*base, "--org", ORG)
    assert empty.code == 0
    assert f"no feedstocks in {ORG}" in empty.err
    cases = {
        ("--org", "nobody"): (18, "GitHub refused to list the repositories of nobody: 404"),
        ("--org", ORG, "--channel", str(tmp_path / "nowhere")): (2, "channel directory not found"),
        ("--org", ORG, "--shard", "2/2"): (2, "--shard 2/2: need 0 <= I < N"),
        ("--org", ORG, "--xbuildenv", "316"): (6, "unknown xbuildenv version '316'"),
    }
    for args, (code, message) in cases.items():
        done = smithy(*base, *args)
        assert (done.code, done.err.count("\n")) == (code, 1), (args, done.err)
        assert message in done.err, args
        assert "Traceback" not in done.err
    unauthorised = smithy(*base, "--org", ORG, env={"GITHUB_TOKEN": "wrong"})
    assert unauthorised.code == 18
    assert "401 Bad credentials" in unauthorised.err
    assert "wrong" not in unauthorised.err  # the token is never printed
