"""The status page's graph layout and rendering, without a browser."""

from __future__ import annotations

import json
import re
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
from smithy.bot.status_page import (
    GRAPH_TOP,
    NODE_W,
    blocking_part,
    graph_data,
    reduced,
    render_page,
)


def stock(
    name: str, state: str = "ready", deps: tuple[str, ...] = (), waits: tuple[str, ...] = ()
) -> FeedstockStatus:
    return FeedstockStatus(
        name=name,
        state=state,
        reason=f"<b>{name}</b>",
        pinned="314.0.4",
        repository=f"https://github.com/o/{name}",
        link="",
        waiting_on=waits,
        depends_on=deps or waits,
    )


def waiting(name: str, *on: str) -> FeedstockStatus:
    return stock(name, "awaiting-dependencies", waits=on)


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


def test_the_graph_is_the_biggest_blockers_with_implied_lines_left_out() -> None:
    m = migration(
        stock("a", "pr-open"),
        waiting("b", "a"),
        waiting("c", "b", "a"),
        waiting("leaf", "c"),
        stock("d", "up-to-date"),
        stock("e", "ready", deps=("d",)),  # its dependency published: nothing blocks it
        stock("z"),
    )
    assert blocking_part(m, m.blockers()) == {
        "held": {"a": 3, "b": 2, "c": 1},  # what only waits is counted, not drawn
        "deps": {"a": (), "b": ("a",), "c": ("b",)},  # c -> a: implied by c -> b -> a
    }


def test_the_graph_stops_at_the_biggest_blockers_and_keeps_their_chains() -> None:
    stocks = [stock(f"root{i:02}", "failed") for i in range(GRAPH_TOP + 5)]
    stocks += [waiting(f"leaf{i:02}", f"root{i:02}") for i in range(GRAPH_TOP + 5)]
    stocks += [waiting("mid", "root00"), waiting("end", "mid"), waiting("end2", "mid")]
    m = migration(*stocks)
    drawn = blocking_part(m, m.blockers())
    assert len(drawn["held"]) == GRAPH_TOP
    assert list(drawn["held"])[:2] == ["root00", "mid"]  # 4 and 2 held back; the rest 1
    assert drawn["deps"]["mid"] == ("root00",)


def test_reduced_keeps_what_no_longer_path_implies_and_cycles() -> None:
    deps = {"c": ["a", "b"], "b": ["a"], "a": [], "d": ["c", "a", "e"], "e": []}
    assert reduced(deps) == {"c": ("b",), "b": ("a",), "a": (), "d": ("c", "e"), "e": ()}
    cycle = {"x": ["y"], "y": ["x"], "w": ["x", "y"]}
    assert reduced(cycle) == {"x": ("y",), "y": ("x",), "w": ("x", "y")}


def test_the_script_draws_a_selected_feedstock_from_the_dependency_graph() -> None:
    """Every feedstock with a dependency or dependent in its migration, its state and its
    dependencies less the implied ones; loners left out."""
    m = migration(
        stock("a", "up-to-date"),
        stock("b", deps=("a",)),
        stock("c", deps=("a", "b")),
        stock("z"),
    )
    data = graph_data(StatusReport("o", "now", (m,)))
    assert data["nodes"] == {"a": ["up-to-date", []], "b": ["ready", ["a"]], "c": ["ready", ["b"]]}
    assert data["blocking"] == {"315.0.0a2": {"held": {}, "deps": {}}}
    assert data["size"][0] == NODE_W


def test_blockers_rank_by_what_waits_transitively_with_the_states_they_wait_on() -> None:
    m = migration(
        stock("numpy", "merged-awaiting-upload"),
        stock("libopenblas", "failed"),
        waiting("scipy", "libopenblas", "numpy"),
        waiting("sklearn", "scipy"),
        waiting("pandas", "numpy"),
        stock("six", "pr-open"),
        waiting("dateutil", "six"),
        stock("pure", "up-to-date"),
    )
    ranked = [(b.name, len(b.holds_back), b.state, b.waiting_on) for b in m.blockers()]
    assert ranked == [
        ("numpy", 3, "merged-awaiting-upload", ()),
        ("libopenblas", 2, "failed", ()),
        ("scipy", 1, "awaiting-dependencies",
         (("libopenblas", "failed"), ("numpy", "merged-awaiting-upload"))),
        ("six", 1, "pr-open", ()),
    ]  # fmt: skip
    assert m.blockers()[0].holds_back == ("pandas", "scipy", "sklearn")
    assert m.progress() == {"done": 1, "in-pr": 2, "waiting": 4, "declined": 0, "failed": 1}
    assert m.to_json()["blockers"][2] == {
        "name": "scipy", "state": "awaiting-dependencies", "holds_back": 1,
        "held_back": ["sklearn"],
        "waiting_on": [{"name": "libopenblas", "state": "failed"},
                       {"name": "numpy", "state": "merged-awaiting-upload"}],
    }  # fmt: skip

    lines = text_lines(StatusReport("o", "now", (m,)), top=2)
    assert lines[1] == (
        "  progress [#####==========--------------------!!!!!] 12% done: "
        "# 1 done, = 2 in PR, - 4 waiting, . 0 declined, ! 1 failed"
    )
    assert lines[2:5] == [
        "  biggest blockers (2 of 4):",
        "    numpy holds back 3 (merged-awaiting-upload)",
        "    libopenblas holds back 2 (failed)",
    ]
    scipy = (
        "    scipy holds back 1 (awaiting-dependencies: waits on libopenblas failed, numpy "
        "merged-awaiting-upload)"
    )
    assert scipy in text_lines(StatusReport("o", "now", (m,)))


