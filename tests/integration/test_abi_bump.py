"""An Emscripten-only bump is a new ABI everywhere or nowhere: upload, lock, build's host
placement and the bot read it from one place (smithy.platform), so they always agree.

Pyodide's real metadata has no such release yet (every Emscripten change came with a new
Python or a new ABI), so the metadata here is the real file plus one crafted release, 314.9.0:
Python 3.14.2 as 314.0.5, Emscripten 5.0.9 instead of 5.0.3, and an ``abi_version`` that says
whether Pyodide gave it a new ABI ("2026_1"), kept the old one ("2026_0"), or says nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smithy.build.host import choose_wheel
from smithy.channel.local import LocalChannel
from smithy.channel.model import Provenance
from smithy.channel.wheel import read_wheel
from smithy.errors import XBuildEnvError
from smithy.xbuildenv import load_catalog
from tests.conftest import METADATA
from tests.integration.conftest import smithy
from tests.wheels import make_wheel

OLD = "cp314-cp314-pyemscripten_2026_0_wasm32"


def crafted(tmp_path: Path, abi: str | None) -> Path:
    data = json.loads(METADATA.read_text())
    release = dict(data["releases"]["314.0.5"], version="314.9.0", emscripten_version="5.0.9")
    release["url"] = release["url"].replace("314.0.5", "314.9.0")
    if abi is not None:
        release["abi_version"] = abi
    data["releases"]["314.9.0"] = release
    path = tmp_path / f"metadata-{abi}.json"
    path.write_text(json.dumps(data))
    return path


def channel_with_old_wheel(tmp_path: Path) -> tuple[LocalChannel, Path]:
    wheel = make_wheel(tmp_path / "w", "oldabi", "1.0", tag=OLD)
    channel = LocalChannel(tmp_path / "channel")
    info = read_wheel(wheel)
    channel.put(info, labels=("main",), provenance=Provenance(sha256=info.sha256))
    return channel, wheel


@pytest.mark.parametrize(
    ("abi", "new"),
    [("2026_1", True), (None, True), ("2026_0", False)],
    ids=["declared-new-abi", "undeclared", "declared-same-abi"],
)
def test_every_part_agrees_on_an_emscripten_only_bump(
    tmp_path: Path, abi: str | None, new: bool
) -> None:
    metadata = crafted(tmp_path, abi)
    catalog = load_catalog(str(metadata))
    before, after = catalog.get("314.0.5"), catalog.get("314.9.0")
    channel, wheel = channel_with_old_wheel(tmp_path)
    x = ("--xbuildenv", "314.9.0", "--xbuildenv-metadata", str(metadata))

    # the bot: an ABI migration, or a plain rebuild
    assert after.abi_breaking_from(before) is new

    # upload: the old ABI's wheel is refused for the new xbuildenv, or taken
    uploaded = smithy("upload", wheel, "--channel", tmp_path / "up", "--label", "main", *x)
    assert (uploaded.code == 0) is not new, uploaded.err

    # lock: the channel's old-ABI wheel does not satisfy the new xbuildenv, or does
    out = tmp_path / "lock.json"
    locked = smithy("lock", "oldabi", "--channel", channel.root, "-o", out, *x)
    assert (locked.code == 0) is not new, locked.err

    # build's host placement: the old wheel is not put in place, or is
    files = channel.files("oldabi")
    if abi is None:  # nobody said which ABI: nothing is guessed, the build stops and says so
        with pytest.raises(XBuildEnvError, match="Pyodide ABI of xbuildenv 314.9.0"):
            choose_wheel(files, after, "")
        assert "Pyodide ABI of xbuildenv 314.9.0" in uploaded.err
        assert "Pyodide ABI of xbuildenv 314.9.0" in locked.err
    else:
        assert (choose_wheel(files, after, "") is None) is new
        if new:
            assert "2026_1" in uploaded.err
