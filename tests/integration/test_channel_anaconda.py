"""The Anaconda.org backend against the emulator (which binstar_client accepts as the real thing)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from smithy.channel.anaconda import AnacondaChannel
from smithy.channel.model import Provenance
from smithy.channel.upload import Origin, run_upload
from smithy.channel.wheel import read_wheel
from smithy.errors import ChannelError
from tests.integration.anaconda_emulator import AnacondaEmulator, running_emulator
from tests.integration.conftest import smithy
from tests.wheels import make_wheel

TOKEN = "tok-3f9a1c77e0d24b51"
STAGING_TOKEN = "tok-staging-8c1e"


@pytest.fixture
def emulator() -> Iterator[AnacondaEmulator]:
    with running_emulator() as emu:
        emu.add_owner("pyodide", TOKEN)
        emu.add_owner("pyodide-staging", STAGING_TOKEN)
        yield emu


def url(emu: AnacondaEmulator, owner: str = "pyodide") -> str:
    return f"{emu.api_url}/{owner}?index={emu.index_url}"


def channel(emu: AnacondaEmulator, owner: str = "pyodide", token: str = TOKEN) -> AnacondaChannel:
    return AnacondaChannel(owner, api_url=emu.api_url, index_url=emu.index_url, token=token)


def env(token: str = TOKEN) -> dict[str, str]:
    return {"ANACONDA_API_TOKEN": token, "NO_PROXY": "127.0.0.1"}


def stored(emu: AnacondaEmulator, owner: str = "pyodide") -> dict[str, tuple[str, list[str]]]:
    return {f["basename"]: (f["sha256"], sorted(f["labels"])) for f in emu.files(owner)}


def test_upload_records_provenance_and_lists_once_per_package(
    emulator: AnacondaEmulator, tmp_path: Path
) -> None:
    wheels = [
        make_wheel(tmp_path, "Tiny_Pkg", "1.0"),
        make_wheel(tmp_path, "Tiny_Pkg", "1.1"),
        make_wheel(tmp_path, "other", "2.0", tag="cp314-cp314-pyemscripten_2026_0_wasm32"),
    ]
    run = smithy("upload", *wheels, "--channel", url(emulator), env=env())
    assert run.code == 0, run.err
    assert TOKEN not in run.out + run.err
    files = {f["basename"]: f for f in emulator.files("pyodide")}
    assert set(files) == {w.name for w in wheels}
    for w in wheels:
        f = files[w.name]
        assert f["labels"] == ["staging"]
        assert f["sha256"] == read_wheel(w).sha256
        assert f["attrs"]["pyodide_smithy"]["sha256"] == f["sha256"]
        assert (
            emulator.file_bytes(
                "pyodide",
                f["package"] if "package" in f else w.name.split("-")[0],
                f["version"],
                w.name,
            )
            == w.read_bytes()
        )
    emulator.requests.clear()
    again = smithy("upload", *wheels, "--channel", url(emulator), env=env())
    assert "3 already there" in again.out
    # "is it already there": one listing per package, nothing else
    gets = [p for m, p in emulator.requests if m == "GET"]
    assert sorted(gets) == ["/api/package/pyodide/Tiny_Pkg", "/api/package/pyodide/other"]
    assert all(m == "GET" for m, _ in emulator.requests)


def test_listing_and_index(emulator: AnacondaEmulator, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "tiny", "1.0")
    assert (
        smithy("upload", wheel, "--channel", url(emulator), "--label", "main", env=env()).code == 0
    )
    run = smithy("channel", "list", "--channel", url(emulator), "--json", env=env())
    (f,) = json.loads(run.out)
    assert (f["filename"], f["labels"], f["size"]) == (wheel.name, ["main"], wheel.stat().st_size)
    assert f["provenance"]["tool"].startswith("pyodide-smithy")
    assert channel(emulator).index_url() == f"{emulator.index_url}/pyodide/simple/"
    assert (
        channel(emulator).index_url("staging")
        == f"{emulator.index_url}/pyodide/label/staging/simple/"
    )


def test_replace_survives_the_server_deleting_the_emptied_package(
    emulator: AnacondaEmulator, tmp_path: Path
) -> None:
    first = make_wheel(tmp_path / "a", "tiny", "1.0")
    second = make_wheel(tmp_path / "b", "tiny", "1.0", files={"tiny/__init__.py": "NEW = 1\n"})
    assert smithy("upload", first, "--channel", url(emulator), env=env()).code == 0
    refused = smithy("upload", second, "--channel", url(emulator), env=env())
    assert refused.code == 13
    assert "--replace" in refused.err
    assert emulator.faults.delete_empties
    run = smithy("upload", second, "--channel", url(emulator), "--replace", env=env())
    assert run.code == 0, run.err
    assert stored(emulator) == {second.name: (read_wheel(second).sha256, ["staging"])}
    assert emulator.count("DELETE", "/api/dist/pyodide/tiny/1.0/.*") == 1
    assert emulator.count("POST", "/api/package/pyodide/tiny") == 2  # re-created


def test_faults_end_with_every_file_once(emulator: AnacondaEmulator, tmp_path: Path) -> None:
    wheels = [make_wheel(tmp_path, f"pkg{i}", "1.0") for i in range(6)]
    emulator.faults.fail += [
        ("POST", r"/api/stage/pyodide/pkg0/", 500),
        ("POST", r"/storage", 503),
        ("POST", r"/api/commit/pyodide/pkg2/", 502),
    ]
    emulator.faults.drop += [("POST", r"/api/commit/pyodide/pkg3/"), ("POST", r"/storage")]
    emulator.faults.latency = 0.01
    results = run_upload(
        wheels, channel(emulator), label="staging", xbuildenv=None, origin=Origin(), jobs=4
    )
    assert sorted(r.outcome or "" for r in results) == ["uploaded"] * 6
    assert stored(emulator) == {w.name: (read_wheel(w).sha256, ["staging"]) for w in wheels}
    assert emulator.faults.fail == []
    assert emulator.faults.drop == []


def test_one_failure_does_not_stop_the_others_and_a_rerun_finishes(
    emulator: AnacondaEmulator, tmp_path: Path
) -> None:
    wheels = [make_wheel(tmp_path, f"pkg{i}", "1.0") for i in range(4)]
    emulator.faults.fail += [("POST", r"/api/stage/pyodide/pkg1/", 500)] * 20
    run = smithy("upload", *wheels, "--channel", url(emulator), env=env())
    assert run.code == 13
    assert "1 of 4 wheels failed (pkg1-1.0-py3-none-any.whl)" in run.err
    assert set(stored(emulator)) == {w.name for w in wheels if "pkg1" not in w.name}
    emulator.faults.fail.clear()
    rerun = smithy("upload", *wheels, "--channel", url(emulator), env=env())
    assert rerun.code == 0, rerun.err
    assert "1 uploaded, 3 already there" in rerun.out
    assert len(emulator.files("pyodide")) == 4


def test_bad_token_is_refused_and_never_printed(emulator: AnacondaEmulator, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "tiny", "1.0")
    secret = "tok-wrong-5e5e5e5e"
    run = smithy("upload", wheel, "--channel", url(emulator), env=env(secret))
    assert run.code == 13
    assert "the token is missing, wrong or lacks the scope" in run.err or "401" in run.err
    assert secret not in run.out + run.err
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    ok = smithy(
        "upload",
        wheel,
        "--channel",
        url(emulator),
        "--token-file",
        token_file,
        env={"NO_PROXY": "127.0.0.1"},
    )
    assert ok.code == 0, ok.err


def test_review_and_promote_within_an_owner(emulator: AnacondaEmulator, tmp_path: Path) -> None:
    old = make_wheel(tmp_path / "a", "tiny", "1.0")
    new = make_wheel(tmp_path / "b", "tiny", "1.1", requires=("six",))
    assert smithy("upload", old, "--channel", url(emulator), "--label", "main", env=env()).code == 0
    assert smithy("upload", new, "--channel", url(emulator), env=env()).code == 0
    (r,) = json.loads(smithy("review", "--channel", url(emulator), "--json", env=env()).out)
    assert r["baseline"]["filename"] == old.name
    assert r["requires_added"] == ["six"]
    run = smithy("promote", "tiny", "1.1", "--channel", url(emulator), env=env())
    assert run.code == 0, run.err
    assert stored(emulator)[new.name][1] == ["main", "staging"]


def test_promote_from_a_separate_staging_owner(emulator: AnacondaEmulator, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "tiny", "3.0")
    assert (
        smithy(
            "upload", wheel, "--channel", url(emulator, "pyodide-staging"), env=env(STAGING_TOKEN)
        ).code
        == 0
    )
    # CI's staging token cannot write to the main owner at all
    with pytest.raises(ChannelError, match="401"):
        channel(emulator, token=STAGING_TOKEN).put(
            read_wheel(wheel), labels=("main",), provenance=Provenance(sha256="x")
        )
    run = smithy(
        "promote",
        "tiny",
        "3.0",
        "--channel",
        url(emulator),
        "--staging-channel",
        url(emulator, "pyodide-staging"),
        env=env(),
    )
    assert run.code == 0, run.err
    assert stored(emulator)[wheel.name][1] == ["main"]
    assert emulator.file_bytes("pyodide", "tiny", "3.0", wheel.name) == wheel.read_bytes()
