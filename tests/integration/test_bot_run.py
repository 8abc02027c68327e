"""``bot run`` against the GitHub stand-in: bare git repositories as the feedstocks' remotes."""

from __future__ import annotations

import json
import re
import subprocess
import threading
from pathlib import Path

import pytest

from smithy.bot.plan import RERUN_LABEL, State
from smithy.bot.run import BotResult, run_bot
from smithy.channel.local import LocalChannel
from smithy.channel.model import Provenance
from smithy.channel.wheel import read_wheel
from smithy.feedstock.init import run_init
from tests.conftest import GOLDEN
from tests.conftest import METADATA as SHARED_METADATA
from tests.helpers import PURE_SDIST, assert_golden, write_recipe
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
    automerge: bool = False,
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
    if automerge:
        text = text.replace("automerge: false", "automerge: true")
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


def tip_file(stand: GitHubStandIn, repo: str, branch: str, path: str) -> str:
    return git(stand.git_root / ORG / f"{repo}.git", "show", f"{branch}:{path}")


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
        assert "| build-number | 0 | 1 |" in pulls[0]["body"]
        assert "build-number 0 → 1: a rebuild of the same version" in pulls[0]["body"]
        assert 'xbuildenv: "314.0.5"' in tip_config(stand, repo, STABLE_BRANCH)
        assert "\nbuild-number: 1\n" in tip_config(stand, repo, STABLE_BRANCH)
    posts, refs = stand.count("POST", r".*/pulls"), pushes(stand)
    again = run(xbuildenv="314.0.5")
    assert states(again) == dict.fromkeys(repos, State.PR_OPEN)
    assert {a.action for a in again.actions} == {"unchanged"}
    assert stand.count("POST", r".*/pulls") == posts
    assert pushes(stand) == refs
    assert all(len(stand.pulls(ORG, r)) == 1 for r in repos)


def test_a_non_abi_migration_pr_changes_the_pin_the_build_number_and_the_render(
    stand: GitHubStandIn, tmp_path: Path, update_golden: bool
) -> None:
    """The whole change a maintainer reviews, pinned: `pytest --update-golden` refreshes it.
    Digests read as <sha256 N>, numbered as they first appear; git's index lines as <blob>."""
    repo = add_feedstock(stand, tmp_path, "alpha-pkg")
    run(xbuildenv="314.0.5")
    bare = stand.git_root / ORG / f"{repo}.git"
    diff = git(bare, "diff", "--no-color", "--no-ext-diff", "main", STABLE_BRANCH)
    diff = re.sub(r"(?m)^index [0-9a-f]+\.\.[0-9a-f]+", "index <blob>..<blob>", diff)
    digests: dict[str, str] = {}
    diff = re.sub(
        r"\b[0-9a-f]{64}\b",
        lambda m: digests.setdefault(m[0], f"<sha256 {len(digests) + 1}>"),
        diff,
    )
    assert_golden(GOLDEN / "migration-non-abi", {"pr.diff": diff.encode()}, update=update_golden)
    config_lines = diff.split("diff --git a/pyodide-smithy.yml")[1].split("diff --git")[0]
    changed = [x for x in config_lines.splitlines() if x[:1] in "+-" and x[:3] not in "+++---"]
    assert changed == [
        '-xbuildenv: "314.0.4"',
        '+xbuildenv: "314.0.5"',
        "-build-number: 0",
        "+build-number: 1",
    ]


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
    closed_at = tip(stand, repo, STABLE_BRANCH)
    maintainer_commit(stand, tmp_path, repo, "main", "Changed on main")  # the render changes
    stand.label(ORG, repo, number, RERUN_LABEL)
    rerun = run(xbuildenv="314.0.5")  # re-opened first: GitHub refuses once it is force-pushed
    assert [a.action for a in rerun.actions] == ["reopened"]
    (only,) = stand.pulls(ORG, repo)
    assert (only["number"], only["state"]) == (number, "open")
    assert RERUN_LABEL not in [label["name"] for label in only["labels"]]
    assert tip(stand, repo, STABLE_BRANCH) != closed_at  # and refreshed
    assert "Changed on main" in tip_file(stand, repo, STABLE_BRANCH, "README.md")

    stand.close(ORG, repo, number)  # closed again, and its branch deleted, as GitHub offers
    git(stand.git_root / ORG / f"{repo}.git", "update-ref", "-d", f"refs/heads/{STABLE_BRANCH}")
    stand.label(ORG, repo, number, RERUN_LABEL)
    fresh = run(xbuildenv="314.0.5")  # GitHub cannot re-open it: a new pull request
    assert [a.action for a in fresh.actions] == ["opened"]
    old, new = stand.pulls(ORG, repo)
    assert (old["state"], new["state"]) == ("closed", "open")
    assert f"replaces #{number}" in new["body"]
    assert RERUN_LABEL not in [label["name"] for label in old["labels"]]


