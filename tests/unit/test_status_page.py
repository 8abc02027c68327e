"""The status page's graph layout and rendering, without a browser."""

from __future__ import annotations

from pathlib import Path

from smithy.bot.status import (
    RETIRE_NOTE,
    FeedstockStatus,
    MigrationStatus,
    StatusReport,
    VersionCheck,
    VersionStatus,
    text_lines,
    version_status,
    version_text,
)
from smithy.bot.status_page import NODE_W, layout, render_page


def stock(name: str, state: str = "ready", deps: tuple[str, ...] = ()) -> FeedstockStatus:
    return FeedstockStatus(
        name=name,
        state=state,
        reason=f"<b>{name}</b>",
        pinned="314.0.4",
        repository=f"https://github.com/o/{name}",
        link="",
        depends_on=deps,
    )


def migration(*stocks: FeedstockStatus) -> MigrationStatus:
    return MigrationStatus(
        xbuildenv="315.0.0a2",
        python="3.15.0rc1",
        emscripten="6.0.5",
        abi="2026_5",
        abi_change=True,
        prerelease=True,
        feedstocks=stocks,
    )


def test_columns_follow_the_dependency_order_and_loners_are_not_drawn() -> None:
    m = migration(stock("a"), stock("b", deps=("a",)), stock("c", deps=("b", "a")), stock("z"))
    drawing = layout(m)
    xs = {n.name: n.x for n in drawing.nodes}
    assert xs["a"] < xs["b"] < xs["c"]
    assert "z" not in xs
    assert drawing.hidden == 1
    assert {(e.source, e.target) for e in drawing.edges} == {("a", "b"), ("b", "c"), ("a", "c")}
    assert drawing.width >= xs["c"] + NODE_W


def test_a_cycle_is_drawn_and_terminates() -> None:
    m = migration(stock("x", deps=("y",)), stock("y", deps=("x",)))
    drawing = layout(m)
    assert {n.name for n in drawing.nodes} == {"x", "y"}
    assert len(drawing.edges) == 2


def test_text_from_github_is_escaped() -> None:
    report = StatusReport("o", "2026-11-25T00:00:00Z", (migration(stock("a")),))
    page = render_page(report)
    assert "&lt;b&gt;a&lt;/b&gt;" in page
    assert "<b>a</b>" not in page
    assert page.count('<tr data-feedstock="a"') == 1


def test_the_json_keys_are_the_documented_ones() -> None:
    """docs/status.md promises these keys; renaming or dropping one must fail here first."""
    from smithy.bot.status import PullStatus, VersionCheck, VersionStatus

    version = VersionStatus(
        current="1.0", newest="1.1", state="pr-open", reason="open", pull="https://x/pull/2"
    )
    pull = PullStatus(1, "https://x/pull/1", True, False, "success")
    pulled = FeedstockStatus(**{**stock("a").__dict__, "pull": pull, "version": version})
    data = StatusReport(
        "o", "2026-11-25T00:00:00Z", (migration(pulled),), ("https://run",), VersionCheck(True)
    )
    report = data.to_json()
    assert list(report) == ["schema", "org", "generated", "runs", "migrations", "versions"]
    assert report["versions"] == {"checked": True, "problem": None}
    (m,) = report["migrations"]
    assert list(m) == ["xbuildenv", "python", "emscripten", "abi", "abi_change", "prerelease",
                       "counts", "feedstocks"]  # fmt: skip
    assert list(m["counts"]) == ["up-to-date", "ready", "pr-open", "merged-awaiting-upload",
                                 "awaiting-dependencies", "declined", "failed"]  # fmt: skip
    (f,) = m["feedstocks"]
    assert list(f) == ["name", "state", "reason", "pinned", "repository", "link", "waiting_on",
                       "depends_on", "pull", "version", "retire"]  # fmt: skip
    assert list(f["pull"]) == ["number", "url", "open", "merged", "ci", "edited"]
    assert f["version"] == {"current": "1.0", "newest": "1.1", "state": "pr-open",
                            "reason": "open", "pull": "https://x/pull/2",
                            "upstream_wheel": None}  # fmt: skip
    assert f["retire"] is None  # the index was not asked whether upstream covers the ABIs
    assert (stock("b").to_json()["version"], stock("b").to_json()["retire"]) == (None, None)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "status.md").read_text()
    for key in [*report, *report["versions"], *m, *f, *f["pull"], *f["version"]]:
        assert f"`{key}`" in docs or f'"{key}"' in docs, key


