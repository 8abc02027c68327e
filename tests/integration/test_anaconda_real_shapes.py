"""pyodide-smithy against the Anaconda.org emulator answering in its real shapes (issue 13).

Each test names the behaviour and the source the emulator follows for it (the emulator cites
them where it implements them; test_anaconda_emulator.py proves each with anaconda-client).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from binstar_client import Binstar  # type: ignore[import-untyped]

from smithy import http
from smithy.channel.anaconda import AnacondaChannel
from smithy.channel.model import Provenance
from smithy.channel.upload import Origin, run_upload
from smithy.pyodide_runtime import PyodideRuntime
from tests.conftest import METADATA
from tests.helpers import make_build
from tests.integration.anaconda_emulator import AnacondaEmulator, running_emulator
from tests.integration.conftest import Run, smithy
from tests.integration.pypi_server import metadata, wheel
from tests.integration.test_anaconda_emulator import pypi, run_upload_command
from tests.wheels import make_wheel

OWNER, TOKEN = "pyodide", "tok-real-shapes-1f2e"
STAGING, STAGING_TOKEN = "pyodide-staging", "tok-real-staging-9a8b"
CLIENT, CLIENT_TOKEN = "client", "tok-anaconda-client-7c6d"  # what the official client makes
X = ("--xbuildenv", "314.0.5", "--xbuildenv-metadata", str(METADATA))


@pytest.fixture
def emu() -> Iterator[AnacondaEmulator]:
    with running_emulator() as emulator:
        emulator.add_owner(OWNER, TOKEN)
        emulator.add_owner(STAGING, STAGING_TOKEN)
        emulator.add_owner(CLIENT, CLIENT_TOKEN)
        yield emulator


@pytest.fixture
def cache(tmp_path: Path) -> dict[str, str]:
    """A cache of its own, so every lock downloads what it locks."""
    return {"PYODIDE_SMITHY_CACHE_DIR": str(tmp_path / "cache")}


def url(emu: AnacondaEmulator, owner: str = OWNER) -> str:
    return f"{emu.api_url}/{owner}?index={emu.index_url}"


def env(token: str = TOKEN, **more: str) -> dict[str, str]:
    return {"ANACONDA_API_TOKEN": token, "NO_PROXY": "127.0.0.1", **more}


def ok(run: Run) -> Run:
    assert run.code == 0, run.err
    return run


def upload(emu: AnacondaEmulator, *wheels: Path, label: str = "staging", **kw: str) -> Run:
    return ok(smithy("upload", *wheels, "--channel", url(emu), "--label", label, env=env(**kw)))


def channel(emu: AnacondaEmulator, owner: str = OWNER, token: str = TOKEN) -> AnacondaChannel:
    return AnacondaChannel(owner, api_url=emu.api_url, index_url=emu.index_url, token=token)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def review(emu: AnacondaEmulator, *args: str) -> list[dict[str, Any]]:
    run = ok(smithy("review", *args, "--channel", url(emu), "--json", env=env()))
    return json.loads(run.out)  # type: ignore[no-any-return]


# --- download_url is protocol-relative ---------------------------------------------------------


def test_review_promote_list_and_lock_resolve_protocol_relative_download_urls(
    emu: AnacondaEmulator, tmp_path: Path, cache: dict[str, str]
) -> None:
    """renovate's captured ``GET /package/main/pytest``: ``"download_url": "//api.anaconda.org/
    download/…"``; ``/download`` answers 302 to storage (anaconda-client's Binstar.download)."""
    old = make_wheel(tmp_path / "a", "tiny", "1.0")
    new = make_wheel(tmp_path / "b", "tiny", "1.1", requires=("six",))
    upload(emu, old, label="main")
    upload(emu, new)
    assert all(f["download_url"].startswith("//127.0.0.1:") for f in emu.files(OWNER))
    (r,) = review(emu)
    assert r["file"]["url"] == f"{emu.api_url}/download/{OWNER}/tiny/1.1/{new.name}"
    assert (r["problems"], r["requires_added"]) == ([], ["six"])
    ok(smithy("promote", "tiny", "1.1", "--channel", url(emu), env=env()))
    listed = json.loads(ok(smithy("channel", "list", "--channel", url(emu), "--json")).out)
    assert {f["url"] for f in listed} == {
        f"{emu.api_url}/download/{OWNER}/tiny/{v}/{w.name}" for v, w in (("1.0", old), ("1.1", new))
    }
    out = tmp_path / "lock.json"
    summary = json.loads(
        ok(
            smithy("lock", "tiny==1.0", "--channel", url(emu), "-o", out, *X, "--json", env=cache)
        ).out
    )
    assert summary["packageBaseUrl"] == f"{emu.api_url}/download/{OWNER}/tiny/1.0/"
    assert json.loads(out.read_text())["packages"]["tiny"]["sha256"] == sha256(old)
    downloads = [p for _, p in emu.requests if p.startswith("/storage/download/")]
    assert len(downloads) >= 3  # review's two, promote's check, lock's: all via the 302
    assert all(not p.startswith(("/storage", "/api/download")) for _, p in emu.with_token)