def test_a_closed_pr_whose_branch_a_maintainer_force_pushed_gets_a_new_pr_on_top(
    stand: GitHubStandIn, tmp_path: Path
) -> None:
    """GitHub refuses to re-open a pull request whose branch was force-pushed after it closed
    (422; isaacs/github#361, cilium/cilium#47088): bot-rerun opens a new one from the branch,
    re-rendered on top of the maintainer's commit, linking the old one, which loses the label."""
    repo = add_feedstock(stand, tmp_path, "alpha-pkg")
    run(xbuildenv="314.0.5")
    number = stand.pulls(ORG, repo)[0]["number"]
    stand.close(ORG, repo, number)
    bare = stand.git_root / ORG / f"{repo}.git"
    git(bare, "update-ref", f"refs/heads/{STABLE_BRANCH}", "main")  # force-pushed to main …
    theirs = maintainer_commit(stand, tmp_path, repo, STABLE_BRANCH, "Reworked")  # … and on
    stand.label(ORG, repo, number, RERUN_LABEL)
    stand.endpoints.clear()
    rerun = run(xbuildenv="314.0.5")
    assert [a.action for a in rerun.actions] == ["opened"]
    assert stand.endpoints["PATCH /repos/{o}/{r}/pulls/{n}"] == 1  # the re-open GitHub refused
    old, new = stand.pulls(ORG, repo)
    assert (old["number"], old["state"], new["state"]) == (number, "closed", "open")
    assert f"This pull request replaces #{number}" in new["body"]
    assert RERUN_LABEL not in [label["name"] for label in old["labels"]]
    head = tip(stand, repo, STABLE_BRANCH)
    assert new["head"]["sha"] == head
    assert git(bare, "rev-parse", f"{head}^").strip() == theirs  # their commit kept, under
    assert 'xbuildenv: "314.0.5"' in tip_config(stand, repo, STABLE_BRANCH)
    assert "Reworked" in tip_file(stand, repo, STABLE_BRANCH, "README.md")
    again = run(xbuildenv="314.0.5")
    assert states(again) == {repo: State.PR_OPEN}
    assert len(stand.pulls(ORG, repo)) == 2


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

    tag = "cp315-cp315-pyemscripten_2026_5_wasm32"
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
    assert "\nbuild-number: 1\n" in tip_config(stand, beta, PRE_BRANCH)  # harmless, consistent
    assert "| build-number | 0 | 1 |" in pull["body"]

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


@pytest.mark.parametrize("how", [502, 504, 200])
def test_a_graphql_query_github_stops_is_read_again_in_smaller_batches(
    stand: GitHubStandIn, tmp_path: Path, how: int
) -> None:
    """GitHub stops a GraphQL request at 10 s (502 or 504) or for its resources (200 with an
    error): the batch is halved until GitHub answers, and the run goes on."""
    repos = [add_feedstock(stand, tmp_path, f"pkg{i}") for i in range(5)]
    stand.faults.graphql_over = (2, how)  # a query naming more than 2 repositories is stopped
    stand.endpoints.clear()
    result = run(xbuildenv="314.0.5", dry_run=True)
    assert states(result) == dict.fromkeys(repos, State.READY)
    assert stand.graphql_refused == 2  # 5 repositories, then the last 3
    assert stand.endpoints["POST /graphql"] == 5  # 5 (stopped), 2, 3 (stopped), 1, 2


def test_a_repository_github_cannot_read_even_alone_is_reported_failed(
    stand: GitHubStandIn, tmp_path: Path
) -> None:
    repos = [add_feedstock(stand, tmp_path, f"pkg{i}") for i in range(2)]
    stand.faults.graphql_over = (0, 504)  # every query times out
    result = run(xbuildenv="314.0.5")
    assert states(result) == dict.fromkeys(repos, State.FAILED)
    reasons = {d.reason for d in result.decisions}
    assert reasons == {"GitHub could not read it: 504 We couldn't respond to your request in time"}
    assert result.actions == []


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


