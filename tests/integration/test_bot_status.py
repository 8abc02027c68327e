"""``bot status`` over an org in every state, and its HTML page in a real headless Chromium;
upstream versions from the package-index stand-in."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smithy.bot.plan import State
from smithy.bot.status import gather_status, text_lines
from smithy.bot.versions import run_versions
from smithy.channel.local import LocalChannel
from smithy.channel.model import Provenance
from smithy.channel.wheel import read_wheel
from tests.conftest import ROOT
from tests.integration import pypi_server
from tests.integration.conftest import smithy
from tests.integration.github_standin import GitHubStandIn
from tests.integration.pypi_server import FakeIndex
from tests.integration.test_bot_run import METADATA, ORG, add_feedstock, run
from tests.integration.test_bot_versions import NAME, publish, release
from tests.integration.test_bot_versions import add_feedstock as add_versioned
from tests.wheels import make_wheel

ABI = "315.0.0a2"
VERSIONED = "example-pkg-feedstock"  # example-pkg 1.2.3, from the index's sdist
DEAD_INDEX = "http://127.0.0.1:9/simple/"  # nothing listens there
# Debian's chromium; Ubuntu's and GitHub's runners have Chrome under these other names.
CHROMIUM = next(
    filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))),
    "/usr/bin/chromium",
)


def fs(name: str) -> str:
    return f"{name}-pkg-feedstock"


def number(stand: GitHubStandIn, repo: str) -> int:
    return int(stand.pulls(ORG, repo)[0]["number"])


@pytest.fixture
def index(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIndex]:
    with pypi_server.serve(FakeIndex()) as fake:
        monkeypatch.setenv("PYODIDE_SMITHY_INDEX_URL", f"{fake.base}/simple/")
        yield fake


def publish_pyodide_wheel(index: FakeIndex) -> None:
    """Upstream's own Pyodide wheel of 1.2.3 for the target's ABI, beside the sdists."""
    tag = "cp315-cp315-pyemscripten_2026_5_wasm32"
    meta = pypi_server.metadata(NAME, "1.2.3")
    made = pypi_server.wheel("example_pkg", "1.2.3", tag, {"example_pkg/__init__.py": b""}, meta)
    index.add_project(NAME, [release("1.2.3"), release("1.3.0"), made], absolute=True)


def version_pull(stand: GitHubStandIn) -> dict[str, Any]:
    (pull,) = [p for p in stand.pulls(ORG, VERSIONED) if "version-" in p["head"]["ref"]]
    return pull


@pytest.fixture
def org(stand: GitHubStandIn, index: FakeIndex, tmp_path: Path) -> dict[str, Any]:
    """An ABI migration to 315.0.0a2 with a feedstock in every state; one feedstock's upstream
    released 1.3.0 on the package index, and ``bot versions`` opened its pull request."""
    channel = tmp_path / "channel"
    channel.mkdir()
    publish(index, "1.2.3", "1.3.0")
    add_versioned(stand, index, tmp_path, VERSIONED, {})
    for name in ("alpha", "gamma", "delta", "epsilon", "zeta"):
        add_feedstock(stand, tmp_path, f"{name}-pkg")
    add_feedstock(stand, tmp_path, "beta-pkg", ("alpha-pkg",))
    add_feedstock(stand, tmp_path, "omega-pkg", ("beta-pkg", "delta-pkg"))
    add_feedstock(stand, tmp_path, "theta-pkg", migrations=False)
    stand.create_repo(
        ORG, "broken-feedstock", {"pyodide-smithy.yml": "bot: [", "recipe/meta.yaml": ""}
    )
    first = run(xbuildenv=ABI, channel=str(channel))
    assert {a.action for a in first.actions} == {"opened"}
    stand.set_checks(ORG, fs("alpha"), number(stand, fs("alpha")), "SUCCESS")
    stand.set_checks(ORG, fs("zeta"), number(stand, fs("zeta")), "FAILURE")
    stand.close(ORG, fs("gamma"), number(stand, fs("gamma")))
    for name in ("delta", "epsilon"):
        stand.merge(ORG, fs(name), number(stand, fs(name)))
    tag = "cp315-cp315-pyemscripten_2026_5_wasm32"
    wheel = read_wheel(make_wheel(tmp_path / "wheels", "epsilon-pkg", "1.0", tag=tag))
    LocalChannel(channel).put(wheel, labels=("main",), provenance=Provenance(sha256=wheel.sha256))
    versions = run_versions(ORG, metadata=METADATA)
    assert [a.action for a in versions.actions] == ["opened"]
    report = tmp_path / "run.json"  # a bot run that failed on zeta's feedstock
    report.write_text(
        json.dumps(
            {
                "org": ORG,
                "run_url": "https://github.com/o/admin/actions/runs/7",
                "decisions": [
                    {"feedstock": fs("zeta"), "state": "failed", "reason": "the bot failed: boom"}
                ],
            }
        )
    )
    return {"channel": str(channel), "report": report, "tmp": tmp_path, "index": index}


EXPECTED = {
    fs("alpha"): State.PR_OPEN,
    fs("beta"): State.AWAITING_DEPENDENCIES,
    fs("gamma"): State.DECLINED,
    fs("delta"): State.MERGED_AWAITING_UPLOAD,
    fs("epsilon"): State.UP_TO_DATE,
    fs("zeta"): State.FAILED,
    fs("omega"): State.AWAITING_DEPENDENCIES,
    fs("theta"): State.DECLINED,
    VERSIONED: State.PR_OPEN,
    "broken-feedstock": State.FAILED,
}


def status_of(org: dict[str, Any]) -> Any:
    return gather_status(
        ORG, xbuildenv=ABI, metadata=METADATA, channel=org["channel"], reports=[org["report"]],
        versions=True,
    )  # fmt: skip


def test_status_json_names_every_state_and_why(
    org: dict[str, Any], stand: GitHubStandIn, index: FakeIndex
) -> None:
    asked = len(index.pages_served(NAME))
    status = status_of(org)
    assert len(index.pages_served(NAME)) == asked + 1  # one request for its version and retire
    data = status.to_json()
    assert data["schema"] == 1
    assert data["runs"] == ["https://github.com/o/admin/actions/runs/7"]
    (migration,) = data["migrations"]
    assert (migration["xbuildenv"], migration["abi"], migration["abi_change"]) == (
        ABI,
        "2026_5",
        True,
    )
    rows = {f["name"]: f for f in migration["feedstocks"]}
    assert {n: f["state"] for n, f in rows.items()} == {n: str(s) for n, s in EXPECTED.items()}
    assert migration["counts"]["awaiting-dependencies"] == 2
    assert rows[fs("alpha")]["pull"]["ci"] == "success"
    assert rows[fs("alpha")]["link"].endswith("/checks")
    assert rows[fs("beta")]["waiting_on"] == [fs("alpha")]
    assert rows[fs("omega")]["waiting_on"] == [fs("beta"), fs("delta")]
    assert rows[fs("omega")]["depends_on"] == [fs("beta"), fs("delta")]
    assert rows[fs("zeta")]["reason"] == "the bot failed: boom"
    assert rows[fs("zeta")]["link"] == "https://github.com/o/admin/actions/runs/7"
    assert "pyodide-smithy.yml" in rows["broken-feedstock"]["reason"]
    assert rows["broken-feedstock"]["link"].endswith("/blob/HEAD/pyodide-smithy.yml")
    assert "closed unmerged" in rows[fs("gamma")]["reason"]
    assert rows[fs("theta")]["pinned"] == "314.0.4"

    assert data["versions"] == {"checked": True, "problem": None}
    pull = version_pull(stand)
    assert pull["head"]["ref"] == "pyodide-smithy/version-1.3.0"
    assert rows[VERSIONED]["version"] == {
        "current": "1.2.3",
        "newest": "1.3.0",
        "state": "pr-open",
        "reason": f"pull request #{pull['number']} for 1.3.0 is open",
        "pull": pull["html_url"],
        "upstream_wheel": None,  # its pin's ABI has no wheel of upstream's
    }
    assert rows[VERSIONED]["pull"]["url"] != pull["html_url"]  # the migration's PR is another
    alpha = rows[fs("alpha")]["version"]  # a project the index does not have
    assert (alpha["current"], alpha["newest"], alpha["pull"]) == ("1.2.3", None, None)
    assert (rows["broken-feedstock"]["version"], rows["broken-feedstock"]["retire"]) == (None, None)
    assert rows[VERSIONED]["retire"] is False
    line = next(line for line in text_lines(status) if line.startswith(f"  {VERSIONED}\t"))
    assert line.endswith(f"\tversion 1.2.3 → 1.3.0 (pr-open: {pull['html_url']})")
    assert not any("could be retired" in line for line in text_lines(status))

    publish_pyodide_wheel(index)  # upstream now covers 315.0.0a2, the org's one target
    again = status_of(org)
    assert len(index.pages_served(NAME)) == asked + 2
    rows = {f["name"]: f for f in again.to_json()["migrations"][0]["feedstocks"]}
    assert [n for n, row in rows.items() if row["retire"]] == [VERSIONED]
    assert rows[VERSIONED]["version"]["newest"] == "1.3.0"  # the wheel is no newer release
    lines = text_lines(again)
    at = next(i for i, line in enumerate(lines) if line.startswith(f"  {VERSIONED}\t"))
    assert lines[at + 1] == (
        "    Upstream publishes Pyodide wheels for every ABI the org targets: "
        "this feedstock could be retired."
    )


def test_versions_offline_and_with_the_index_unreachable(
    org: dict[str, Any], index: FakeIndex
) -> None:
    """--no-versions asks no index; an index that cannot be reached leaves the status whole,
    with versions unknown and one warning line."""
    base = ["bot", "status", "--org", ORG, "--xbuildenv", ABI, "--xbuildenv-metadata", METADATA]
    base += ["--channel", org["channel"]]
    asked = len(index.hits)
    offline = smithy(*base, "--json", "--no-versions")
    assert (offline.code, offline.err) == (0, "")
    assert len(index.hits) == asked
    data = json.loads(offline.out)
    assert data["versions"] == {"checked": False, "problem": None}
    rows = {f["name"]: f for f in data["migrations"][0]["feedstocks"]}
    assert rows[VERSIONED]["version"] == {
        "current": "1.2.3", "newest": None, "state": None, "reason": None, "pull": None,
        "upstream_wheel": None,
    }  # fmt: skip
    assert rows[VERSIONED]["state"] == "pr-open"  # the migration, as with versions

    unreachable = {"PYODIDE_SMITHY_INDEX_URL": DEAD_INDEX}
    text = smithy(*base, env=unreachable)
    as_json = smithy(*base, "--json", env=unreachable)
    for shown in (text, as_json):
        assert shown.code == 0, shown.err
        (warning,) = shown.err.splitlines()
        assert warning.startswith("warning: upstream versions unknown: the package index could ")
        assert "cannot reach the package index http://127.0.0.1:9/simple/" in warning
    assert f"{fs('alpha')}\tpr-open [CI success]\t" in text.out
    assert f"{VERSIONED}\tpr-open\t" in text.out
    assert "\tversion 1.2.3\n" in text.out  # on main; nothing more is known
    assert "→" not in text.out
    data = json.loads(as_json.out)
    assert data["versions"]["checked"] is False
    assert "cannot reach the package index" in data["versions"]["problem"]
    assert {f["retire"] for f in data["migrations"][0]["feedstocks"]} == {None}
    assert data["migrations"] == json.loads(offline.out)["migrations"]  # the same, offline


def test_status_command_line(org: dict[str, Any], stand: GitHubStandIn, tmp_path: Path) -> None:
    base = ["bot", "status", "--org", ORG, "--xbuildenv", ABI, "--xbuildenv-metadata", METADATA]
    base += ["--channel", org["channel"]]
    text = smithy(*base)
    assert (text.code, text.err) == (0, "")
    assert f"xbuildenv {ABI} (Python 3.15.0rc1, ABI 2026_5 (new))" in text.out
    assert f"{fs('alpha')}\tpr-open [CI success]" in text.out
    url = version_pull(stand)["html_url"]
    assert f"\tversion 1.2.3 → 1.3.0 (pr-open: {url})\n" in text.out
    assert (
        f"{fs('alpha')}\tpr-open [CI success]\tpull request #1 is open\tversion 1.2.3" in text.out
    )
    as_json = smithy(*base, "--json", "--run-report", str(org["report"]))
    assert json.loads(as_json.out)["migrations"][0]["counts"]["failed"] == 2
    site = tmp_path / "site"
    wrote = smithy(*base, "--html", str(site))
    assert wrote.code == 0, wrote.err
    assert {p.name for p in site.iterdir()} == {"index.html", "status.json"}
    bad = smithy(*base, "--run-report", str(tmp_path / "missing.json"), "--html", str(site))
    assert bad.code == 2
    assert "missing.json" in bad.err
    assert bad.err.count("\n") == 1
    not_json = tmp_path / "bad.json"
    not_json.write_text("{")
    worse = smithy(*base, "--run-report", str(not_json))
    assert (worse.code, "not JSON") == (2, "not JSON" if "not JSON" in worse.err else worse.err)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, driven by Playwright (scripts/check installs it where it can).

    Without it the page test is skipped, with the reason in the summary; CI sets
    PYODIDE_SMITHY_REQUIRE_BROWSER=1 so that there it fails instead."""
    if not Path(CHROMIUM).exists():
        why = "chromium is not installed: apt-get install chromium (scripts/check tries to)"
        if os.environ.get("PYODIDE_SMITHY_REQUIRE_BROWSER") == "1":
            pytest.fail(why)
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def serve(folder: Path) -> subprocess.Popen[bytes]:
    import socket
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    proc.port = port  # type: ignore[attr-defined]
    return proc


