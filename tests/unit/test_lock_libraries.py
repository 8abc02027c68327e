"""Library wheels in a lock: a shared library is a ``shared_library`` entry made by hand
(pyodide-lock refuses ``py3-none-pyemscripten_*``), a static one is build-time only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smithy.channel.local import LocalChannel
from smithy.channel.upload import Origin, run_upload
from smithy.lock.build import run_lock
from smithy.lock.resolve import ResolutionError
from smithy.xbuildenv import PINNED_DEFAULT
from tests.helpers import make_build

LIBRARY = "py3-none-pyemscripten_2026_0_wasm32"


@pytest.fixture
def channel(tmp_path: Path) -> LocalChannel:
    dist = tmp_path / "dist"
    wheels = [
        make_build(
            dist,
            "libx",
            "1.0",
            0,
            tag=LIBRARY,
            files={"libx.so": b"\0asm"},
            library="shared_library",
        ),
        make_build(
            dist,
            "libz",
            "1.3",
            2,
            tag=LIBRARY,
            files={"libz/prefix/lib/libz.a": b"!<arch>\n"},
            library="static_library",
        ),
        make_build(dist, "uses-x", "1.0", 0, requires=("libx>=1",)),
        make_build(dist, "uses-z", "1.0", 0, requires=("libz",)),
    ]
    found = LocalChannel(tmp_path / "channel")
    run_upload(wheels, found, label="main", xbuildenv=PINNED_DEFAULT, origin=Origin())
    return found


def lock(channel: LocalChannel, tmp_path: Path, *requests: str) -> dict[str, dict[str, object]]:
    out = tmp_path / "pyodide-lock.json"
    run_lock(list(requests), channel, label="main", xbuildenv=PINNED_DEFAULT, output=out)
    return json.loads(out.read_text())["packages"]  # type: ignore[no-any-return]


def test_a_shared_library_is_a_shared_library_entry(channel: LocalChannel, tmp_path: Path) -> None:
    packages = lock(channel, tmp_path, "uses-x")
    assert packages["uses-x"]["depends"] == ["libx"]
    entry = packages["libx"]
    assert entry["package_type"] == "shared_library"
    assert entry["install_dir"] == "site"
    assert entry["imports"] == []
    assert entry["depends"] == []
    assert entry["version"] == "1.0"
    assert str(entry["file_name"]).endswith("libx-1.0-0-py3-none-pyemscripten_2026_0_wasm32.whl")
    assert len(str(entry["sha256"])) == 64


def test_a_static_library_asked_for_is_left_out_and_said_so(
    channel: LocalChannel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert set(lock(channel, tmp_path, "libz", "uses-x")) == {"uses-x", "libx"}
    assert (
        "libz is a static library, used only at build time: not in the lock"
        in capsys.readouterr().err
    )


def test_a_package_that_needs_a_static_library_is_refused_naming_both(
    channel: LocalChannel, tmp_path: Path
) -> None:
    with pytest.raises(ResolutionError, match="uses-z 1.0 depends on libz, a static library"):
        lock(channel, tmp_path, "uses-z")
    assert not (tmp_path / "pyodide-lock.json").exists()