def test_a_migration_without_an_abi_change_has_no_blockers() -> None:
    m = migration(stock("a", "pr-open"), stock("b", "pr-open", deps=("a",)))
    assert m.blockers() == ()
    assert not any("blockers" in line for line in text_lines(StatusReport("o", "now", (m,))))
    page = render_page(StatusReport("o", "now", (m,)))
    assert "Biggest blockers" not in page
    assert "data-blocking=" not in page  # nothing blocks: no graph until one is selected


def test_the_page_shows_progress_blockers_and_their_graph() -> None:
    stocks = [stock("numpy", "pr-open"), *(waiting(f"dep{i:02}", "numpy") for i in range(12))]
    stocks += [waiting(f"next{i:02}", f"dep{i:02}") for i in range(11)]
    m = migration(*stocks, stock("done", "up-to-date"))
    page = render_page(StatusReport("o", "now", (m,)))
    bar = page.split('<div class="progress"', 1)[1].split("</div>", 1)[0]
    widths = {
        p: float(w) for p, w in re.findall(r'class="part-([a-z-]+)" style="width: ([\d.]+)%', bar)
    }
    assert widths == {"done": 4.0, "in-pr": 4.0, "waiting": 92.0}
    assert 'aria-label="1 done, 1 in PR, 23 waiting, 0 declined, 0 failed"' in bar
    top, more = page.split("<details><summary>2 more blockers</summary>", 1)
    assert re.findall(r'<tr data-blocker="([^"]+)">', top) == [
        "numpy",
        *(f"dep{i:02}" for i in range(9)),
    ]
    assert re.findall(r'<tr data-blocker="([^"]+)">', more) == ["dep09", "dep10"]
    row = top.split('<tr data-blocker="numpy">', 1)[1].split("</tr>", 1)[0]
    assert '<td class="n" title="dep00, dep01' in row
    assert ">23</td>" in row
    assert "&lt;b&gt;numpy&lt;/b&gt;" in row  # it waits on nothing: why it blocks
    blocking = json.loads(script_data(page))["blocking"]["315.0.0a2"]
    assert blocking["held"] == {"numpy": 23} | {f"dep{i:02}": 1 for i in range(11)}
    assert '<div class="graph" data-blocking="315.0.0a2">' in page


def test_names_in_the_scripts_data_cannot_end_the_script() -> None:
    m = migration(stock("a</script><b>x"), stock("b", deps=("a</script><b>x",)))
    text = script_data(render_page(StatusReport("o", "now", (m,))))
    assert "</script>" not in text
    assert json.loads(text)["nodes"]["b"] == ["ready", ["a</script><b>x"]]


def script_data(page: str) -> str:
    data = page.split('<script type="application/json" id="graph-data">', 1)[1]
    return data.split("</script>", 1)[0]


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
    assert report["versions"] == {"checked": True, "problem": None, "behind": ["a"]}
    (m,) = report["migrations"]
    assert list(m) == ["xbuildenv", "python", "emscripten", "abi", "abi_change", "prerelease",
                       "counts", "feedstocks", "progress", "blockers"]  # fmt: skip
    assert list(m["progress"]) == ["done", "in-pr", "waiting", "declined", "failed"]
    blocker = migration(stock("x"), waiting("y", "x")).to_json()["blockers"][0]
    assert list(blocker) == ["name", "state", "holds_back", "held_back", "waiting_on"]
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
    assert StatusReport("o", "now", ()).to_json()["versions"]["behind"] is None  # not read
    keys = [*report, *report["versions"], *m, *m["progress"], *blocker, *f, *f["pull"]]
    for key in [*keys, *f["version"]]:
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
    at = next(i for i, line in enumerate(lines) if line.startswith("  d\t"))
    assert lines[at].endswith("\tversion 4.0 (up-to-date)")
    assert lines[at + 1] == f"    {RETIRE_NOTE}"
    assert [line for line in lines if "retired" in line] == [lines[at + 1]]
    assert lines[-2:] == [
        "behind upstream: 1 of 4 feedstocks",
        "  a: version 1.0 → 1.1 (pr-open: https://github.com/o/a/pull/2)",
    ]

    page = render_page(report)
    row = page.split('<tr data-feedstock="a"', 1)[1].split("</tr>", 1)[0]
    assert 'data-version="pr-open"' in row
    assert '1.0 → <span class="newer">1.1</span>' in row
    assert '<a href="https://github.com/o/a/pull/2">#2</a>' in row
    assert "the index answered &lt;b&gt;500&lt;/b&gt;" in page
    assert "Upstream versions" not in page  # checked: nothing to say
    lag = page.split('<section id="lag">', 1)[1].split("</section>", 1)[0]
    assert "<details open><summary>1 of 4 feedstocks behind upstream's newest" in lag
    assert re.findall(r'data-name="([^"]+)"', lag) == ["a"]
    assert '1.0 → <span class="newer">1.1</span> <a href="https://github.com/o/a/pull/2">#2' in lag
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