# --- "sha256": "None" on old files ---------------------------------------------------------------


def test_upload_over_a_legacy_file_compares_its_md5(emu: AnacondaEmulator, tmp_path: Path) -> None:
    """renovate's fixture: files of 2020 answer ``"sha256": "None"`` beside their md5."""
    same = make_wheel(tmp_path / "a", "tiny", "1.0")
    other = make_wheel(tmp_path / "b", "tiny", "1.0", files={"tiny/__init__.py": "NEW = 1\n"})
    emu.seed_legacy_file(OWNER, "tiny", "1.0", same, labels=("staging",))
    assert "1 already there" in upload(emu, same).out
    assert emu.count("GET", "/api/download/.*") == 0  # the md5 settled it
    refused = smithy("upload", other, "--channel", url(emu), env=env())
    assert refused.code == 13
    assert "already on the channel with another md5" in refused.err
    replaced = ok(smithy("upload", other, "--channel", url(emu), "--replace", env=env()))
    assert "1 replaced" in replaced.out
    [info] = emu.files(OWNER)
    assert info["sha256"] == sha256(other)


def test_a_legacy_file_without_md5_is_downloaded_and_hashed(
    emu: AnacondaEmulator, tmp_path: Path
) -> None:
    """With neither digest (no source shows such a file: tolerated all the same) the bytes
    decide, downloaded without the token."""
    same = make_wheel(tmp_path / "a", "tiny", "1.0")
    other = make_wheel(tmp_path / "b", "tiny", "1.0", files={"tiny/__init__.py": "NEW = 1\n"})
    emu.seed_legacy_file(OWNER, "tiny", "1.0", same, labels=("main",), md5=False)
    assert "1 labelled" in upload(emu, same).out
    assert emu.count("GET", "/api/download/.*") == 1
    refused = smithy("upload", other, "--channel", url(emu), env=env())
    assert refused.code == 13
    assert "already on the channel with another sha256" in refused.err
    assert emu.count("GET", "/api/download/.*") == 2  # its bytes decided
    assert not any(p.startswith("/api/download") for _, p in emu.with_token)


def test_review_and_promote_check_a_legacy_file_by_its_bytes(
    emu: AnacondaEmulator, tmp_path: Path
) -> None:
    """No sha256 listed: the bytes served must hash to the one recorded at upload."""
    good, bad, plain = (make_wheel(tmp_path, n, "1.0") for n in ("good", "bad", "plain"))
    recorded = Provenance(sha256=sha256(good), feedstock="pyodide/good-feedstock")
    forged = Provenance(sha256="0" * 64, feedstock="pyodide/bad-feedstock")
    for w, name, prov in ((good, "good", recorded), (bad, "bad", forged), (plain, "plain", None)):
        attrs = {"packagetype": "bdist_wheel", **(prov.to_attrs() if prov else {})}
        emu.seed_legacy_file(OWNER, name, "1.0", w, labels=("staging",), attrs=attrs)
    problems = {r["file"]["package"]: r["problems"] for r in review(emu)}
    assert problems["good"] == []
    assert "differs from the one recorded at upload" in problems["bad"][0]
    assert problems["plain"] == ["no provenance was recorded at upload"]
    ok(smithy("promote", "good", "1.0", "--channel", url(emu), env=env()))
    for name in ("bad", "plain"):
        refused = smithy("promote", name, "1.0", "--channel", url(emu), env=env())
        assert refused.code == 13, refused.err
        assert f"refusing to promote {name}-1.0" in refused.err
    assert {f["basename"]: f["labels"] for f in emu.files(OWNER)}[good.name] == [
        "staging",
        "main",
    ]


# --- package-name spellings are two packages -----------------------------------------------------


