"""review shows each staged file's build number, the build it follows in main, and the recipe's
Requires-Dist beside upstream's when they differ."""

from __future__ import annotations

from pathlib import Path

from smithy.channel.local import LocalChannel
from smithy.channel.review import run_review
from smithy.channel.upload import Origin, run_upload
from tests.helpers import make_build


def upload(channel: LocalChannel, wheel: Path, label: str) -> None:
    run_upload([wheel], channel, label=label, xbuildenv=None, origin=Origin())


def test_a_rebuild_shows_both_builds_and_the_recipes_needs(tmp_path: Path) -> None:
    channel = LocalChannel(tmp_path / "channel")
    upload(channel, make_build(tmp_path / "a", "tiny", "1.0", 0, requires=("a",)), "main")
    rebuilt = make_build(
        tmp_path / "b",
        "tiny",
        "1.0",
        1,
        requires=("a", "b>=2"),
        upstream_requires=("a", "c; sys_platform != 'emscripten'"),
    )
    upload(channel, rebuilt, "staging")
    (review,) = run_review(channel, channel, label="staging")
    data = review.to_json()
    assert (data["build"], data["baseline_build"]) == (1, 0)
    assert data["requires_dist"] == ["a", "b>=2"]
    assert data["upstream_requires_dist"] == ["a", "c; sys_platform != 'emscripten'"]
    assert data["requires_differ_from_upstream"] is True
    assert data["requires_added"] == ["b>=2"]
    lines = review.lines()
    assert lines[0].startswith("tiny-1.0-1-py3-none-any.whl  (build 1, ")
    assert "  needs     recipe: a, b>=2; upstream: a, c; sys_platform != 'emscripten'" in lines
    assert any(
        line.startswith(
            "  vs main   tiny-1.0-0-py3-none-any.whl (build 0): same version, new build"
        )
        for line in lines
    )


def test_the_same_needs_as_upstream_or_none_kept_are_not_shown(tmp_path: Path) -> None:
    channel = LocalChannel(tmp_path / "channel")
    same = make_build(tmp_path / "a", "same", "1.0", 0, requires=("a",), upstream_requires=("a",))
    old = make_build(tmp_path / "a", "old", "1.0", None, requires=("a",))
    for wheel in (same, old):
        upload(channel, wheel, "staging")
    reviews = {r.staged.package: r for r in run_review(channel, channel, label="staging")}
    assert reviews["same"].to_json()["requires_differ_from_upstream"] is False
    assert reviews["old"].to_json()["upstream_requires_dist"] is None
    assert reviews["old"].to_json()["build"] is None
    assert reviews["old"].lines()[0].startswith("old-1.0-py3-none-any.whl  (no build tag, ")
    assert not any("recipe:" in line for r in reviews.values() for line in r.lines())
