"""``bot status`` over an org in every state, and its HTML page in a real headless Chromium."""

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
from smithy.bot.status import gather_status
from smithy.channel.local import LocalChannel
from smithy.channel.model import Provenance
from smithy.channel.wheel import read_wheel
from tests.conftest import ROOT
from tests.integration.conftest import smithy
from tests.integration.github_standin import GitHubStandIn
from tests.integration.test_bot_run import METADATA, ORG, add_feedstock, run
from tests.wheels import make_wheel

ABI = "315.0.0a2"
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
def org(stand: GitHubStandIn, tmp_path: Path) -> dict[str, Any]:
    """An ABI migration to 315.0.0a2 with a feedstock in every state."""
    channel = tmp_path / "channel"
    channel.mkdir()
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
    return {"channel": str(channel), "report": report, "tmp": tmp_path}


EXPECTED = {
    fs("alpha"): State.PR_OPEN,
    fs("beta"): State.AWAITING_DEPENDENCIES,
    fs("gamma"): State.DECLINED,
    fs("delta"): State.MERGED_AWAITING_UPLOAD,
    fs("epsilon"): State.UP_TO_DATE,
    fs("zeta"): State.FAILED,
    fs("omega"): State.AWAITING_DEPENDENCIES,
    fs("theta"): State.DECLINED,
    "broken-feedstock": State.FAILED,
}


def test_status_json_names_every_state_and_why(org: dict[str, Any]) -> None:
    status = gather_status(
        ORG, xbuildenv=ABI, metadata=METADATA, channel=org["channel"], reports=[org["report"]]
    )
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


def test_status_command_line(org: dict[str, Any], tmp_path: Path) -> None:
    base = ["bot", "status", "--org", ORG, "--xbuildenv", ABI, "--xbuildenv-metadata", METADATA]
    base += ["--channel", org["channel"]]
    text = smithy(*base)
    assert text.code == 0, text.err
    assert f"xbuildenv {ABI} (Python 3.15.0rc1, ABI 2026_5 (new))" in text.out
    assert f"{fs('alpha')}\tpr-open [CI success]" in text.out
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
    org: dict[str, Any], browser: Any, tmp_path: Path, update_golden: bool
) -> None:
    from smithy.bot.status_page import write_site

    status = gather_status(
        ORG, xbuildenv=ABI, metadata=METADATA, channel=org["channel"], reports=[org["report"]]
    )
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
        waiting = page.locator(f'tr[data-feedstock="{fs("beta")}"] td').nth(5)
        assert waiting.inner_text() == fs("alpha")
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