def test_upload_goes_into_the_package_under_another_spelling(
    emu: AnacondaEmulator, tmp_path: Path
) -> None:
    """pypa/setuptools#4214, anaconda/anaconda-client#704 and #640: ``scipy_openblas64`` and
    ``scipy-openblas64`` are two packages; the project's existing one is found and used."""
    Binstar(token=TOKEN, domain=emu.api_url).add_package(
        OWNER, "scipy_openblas64", "made by anaconda upload --package", package_type=pypi()
    )
    whl = make_wheel(tmp_path, "scipy-openblas64", "0.3.26")  # METADATA Name with "-"
    upload(emu, whl)
    assert emu.packages(OWNER) == ["scipy_openblas64"]
    looked = [p for m, p in emu.requests if m == "GET" and p.startswith("/api/package/")]
    assert looked[:2] == [
        f"/api/package/{OWNER}/scipy-openblas64",  # 404
        f"/api/package/{OWNER}/scipy_openblas64",
    ]
    listed = smithy("channel", "list", "scipy-openblas64", "--channel", url(emu), "--json")
    assert [f["package"] for f in json.loads(ok(listed).out)] == ["scipy_openblas64"]
    (r,) = review(emu, "scipy-openblas64")
    assert r["file"]["filename"] == whl.name


def test_a_new_package_gets_the_pep_503_name_and_anaconda_clients_is_found(
    emu: AnacondaEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache: dict[str, str]
) -> None:
    """anaconda-client creates METADATA Name as written (``Tiny_Pkg``); pyodide-smithy creates
    the PEP 503 name, and finds and uses the client's package under its own spelling."""
    first = make_wheel(tmp_path / "a", "Tiny_Pkg", "1.0")
    run_upload_command(emu, monkeypatch, TOKEN, "--label", "main", str(first))
    assert emu.packages(OWNER) == ["Tiny_Pkg"]
    second = make_wheel(tmp_path / "b", "Tiny_Pkg", "1.1")
    upload(emu, second, label="main")
    assert emu.packages(OWNER) == ["Tiny_Pkg"]  # no second package
    upload(emu, make_wheel(tmp_path / "c", "Fresh.Pkg", "1.0"), label="main")
    assert emu.packages(OWNER) == ["Tiny_Pkg", "fresh-pkg"]
    out = tmp_path / "lock.json"
    ok(smithy("lock", "Tiny_Pkg", "fresh.pkg", "--channel", url(emu), "-o", out, *X, env=cache))
    packages = json.loads(out.read_text())["packages"]
    assert packages["tiny-pkg"]["version"] == "1.1"
    assert packages["fresh-pkg"]["version"] == "1.0"


# --- a blank summary -----------------------------------------------------------------------------


def test_a_wheel_without_a_summary_goes_with_a_blank_one(
    emu: AnacondaEmulator, tmp_path: Path
) -> None:
    """pyodide-recipes uploads with ``--summary=" "``: the server takes it (the "summary is
    required" refusal is anaconda-client's own)."""
    upload(emu, make_wheel(tmp_path, "tiny", "1.0", summary=None))
    assert Binstar(token=TOKEN, domain=emu.api_url).package(OWNER, "tiny")["summary"] == " "


# --- what is sent: anaconda-client's shapes ------------------------------------------------------


