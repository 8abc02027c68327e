"""The status page's graph layout and rendering, without a browser."""

from __future__ import annotations

from pathlib import Path

from smithy.bot.status import FeedstockStatus, MigrationStatus, StatusReport
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
    from smithy.bot.status import PullStatus

    pulled = FeedstockStatus(
        **{**stock("a").__dict__, "pull": PullStatus(1, "https://x/pull/1", True, False, "success")}
    )
    data = StatusReport("o", "2026-11-25T00:00:00Z", (migration(pulled),), ("https://run",))
    report = data.to_json()
    assert list(report) == ["schema", "org", "generated", "runs", "migrations"]
    (m,) = report["migrations"]
    assert list(m) == ["xbuildenv", "python", "emscripten", "abi", "abi_change", "prerelease",
                       "counts", "feedstocks"]  # fmt: skip
    assert list(m["counts"]) == ["up-to-date", "ready", "pr-open", "merged-awaiting-upload",
                                 "awaiting-dependencies", "declined", "failed"]  # fmt: skip
    (f,) = m["feedstocks"]
    assert list(f) == ["name", "state", "reason", "pinned", "repository", "link", "waiting_on",
                       "depends_on", "pull"]  # fmt: skip
    assert list(f["pull"]) == ["number", "url", "open", "merged", "ci", "edited"]
    docs = (Path(__file__).resolve().parents[2] / "docs" / "status.md").read_text()
    for key in [*report, *m, *f, *f["pull"]]:
        assert f"`{key}`" in docs or f'"{key}"' in docs, key
