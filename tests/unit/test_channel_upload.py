"""upload to a local channel: a published name never changes its bytes; a rebuild is a new build."""

from __future__ import annotations

from pathlib import Path

import pytest

from smithy.channel.local import LocalChannel
from smithy.channel.upload import Origin, run_upload
from smithy.errors import ChannelError
from tests.helpers import make_build

FEEDSTOCK = Origin(package="tiny-pkg")


def upload(channel: LocalChannel, *wheels: Path, origin: Origin = FEEDSTOCK) -> list[str]:
    results = run_upload(list(wheels), channel, label="main", xbuildenv=None, origin=origin)
    return [str(r.outcome) for r in results]


def test_same_name_other_bytes_is_refused_with_the_build_number_to_bump(tmp_path: Path) -> None:
    channel = LocalChannel(tmp_path / "channel")
    first = make_build(tmp_path / "a", "tiny-pkg", "1.0", 0)
    assert upload(channel, first) == ["uploaded"]
    assert upload(channel, first) == ["exists"]  # same sha256: skipped
    rebuilt = make_build(tmp_path / "b", "tiny-pkg", "1.0", 0, files={"tiny_pkg/__init__.py": ""})
    with pytest.raises(ChannelError) as caught:
        upload(channel, rebuilt)
    assert str(caught.value) == (
        "tiny_pkg-1.0-0-py3-none-any.whl is already on the channel with another sha256 "
        "(build 0): bump build-number in pyodide-smithy.yml to publish a rebuild "
        "(--replace overwrites the published file instead)"
    )
    bumped = make_build(tmp_path / "c", "tiny-pkg", "1.0", 1, files={"tiny_pkg/__init__.py": ""})
    assert upload(channel, bumped) == ["uploaded"]
    assert sorted(f.filename for f in channel.files("tiny-pkg")) == [first.name, bumped.name]


def test_outside_a_feedstock_the_refusal_names_the_build_tag(tmp_path: Path) -> None:
    channel = LocalChannel(tmp_path / "channel")
    upload(channel, make_build(tmp_path / "a", "tiny-pkg", "1.0", None), origin=Origin())
    other = make_build(tmp_path / "b", "tiny-pkg", "1.0", None, files={"tiny_pkg/x.py": ""})
    with pytest.raises(ChannelError, match=r"\(no build tag\): give a rebuild a higher build tag"):
        upload(channel, other, origin=Origin())


def test_several_refusals_say_what_to_do_once_more_at_the_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    channel = LocalChannel(tmp_path / "channel")
    names = ("one", "two")
    upload(channel, *(make_build(tmp_path / "a", n, "1.0", 0) for n in names), origin=Origin())
    again = [make_build(tmp_path / "b", n, "1.0", 0, files={f"{n}/y.py": ""}) for n in names]
    with pytest.raises(ChannelError, match="2 of 2 wheels failed .*new build number"):
        upload(channel, *again, origin=Origin())
    assert capsys.readouterr().err.count("already on the channel with another sha256") == 2