MAINTAINER = ("-c", "user.name=Maintainer", "-c", "user.email=maintainer@example.org")


def tip(stand: GitHubStandIn, repo: str, branch: str) -> str:
    return git(stand.git_root / ORG / f"{repo}.git", "rev-parse", f"refs/heads/{branch}").strip()


def maintainer_commit(stand: GitHubStandIn, tmp: Path, repo: str, branch: str, summary: str) -> str:
    """A maintainer's commit on ``branch``: the recipe's summary changed (which README shows)."""
    work = tmp / f"maintainer-{len(list(tmp.glob('maintainer-*')))}"
    git(
        tmp, "clone", "-q", "--branch", branch, str(stand.git_root / ORG / f"{repo}.git"), str(work)
    )
    meta = work / "recipe" / "meta.yaml"
    lines = meta.read_text().splitlines(keepends=True)
    meta.write_text("".join(f"  summary: {summary}\n" if "summary:" in x else x for x in lines))
    git(work, *MAINTAINER, "commit", "-qam", f"Say: {summary}")
    git(work, "push", "-q", "origin", f"HEAD:refs/heads/{branch}")
    return git(work, "rev-parse", "HEAD").strip()


def test_a_maintainers_commit_on_the_bots_branch_is_never_rewritten(
    stand: GitHubStandIn, tmp_path: Path
) -> None:
    """The bot would re-render over the fix (its render from main differs from the branch); it
    leaves the branch alone, says so in bot run and bot status, and re-renders on top only when
    asked with bot-rerun."""
    from smithy.bot.plan import BOT_EMAIL
    from smithy.bot.status import gather_status, text_lines
    from smithy.bot.status_page import render_page
    from tests.integration.conftest import smithy

    repo = add_feedstock(stand, tmp_path, "alpha-pkg")
    (opened,) = run(xbuildenv="314.0.5").actions
    bots = tip(stand, repo, STABLE_BRANCH)
    bare = stand.git_root / ORG / f"{repo}.git"
    assert git(bare, "log", "-1", "--format=%ae %ce", bots).split() == [BOT_EMAIL, BOT_EMAIL]
    fix = maintainer_commit(stand, tmp_path, repo, STABLE_BRANCH, "Fixed by a maintainer")

    again = run(xbuildenv="314.0.5")
    (decision,) = again.decisions
    assert decision.state == State.PR_OPEN
    assert "edited by maintainers" in decision.reason
    assert decision.pull is not None
    assert decision.pull.edited
    (action,) = again.actions
    assert (action.action, action.pull) == ("skipped", opened.pull)
    assert "edited by maintainers" in action.detail
    assert tip(stand, repo, STABLE_BRANCH) == fix  # untouched

    args = ["bot", "run", "--org", ORG, "--xbuildenv", "314.0.5", "--xbuildenv-metadata", METADATA]
    as_json = smithy(*args, "--json")
    assert as_json.code == 0, as_json.err
    (reported,) = json.loads(as_json.out)["decisions"]
    assert reported["state"] == "pr-open"
    assert "edited by maintainers" in reported["reason"]
    assert tip(stand, repo, STABLE_BRANCH) == fix

    status = gather_status(ORG, xbuildenv="314.0.5", metadata=METADATA)
    (row,) = status.to_json()["migrations"][0]["feedstocks"]
    assert (row["state"], row["pull"]["edited"]) == ("pr-open", True)
    assert "edited by maintainers" in row["reason"]
    assert any(repo in line and "edited by maintainers" in line for line in text_lines(status))
    assert "edited by maintainers" in render_page(status)
    shown = smithy("bot", "status", "--org", ORG, "--xbuildenv", "314.0.5",
                   "--xbuildenv-metadata", METADATA)  # fmt: skip
    assert (
        f"{repo}\tpr-open\tpull request #{opened.pull} is open, edited by maintainers" in shown.out
    )

    assert opened.pull is not None
    stand.label(ORG, repo, opened.pull, RERUN_LABEL)  # a maintainer asks for a re-render
    # and takes the label off again just before the bot does: GitHub answers the bot 404
    stand.faults.add("DELETE", f"/labels/{RERUN_LABEL}$", 404, "Label does not exist", after=True)
    rerun = run(xbuildenv="314.0.5")
    (action,) = rerun.actions
    assert action.action == "pushed", action
    assert "on top of the maintainers' commits" in action.detail
    head = tip(stand, repo, STABLE_BRANCH)
    assert git(bare, "rev-parse", f"{head}^").strip() == fix  # on top, the fix kept
    assert git(bare, "log", "-1", "--format=%ae %ce", head).split() == [BOT_EMAIL, BOT_EMAIL]
    assert "Fixed by a maintainer" in tip_file(stand, repo, STABLE_BRANCH, "README.md")
    assert "\nbuild-number: 1\n" in tip_config(stand, repo, STABLE_BRANCH)  # bumped once only
    (pull,) = stand.pulls(ORG, repo)
    assert RERUN_LABEL not in [label["name"] for label in pull["labels"]]
    assert [a.action for a in run(xbuildenv="314.0.5").actions] == ["skipped"]
    assert tip(stand, repo, STABLE_BRANCH) == head