def test_what_is_sent_has_the_shapes_anaconda_client_sends(
    emu: AnacondaEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same wheel through the official client (into another owner) and through
    pyodide-smithy: the same attrs, dependencies and licence, plus provenance."""
    requires = (
        "six>=1.0",
        "Foo.Bar[x] (<3,>=2)",
        "em; sys_platform == 'emscripten'",
        "f; extra == 'x'",
    )
    meta = metadata("tiny-pkg", "1.0", "Summary: A tiny package", "License: MIT")
    meta = meta.replace(
        b"\n\n", b"".join(b"\nRequires-Dist: " + r.encode() for r in requires) + b"\n\n", 1
    )
    built = wheel(
        "tiny_pkg",
        "1.0",
        "cp314-cp314-pyemscripten_2026_0_wasm32",
        {"tiny_pkg/__init__.py": b""},
        meta,
    )
    path = tmp_path / str(built["filename"])
    path.write_bytes(built["body"])
    run_upload_command(emu, monkeypatch, CLIENT_TOKEN, str(path))
    upload(emu, path)
    [theirs], [ours] = emu.files(CLIENT), emu.files(OWNER)
    assert theirs["attrs"] == {
        "build_no": 0,
        "python_version": "cp314",
        "abi": "cp314",
        "packagetype": "bdist_wheel",
    }
    assert {k: v for k, v in ours["attrs"].items() if k in theirs["attrs"]} == theirs["attrs"]
    provenance = {k: v for k, v in ours["attrs"].items() if k not in theirs["attrs"]}
    assert provenance["pyodide_smithy_sha256"] == sha256(path)
    assert all(
        k.startswith("pyodide_smithy_") and isinstance(v, str) for k, v in provenance.items()
    )
    assert ours["dependencies"] == theirs["dependencies"]
    assert ours["dependencies"]["environments"] == [
        {"name": "sys_platform == 'emscripten'", "depends": [{"name": "em", "specs": []}]}
    ]
    api = Binstar(token=TOKEN, domain=emu.api_url)
    for field in ("license", "license_url", "summary", "package_types"):
        assert api.package(OWNER, "tiny-pkg")[field] == api.package(CLIENT, "tiny-pkg")[field]
    assert api.package(OWNER, "tiny-pkg")["license"] == "MIT"


def test_builds_go_with_the_attrs_anaconda_client_sends_into_one_release(
    emu: AnacondaEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two builds of one version through the official client and through pyodide-smithy: the
    same attrs (``build_no`` the build tag, a string: inspect_pypi_package_whl) and
    dependencies, both builds in one release; the same name with other bytes is refused."""
    tag = "cp314-cp314-pyemscripten_2026_0_wasm32"
    builds = [
        make_build(tmp_path / str(b), "tiny-pkg", "1.0", b, tag=tag, requires=("six>=1",))
        for b in (0, 1)
    ]
    for path in builds:
        run_upload_command(emu, monkeypatch, CLIENT_TOKEN, str(path))
    upload(emu, *builds)
    theirs = {f["basename"]: f for f in emu.files(CLIENT)}
    ours = {f["basename"]: f for f in emu.files(OWNER)}
    assert sorted(ours) == sorted(theirs) == sorted(b.name for b in builds)
    for name, their in theirs.items():
        assert {k: ours[name]["attrs"][k] for k in their["attrs"]} == their["attrs"]
        assert ours[name]["dependencies"] == their["dependencies"]
    assert [theirs[b.name]["attrs"]["build_no"] for b in builds] == ["0", "1"]
    release = Binstar(token=TOKEN, domain=emu.api_url).release(OWNER, "tiny-pkg", "1.0")
    assert sorted(d["basename"] for d in release["distributions"]) == [b.name for b in builds]
    rebuilt = make_build(tmp_path / "again", "tiny-pkg", "1.0", 1, tag=tag, requires=("seven",))
    refused = smithy("upload", rebuilt, "--channel", url(emu), env=env())
    assert refused.code == 13
    assert refused.err.strip() == (
        f"error: {rebuilt.name} is already on the channel with another sha256 (build 1): give "
        "a rebuild a higher build tag (PEP 427) to publish it (--replace overwrites the "
        "published file instead)"
    )
    assert emu.file_bytes(OWNER, "tiny-pkg", "1.0", rebuilt.name) == builds[1].read_bytes()


@pytest.mark.parametrize("kept", ["all", "flat", "known"])
def test_provenance_survives_a_server_that_keeps_fewer_attrs(
    emu: AnacondaEmulator, tmp_path: Path, kept: str
) -> None:
    """No source says whether Anaconda.org keeps unknown or nested attrs: the provenance rides
    in flat attrs and in the file's description, and review and promote read either."""
    emu.faults.attrs_kept = kept
    whl = make_wheel(tmp_path, "tiny", "1.0")
    upload(emu, whl)
    [info] = emu.files(OWNER)
    assert ("pyodide_smithy_sha256" in info["attrs"]) is (kept != "known")
    (r,) = review(emu)
    assert r["file"]["provenance"]["sha256"] == sha256(whl)
    assert r["problems"] == []
    ok(smithy("promote", "tiny", "1.0", "--channel", url(emu), env=env()))


@pytest.mark.parametrize("shape", ["nested", "flat", "description"])
def test_provenance_is_read_in_each_shape(
    emu: AnacondaEmulator, tmp_path: Path, shape: str
) -> None:
    """Older pyodide-smithy uploads carry ``attrs.pyodide_smithy`` (an object); newer ones flat
    attrs and the description."""
    whl = make_wheel(tmp_path, "tiny", "1.0")
    recorded = Provenance(sha256=sha256(whl), feedstock="pyodide/tiny-feedstock", commit="abc")
    attrs: dict[str, Any] = {"packagetype": "bdist_wheel"}
    description = None
    if shape == "nested":
        attrs["pyodide_smithy"] = recorded.to_dict()
    elif shape == "flat":
        attrs |= recorded.to_attrs()
    else:
        description = recorded.to_description()
    emu.seed_legacy_file(OWNER, "tiny", "1.0", whl, attrs=attrs, description=description)
    [found] = channel(emu).files("tiny")
    assert found.provenance == recorded


# --- 429 and Retry-After -------------------------------------------------------------------------


def test_throttled_calls_wait_as_asked_and_go_again(
    emu: AnacondaEmulator, tmp_path: Path, cache: dict[str, str]
) -> None:
    """Anaconda's servers answer 429 when they rate-limit (conda/conda#14007, #13238). A read
    is sent again by the session, a write by the backend (429: the server did not act)."""
    whl = make_wheel(tmp_path, "tiny", "1.0")
    emu.faults.throttle += [
        ("GET", f"^/api/package/{OWNER}/tiny$", "1"),
        ("POST", "^/api/stage/", "1"),
        ("POST", "^/api/commit/", None),  # no Retry-After: backoff
    ]
    started = time.monotonic()
    upload(emu, whl, label="main")
    assert time.monotonic() - started >= 2
    assert emu.faults.throttle == []
    assert emu.count("POST", "/api/stage/.*") == 2
    assert emu.count("POST", "/api/commit/.*") == 2
    assert [f["basename"] for f in emu.files(OWNER)] == [whl.name]
    emu.faults.throttle.append(("GET", "^/api/download/", "1"))
    out = tmp_path / "lock.json"
    ok(smithy("lock", "tiny", "--channel", url(emu), "-o", out, *X, env=cache))
    assert emu.faults.throttle == []


def test_a_long_retry_after_is_cut_short_and_endless_throttling_fails(
    emu: AnacondaEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http, "MAX_WAIT", 0.2)
    whl = make_wheel(tmp_path, "tiny", "1.0")
    emu.faults.throttle += [("GET", "^/api/package/", "3600"), ("POST", "^/api/stage/", "3600")]
    started = time.monotonic()
    [result] = run_upload([whl], channel(emu), label="main", xbuildenv=None, origin=Origin())
    assert (result.outcome, time.monotonic() - started < 10) == ("uploaded", True)
    emu.faults.throttle += [("POST", "^/api/stage/", "0")] * 20
    refused = smithy(
        "upload", make_wheel(tmp_path, "other", "1.0"), "--channel", url(emu), env=env()
    )
    assert refused.code == 13
    assert "HTTP 429" in refused.err


# --- listing reads only the packages needed ----------------------------------------------------


def test_lock_lists_only_the_packages_it_needs(
    emu: AnacondaEmulator, tmp_path: Path, cache: dict[str, str]
) -> None:
    """One ``GET /package/OWNER/NAME`` per project the closure reaches; never the owner."""
    wheels = [make_wheel(tmp_path, f"filler{i}", "1.0") for i in range(12)]
    wheels += [
        make_wheel(tmp_path, "top", "1.0", requires=("mid>=1",)),
        make_wheel(tmp_path, "mid", "1.0", requires=("leaf",)),
        make_wheel(tmp_path, "leaf", "1.0"),
    ]
    upload(emu, *wheels, label="main")
    emu.requests.clear()
    ok(smithy("lock", "top", "--channel", url(emu), "-o", tmp_path / "lock.json", *X, env=cache))
    api = [p for m, p in emu.requests if m == "GET" and p.startswith("/api/")]
    listings = sorted(p for p in api if not p.startswith("/api/download/"))
    assert listings == [f"/api/package/{OWNER}/{n}" for n in ("leaf", "mid", "top")]


SIMPLE_TEST = """
from pytest_pyodide import run_in_pyodide


@run_in_pyodide(packages=["tiny-pkg"])
def test_imports(selenium):
    import helper_pkg
    import tiny_pkg

    assert helper_pkg.VERSION == "0.5"
"""


@pytest.mark.usefixtures("shared_test_runtime")
def test_test_lists_only_the_packages_it_needs(
    emu: AnacondaEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``test`` with an Anaconda.org channel: the reachability check, micropip's choices and
    step 2's lock ask for their packages one by one, never for the whole owner."""
    from smithy.testing import run_test
    from tests.integration.pypi_server import FakeIndex, serve
    from tests.integration.test_testing import feedstock

    upload(emu, make_wheel(tmp_path / "up", "helper-pkg", "0.5"), label="main")
    upload(emu, *(make_wheel(tmp_path / "up", f"filler{i}", "1.0") for i in range(8)), label="main")
    root = feedstock(tmp_path, {"test_tiny.py": SIMPLE_TEST})
    emu.requests.clear()
    with serve(FakeIndex()) as index:
        monkeypatch.setenv("PYODIDE_SMITHY_INDEX_URL", f"{index.base}/simple/")
        report = run_test(root, dist=root / "dist", channel=url(emu))
    assert report.ok, report.pytest_output or report.install_error
    asked = {p.rsplit("/", 1)[-1] for m, p in emu.requests if p.startswith("/api/package/")}
    assert {"tiny-pkg", "helper-pkg"} <= asked
    assert not any(name.startswith("filler") for name in asked)
    assert not any(p.startswith("/api/packages/") for _, p in emu.requests)


# --- end to end in the real shapes -------------------------------------------------------------


LOAD = """
import pyodide_js
await pyodide_js.loadPackage("top-pkg")
import top_pkg, mid_pkg, leaf
print("versions", top_pkg.VERSION, mid_pkg.VERSION, leaf.VERSION)
"""


def test_upload_review_promote_lock_and_load_in_pyodide(
    emu: AnacondaEmulator, tmp_path: Path, private_runtime: PyodideRuntime, cache: dict[str, str]
) -> None:
    """CI uploads to a separate staging owner; a maintainer reviews and promotes into main,
    where an old upload (``"sha256": "None"``, no provenance) already waits; the lock of what
    main holds loads in a real Pyodide. The server keeps only anaconda-client's attrs."""
    emu.faults.attrs_kept = "known"
    leaf = make_wheel(tmp_path / "old", "leaf", "0.1", tag="cp314-cp314-pyemscripten_2026_0_wasm32")
    emu.seed_legacy_file(OWNER, "leaf", "0.1", leaf)
    top = make_wheel(tmp_path / "dist", "top-pkg", "1.0", requires=("mid-pkg>=1", "leaf"))
    mid = make_wheel(tmp_path / "dist", "mid-pkg", "2.0")
    staging = url(emu, STAGING)
    ok(smithy("upload", top, mid, "--channel", staging, *X, env=env(STAGING_TOKEN)))
    both = ("--channel", url(emu), "--staging-channel", staging)
    reviews = json.loads(ok(smithy("review", *both, "--json", env=env())).out)
    assert sorted(r["file"]["filename"] for r in reviews) == sorted([top.name, mid.name])
    for r in reviews:
        assert r["problems"] == []
        assert r["file"]["provenance"]["sha256"] == r["file"]["sha256"]
        assert r["file"]["upload_time"].endswith("000+00:00")
    ok(smithy("promote", "mid-pkg", "2.0", *both, env=env()))
    ok(smithy("promote", "top-pkg", "1.0", *both, env=env()))
    out = tmp_path / "pyodide-lock.json"
    lock = ("lock", "top-pkg", "--channel", url(emu), *X, "--json")
    summary = json.loads(ok(smithy(*lock, "-o", out, env=cache)).out)
    packages = json.loads(out.read_text())["packages"]
    assert packages["leaf"]["sha256"] == sha256(leaf)  # hashed from the bytes: none was listed
    assert packages["top-pkg"]["depends"] == ["leaf", "mid-pkg"]
    assert summary["packageBaseUrl"] == f"{emu.api_url}/download/{OWNER}/"
    assert packages["leaf"]["file_name"] == f"leaf/0.1/{leaf.name}"
    # Pyodide in Node caches a fetched wheel at packageBaseUrl's folder + file_name and does not
    # create file_name's folders: it loads a remote channel's lock from a --copy.
    served = tmp_path / "served"
    ok(smithy(*lock, "--copy", served, env=cache))
    copied = json.loads((served / "pyodide-lock.json").read_text())["packages"]
    assert {n: e["sha256"] for n, e in copied.items()} == {
        n: e["sha256"] for n, e in packages.items()
    }
    run = private_runtime.run(
        LOAD, lock_file_url=str(served / "pyodide-lock.json"), package_base_url=f"{served}/"
    )
    assert run.returncode == 0, run.stderr
    assert "versions 1.0 2.0 0.1" in run.stdout
    fetched = [p for _, p in emu.requests if p.startswith("/storage/download/")]
    assert any(p.endswith(leaf.name) for p in fetched)