def with_version(name: str, version: VersionStatus) -> FeedstockStatus:
    return FeedstockStatus(**{**stock(name).__dict__, "version": version})


def test_versions_in_the_text_and_on_the_page() -> None:
    newer = VersionStatus(current="1.0", newest="1.1", state="pr-open",
                          reason="pull request #2 for 1.1 is open",
                          pull="https://github.com/o/a/pull/2", number=2)  # fmt: skip
    failed = VersionStatus(current="2.0", state="failed", reason="the index answered <b>500</b>")
    unknown = VersionStatus(current="3.0")
    covered = VersionStatus(current="4.0", state="up-to-date", reason="newest", retire=True)
    m = migration(
        with_version("a", newer),
        with_version("b", failed),
        with_version("c", unknown),
        with_version("d", covered),
    )
    report = StatusReport("o", "2026-11-25T00:00:00Z", (m,), versions=VersionCheck(True))
    lines = text_lines(report)
    assert (
        "  a\tready\t<b>a</b>\tversion 1.0 → 1.1 (pr-open: https://github.com/o/a/pull/2)" in lines
    )
    assert any(
        line.endswith("\tversion 2.0 (failed: the index answered <b>500</b>)") for line in lines
    )
    assert any(line.endswith("\tversion 3.0") for line in lines)
    assert lines[-2].endswith("\tversion 4.0 (up-to-date)")
    assert lines[-1] == f"    {RETIRE_NOTE}"
    assert [line for line in lines if "retired" in line] == [lines[-1]]

    page = render_page(report)
    row = page.split('<tr data-feedstock="a"', 1)[1].split("</tr>", 1)[0]
    assert 'data-version="pr-open"' in row
    assert '1.0 → <span class="newer">1.1</span>' in row
    assert '<a href="https://github.com/o/a/pull/2">#2</a>' in row
    assert "the index answered &lt;b&gt;500&lt;/b&gt;" in page
    assert "Upstream versions" not in page  # checked: nothing to say
    assert page.count(RETIRE_NOTE) == 1
    assert RETIRE_NOTE in page.split('<tr data-feedstock="d"', 1)[1].split("</tr>", 1)[0]


def test_the_page_says_when_versions_are_unknown_or_not_checked() -> None:
    unknown = VersionCheck(False, "cannot reach the package index <x>")
    m = migration(with_version("a", VersionStatus(current="1.0")))
    page = render_page(StatusReport("o", "2026-11-25T00:00:00Z", (m,), versions=unknown))
    assert "Upstream versions unknown: cannot reach the package index &lt;x&gt;" in page
    skipped = render_page(StatusReport("o", "2026-11-25T00:00:00Z", (m,)))
    assert "Upstream versions not checked (<code>--no-versions</code>)" in skipped


def test_a_switch_to_upstreams_wheel_alone_is_no_newer_version() -> None:
    """bot versions proposes upstream's Pyodide wheel of the version on main: no "1.2.3 →
    1.2.3", the wheel named instead."""
    from packaging.version import Version

    from smithy.bot.plan import Pull
    from smithy.bot.version_plan import VersionDecision, VersionState
    from smithy.recipe.pypi_index import IndexFile

    wheel = "pkg-1.2.3-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    file = IndexFile(filename=wheel, url=f"https://files.example/{wheel}", sha256="ab" * 32,
                     version=Version("1.2.3"), wheel=True)  # fmt: skip
    pull = Pull(number=7, open=True, merged=False, url="https://github.com/o/pkg/pull/7")
    decision = VersionDecision(feedstock="pkg", state=VersionState.PR_OPEN, reason="open",
                               current="1.2.3", newest="1.2.3", pull=pull, switch=file)  # fmt: skip
    v = version_status("1.2.3", decision, retire=False)
    assert (v.current, v.newest, v.upstream_wheel, v.number) == ("1.2.3", None, wheel, 7)
    assert version_text(v) == (
        f"version 1.2.3, upstream's wheel {wheel} (pr-open: https://github.com/o/pkg/pull/7)"
    )
    page = render_page(StatusReport("o", "now", (migration(with_version("pkg", v)),)))
    assert f'<span class="vstate" title="{wheel}">upstream wheel</span>' in page