def test_the_bot_refreshes_its_own_branch_but_not_over_a_commit_pushed_while_it_runs(
    stand: GitHubStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import smithy.bot.branch

    repo = add_feedstock(stand, tmp_path, "alpha-pkg")
    run(xbuildenv="314.0.5")
    first = tip(stand, repo, STABLE_BRANCH)
    maintainer_commit(stand, tmp_path, repo, "main", "Changed on main")
    refreshed = run(xbuildenv="314.0.5")  # main moved: the bot's own branch is re-rendered
    assert [a.action for a in refreshed.actions] == ["pushed"]
    second = tip(stand, repo, STABLE_BRANCH)
    assert second != first
    bare = stand.git_root / ORG / f"{repo}.git"
    assert git(bare, "rev-parse", f"{second}^").strip() == tip(stand, repo, "main")

    maintainer_commit(stand, tmp_path, repo, "main", "Again on main")
    real = smithy.bot.branch._fetch_tip
    pushed: list[str] = []

    def then_a_maintainer_pushes(*args: object) -> str | None:
        seen = real(*args)  # type: ignore[arg-type]
        if not pushed:  # between the bot's look at the branch and its push
            pushed.append(maintainer_commit(stand, tmp_path, repo, STABLE_BRANCH, "Raced in"))
        return seen

    monkeypatch.setattr(smithy.bot.branch, "_fetch_tip", then_a_maintainer_pushes)
    raced = run(xbuildenv="314.0.5")
    (action,) = raced.actions
    assert action.action == "skipped", action
    assert "did not make" in action.detail
    assert tip(stand, repo, STABLE_BRANCH) == pushed[0]  # the lease refused the push


def test_a_migration_pr_asks_github_to_merge_it_when_the_feedstock_opted_in(
    stand: GitHubStandIn, tmp_path: Path
) -> None:
    """bot.automerge is read for migrations as for version updates: auto-merge (squash) is
    enabled on the PR the bot opens, on a repository that allows it and requires checks."""
    import requests

    opted = add_feedstock(stand, tmp_path, "alpha-pkg", automerge=True)
    other = add_feedstock(stand, tmp_path, "beta-pkg")
    token = {"Authorization": f"token {TOKEN}"}
    for repo in (opted, other):  # as register-github leaves a feedstock
        url = f"{stand.base_url}/repos/{ORG}/{repo}"
        allowed = requests.patch(url, json={"allow_auto_merge": True}, headers=token, timeout=10)
        assert allowed.status_code == 200, allowed.text
        protection = {
            "required_status_checks": {"strict": False, "contexts": ["build", "test"]},
            "enforce_admins": None,
            "required_pull_request_reviews": None,
            "restrictions": None,
        }
        done = requests.put(
            f"{url}/branches/main/protection", json=protection, headers=token, timeout=10
        )
        assert done.status_code == 200, done.text
    run(xbuildenv="314.0.5")
    (pull,) = stand.pulls(ORG, opted)
    assert pull["auto_merge"]["merge_method"] == "squash"
    (untouched,) = stand.pulls(ORG, other)
    assert untouched["auto_merge"] is None  # not opted in