def test_the_page_in_headless_chromium(
    org: dict[str, Any], stand: GitHubStandIn, browser: Any, tmp_path: Path, update_golden: bool
) -> None:
    from smithy.bot.status_page import write_site

    publish_pyodide_wheel(org["index"])
    status = status_of(org)
    site = tmp_path / "site"
    write_site(status, site)
    server = serve(site)
    try:
        base = f"http://127.0.0.1:{server.port}/"  # type: ignore[attr-defined]
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(base)
        rows = page.locator("#feedstocks tbody tr")
        assert rows.count() == len(EXPECTED)
        for name, state in EXPECTED.items():
            row = page.locator(f'tr[data-feedstock="{name.lower()}"]')
            assert row.get_attribute("data-state") == str(state)
            assert row.is_visible()
        waiting = page.locator(f'tr[data-feedstock="{fs("beta")}"] td').nth(6)
        assert waiting.inner_text() == fs("alpha")
        pull = version_pull(stand)
        version = page.locator(f'tr[data-feedstock="{VERSIONED}"] td.version')
        assert version.inner_text() == f"1.2.3 → 1.3.0 #{pull['number']}"
        assert version.locator("a").get_attribute("href") == pull["html_url"]
        alpha = page.locator(f'tr[data-feedstock="{fs("alpha")}"] td.version')
        assert alpha.inner_text().startswith("1.2.3")
        assert alpha.locator("a").count() == 0
        (retired,) = page.locator(".retire").all()
        assert retired.is_visible()
        assert "this feedstock could be retired" in retired.inner_text()
        assert page.locator(f'tr[data-feedstock="{VERSIONED}"] .retire').count() == 1
        assert page.locator(".graph .node").count() == 4  # alpha, beta, delta, omega
        shots = ROOT / ".cache" / "status-page.png"
        shots.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(shots), full_page=True)
        if update_golden:
            shutil.copy(shots, ROOT / "docs" / "status-page.png")

        # filters: only the waiting ones, then a search, then a click on the graph
        for box in page.locator("input.state").all():
            if box.get_attribute("value") != "awaiting-dependencies":
                box.uncheck()
        visible = [r.get_attribute("data-feedstock") for r in rows.all() if r.is_visible()]
        assert visible == [fs("beta"), fs("omega")]
        assert "state=awaiting-dependencies" in page.url
        page.fill("#search", "omega")
        assert [r.get_attribute("data-feedstock") for r in rows.all() if r.is_visible()] == [
            fs("omega")
        ]
        page.locator("input.state").first.check()
        page.locator(f'.graph .node[data-name="{fs("alpha")}"]').click()
        assert page.input_value("#search") == fs("alpha")

        # the link a PR body carries
        linked = browser.new_page()
        linked.on("pageerror", lambda e: problems.append(str(e)))
        linked.goto(f"{base}?feedstock={fs('delta')}")
        shown = linked.locator("#feedstocks tbody tr:visible")
        assert shown.count() == 1
        assert shown.get_attribute("data-state") == "merged-awaiting-upload"
        assert problems == []
    finally:
        server.terminate()
        server.wait()
