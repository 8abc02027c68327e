"""The Anaconda.org emulator is faithful: the official client (anaconda-client 1.16.0) drives it."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import binstar_client  # type: ignore[import-untyped]
import pytest
import requests
from binstar_client import Binstar, errors
from binstar_client.commands import upload as upload_command  # type: ignore[import-untyped]

from tests.helpers import make_build
from tests.integration.anaconda_emulator import AnacondaEmulator, running_emulator
from tests.integration.pypi_server import metadata, noise, wheel
from tests.wheels import make_wheel

OWNER, TOKEN = "alice", "alice-token"
NAME, VERSION = "Tiny_Pkg", "1.0.0+emscripten"  # METADATA Name as written; a local version
BASENAME = "tiny_pkg-1.0.0+emscripten-py3-none-any.whl"


@pytest.fixture
def emu() -> Iterator[AnacondaEmulator]:
    with running_emulator() as emulator:
        emulator.add_owner(OWNER, TOKEN)
        emulator.add_owner("bob", "bob-token")
        yield emulator


@pytest.fixture
def api(emu: AnacondaEmulator) -> Any:
    return Binstar(token=TOKEN, domain=emu.api_url)


def build_wheel(directory: Path, name: str = NAME, version: str = VERSION) -> Path:
    """A small real wheel (with incompressible noise) whose METADATA carries a summary."""
    meta = metadata(name, version, "Summary: A tiny package", "License: MIT")
    built = wheel(name.lower(), version, "py3-none-any", {"tiny/data.bin": noise(70_000)}, meta)
    path = directory / str(built["filename"])
    path.write_bytes(built["body"])
    return path


@pytest.fixture
def whl(tmp_path: Path) -> Path:
    return build_wheel(tmp_path)


def upload(api: Any, path: Path, labels: list[str] | None = None, **kwargs: Any) -> Any:
    """Upload like ``anaconda upload`` does, through the Python API (package/release first)."""
    with contextlib.suppress(errors.Conflict):
        api.add_package(OWNER, NAME, "A tiny package", "MIT", package_type=pypi())
    with contextlib.suppress(errors.Conflict):
        api.add_release(OWNER, NAME, VERSION, [], None, {"version": VERSION})
    kwargs.setdefault("attrs", {"packagetype": "bdist_wheel", "python_version": "py3", "abi": None})
    with path.open("rb") as fd:
        return api.upload(
            OWNER,
            NAME,
            VERSION,
            path.name,
            fd,
            "pypi",
            channels=labels if labels is not None else ["main"],
            **kwargs,
        )


def pypi() -> Any:
    from binstar_client.utils.config import PackageType  # type: ignore[import-untyped]

    return PackageType.STANDARD_PYTHON


def run_upload_command(
    emu: AnacondaEmulator, monkeypatch: pytest.MonkeyPatch, token: str, *argv: str
) -> None:
    """``anaconda -t TOKEN upload ARGV`` in-process: the CLI's own parser and Uploader."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--token")
    parser.add_argument("--site")
    upload_command.add_parser(parser.add_subparsers())
    arguments = parser.parse_args(["--token", token, "upload", *argv])
    config = {**upload_command.DEFAULT_CONFIG, "url": emu.api_url}
    monkeypatch.setattr(upload_command, "get_config", lambda site=None: config)
    arguments.main(arguments)


# the official upload command ------------------------------------------------------------------


def test_upload_command_speaks_the_documented_protocol(
    emu: AnacondaEmulator, whl: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_upload_command(emu, monkeypatch, TOKEN, "--label", "staging", str(whl))
    quoted = BASENAME.replace("+", "%2B")
    assert emu.requests == [
        ("HEAD", "/api"),
        ("GET", "/api/user"),
        ("GET", f"/api/dist/{OWNER}/{NAME}/{VERSION}/{BASENAME}"),
        ("GET", f"/api/package/{OWNER}/{NAME}"),
        ("POST", f"/api/package/{OWNER}/{NAME}"),
        ("GET", f"/api/release/{OWNER}/{NAME}/{VERSION}"),
        ("POST", f"/api/release/{OWNER}/{NAME}/{VERSION}"),
        ("POST", f"/api/stage/{OWNER}/{NAME}/{VERSION}/{quoted}"),
        ("POST", "/storage"),
        ("POST", f"/api/commit/{OWNER}/{NAME}/{VERSION}/{quoted}"),
    ]  # no clean-up calls: the release and package it created are no longer empty
    [info] = emu.files(OWNER)
    body = whl.read_bytes()
    assert info["basename"] == BASENAME
    assert info["package"] == NAME
    assert info["version"] == VERSION
    assert info["labels"] == ["staging"]
    assert info["sha256"] == hashlib.sha256(body).hexdigest()
    assert info["size"] == len(body)
    assert info["attrs"]["packagetype"] == "bdist_wheel"
    assert emu.file_bytes(OWNER, NAME, VERSION, BASENAME) == body

    # The same file again: a conflict by default, skipped with --skip-existing.
    with pytest.raises(errors.Conflict):
        run_upload_command(emu, monkeypatch, TOKEN, str(whl))
    run_upload_command(emu, monkeypatch, TOKEN, "--skip-existing", str(whl))
    assert emu.count("POST", r"/api/stage/.*") == 1

    # --force deletes the file, which (the 2024 trap) deletes the release and the package too;
    # the official client then re-creates both.
    run_upload_command(emu, monkeypatch, TOKEN, "--force", str(whl))
    assert emu.count("DELETE", r"/api/dist/.*") == 1
    assert emu.count("POST", rf"/api/package/{OWNER}/{NAME}") == 2
    assert [f["labels"] for f in emu.files(OWNER)] == [["main"]]  # no label given: main


def test_upload_command_refuses_an_unknown_token_and_someone_elses_owner(
    emu: AnacondaEmulator, whl: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(errors.Unauthorized):
        run_upload_command(emu, monkeypatch, "wrong-token", str(whl))
    with pytest.raises(errors.Unauthorized):
        run_upload_command(emu, monkeypatch, TOKEN, "--user", "bob", str(whl))
    with pytest.raises(errors.BinstarError, match="does not exist"):
        run_upload_command(emu, monkeypatch, TOKEN, "--user", "nobody", str(whl))
    assert emu.files(OWNER) == []
    assert emu.files("bob") == []


# the Python API ---------------------------------------------------------------------------------


def test_python_api_lifecycle(emu: AnacondaEmulator, api: Any, whl: Path) -> None:
    api.check_server()
    assert api.user()["login"] == OWNER
    assert api.user("bob")["login"] == "bob"
    upload(api, whl, ["staging"])
    assert emu.files(OWNER)[0]["labels"] == ["staging"]

    package = api.package(OWNER, NAME)
    assert package["name"] == NAME
    assert package["summary"] == "A tiny package"
    assert package["versions"] == [VERSION]
    [file_info] = package["files"]
    assert file_info["full_name"] == f"{OWNER}/{NAME}/{VERSION}/{BASENAME}"
    assert file_info["distribution_type"] == "pypi"
    download = urljoin(emu.api_url, file_info["download_url"])  # protocol-relative
    assert requests.get(download, timeout=10).content == whl.read_bytes()
    assert [r["version"] for r in package["releases"]] == [VERSION]
    release = api.release(OWNER, NAME, VERSION)
    assert [d["basename"] for d in release["distributions"]] == [BASENAME]
    assert api.distribution(OWNER, NAME, VERSION, BASENAME)["sha256"] == file_info["sha256"]
    assert api.download(OWNER, NAME, VERSION, BASENAME).content == whl.read_bytes()
    assert [p["name"] for p in api.user_packages(OWNER)] == [NAME]
    assert api.list_channels(OWNER) == {"staging": {"num_files": 1, "is_locked": False}}

    copied = api.copy(OWNER, NAME, VERSION, BASENAME, from_label="staging", to_label="main")
    assert [f["labels"] for f in copied] == [["staging", "main"]]
    assert emu.files(OWNER)[0]["labels"] == ["staging", "main"]
    with pytest.raises(errors.Conflict):
        api.copy(OWNER, NAME, VERSION, BASENAME, from_label="staging", to_label="main")
    with pytest.raises(errors.NotFound):
        api.copy(OWNER, NAME, VERSION, BASENAME, from_label="nightly", to_label="main")

    api.remove_channel("staging", OWNER, package=NAME, version=VERSION, filename=BASENAME)
    assert emu.files(OWNER)[0]["labels"] == ["main"]
    api.add_channel("beta", OWNER, package=NAME, version=VERSION, filename=BASENAME)
    assert emu.files(OWNER)[0]["labels"] == ["main", "beta"]
    assert set(api.list_channels(OWNER)) == {"main", "beta"}

    removed = api.remove_dist(OWNER, NAME, VERSION, BASENAME)
    assert removed["basename"] == BASENAME
    assert emu.files(OWNER) == []
    with pytest.raises(errors.NotFound):
        api.distribution(OWNER, NAME, VERSION, BASENAME)


def test_copy_to_another_owner_needs_that_owners_token(
    emu: AnacondaEmulator, api: Any, whl: Path
) -> None:
    upload(api, whl, ["main"])
    with pytest.raises(errors.Unauthorized):
        api.copy(OWNER, NAME, VERSION, BASENAME, to_owner="bob")
    bob = Binstar(token="bob-token", domain=emu.api_url)
    [copied] = bob.copy(OWNER, NAME, VERSION, BASENAME, to_owner="bob", to_label="main")
    assert copied["full_name"] == f"bob/{NAME}/{VERSION}/{BASENAME}"
    assert emu.file_bytes("bob", NAME, VERSION, BASENAME) == whl.read_bytes()
    assert bob.package("bob", NAME)["summary"] == "A tiny package"
    with pytest.raises(errors.Conflict):
        bob.copy(OWNER, NAME, VERSION, BASENAME, to_owner="bob", to_label="main")


def test_errors_are_the_documented_ones(emu: AnacondaEmulator, api: Any, whl: Path) -> None:
    with pytest.raises(errors.Unauthorized):
        Binstar(token="nope", domain=emu.api_url).user()
    with pytest.raises(errors.NotFound):
        api.user("nobody")
    with pytest.raises(errors.NotFound):
        api.package(OWNER, NAME)
    with pytest.raises(errors.BinstarError, match="summary") as raised:
        api.add_package(OWNER, NAME, summary=None)  # unsettled: the stricter answer
    assert raised.value.args[1] == 400
    upload(api, whl)
    with pytest.raises(errors.Conflict):  # stage: the file exists
        upload(api, whl)
    # Bearer is not how tokens are sent; writes without a token are refused
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    answer = requests.delete(f"{emu.api_url}/package/{OWNER}/{NAME}", headers=bearer, timeout=10)
    assert (answer.status_code, answer.json()) == (401, {"error": answer.json()["error"]})
    assert requests.get(f"{emu.api_url}/user", timeout=10).status_code == 401


def test_storage_checks_md5_and_commit_checks_sha256(
    emu: AnacondaEmulator, api: Any, whl: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = binstar_client.compute_hash

    def wrong_md5(fd: Any, **kwargs: Any) -> Any:
        result = real(fd, **kwargs)
        return (
            result
            if "hash_algorithm" in kwargs
            else (result[0], "AAAAAAAAAAAAAAAAAAAAAA==", result[2])
        )

    monkeypatch.setattr(binstar_client, "compute_hash", wrong_md5)
    with pytest.raises(errors.BinstarError, match="Content-MD5 or checksum value is not valid"):
        upload(api, whl)
    monkeypatch.undo()
    with pytest.raises(errors.BinstarError, match="sha256") as raised:
        upload(api, whl, sha256="0" * 64)
    assert raised.value.args[1] == 400
    assert emu.files(OWNER) == []
    assert emu.count("POST", r"/api/commit/.*") == 1

    # The storage refuses an API token (S3 allows one auth mechanism) and unknown keys.
    staged = api.session.post(
        f"{emu.api_url}/stage/{OWNER}/{NAME}/{VERSION}/{BASENAME}",
        json={"distribution_type": "pypi", "attrs": {}, "channels": ["main"]},
    ).json()
    files = {"file": (BASENAME, b"x")}
    sent = requests.post(
        staged["post_url"],
        data=staged["form_data"],
        files=files,
        headers={"Authorization": f"token {TOKEN}"},
        timeout=10,
    )
    assert (sent.status_code, "<Code>InvalidArgument</Code>" in sent.text) == (400, True)
    forged = {**staged["form_data"], "key": "alice/forged/x.whl"}
    sent = requests.post(staged["post_url"], data=forged, files=files, timeout=10)
    assert (sent.status_code, "<Code>AccessDenied</Code>" in sent.text) == (403, True)


def test_concurrent_uploads(emu: AnacondaEmulator, tmp_path: Path) -> None:
    wheels = [build_wheel(tmp_path, f"pkg_{i}", "1.0") for i in range(6)]
    failures: list[BaseException] = []

    def one(path: Path, name: str) -> None:
        api = Binstar(token=TOKEN, domain=emu.api_url)
        try:
            api.add_package(OWNER, name, "A tiny package", package_type=pypi())
            api.add_release(OWNER, name, "1.0", [], None, {})
            with path.open("rb") as fd:
                api.upload(OWNER, name, "1.0", path.name, fd, "pypi", channels=["main"])
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=one, args=(w, f"pkg_{i}")) for i, w in enumerate(wheels)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(f["basename"] for f in emu.files(OWNER)) == sorted(w.name for w in wheels)


# faults -----------------------------------------------------------------------------------------


def test_injected_failure_happens_once(emu: AnacondaEmulator, api: Any, whl: Path) -> None:
    upload(api, whl)
    emu.faults.fail.append(("GET", rf"/api/package/{OWNER}/", 500))
    with pytest.raises(errors.ServerError, match="injected"):
        api.package(OWNER, NAME)
    assert emu.faults.fail == []
    assert api.package(OWNER, NAME)["name"] == NAME
    assert emu.count("GET", rf"/api/package/{OWNER}/{NAME}") == 2


def test_latency_slows_every_request(emu: AnacondaEmulator, api: Any) -> None:
    emu.faults.latency = 0.3
    started = time.monotonic()
    api.check_server()
    api.user()
    assert time.monotonic() - started >= 0.6
    emu.faults.latency = 0.0
    started = time.monotonic()
    api.check_server()
    assert time.monotonic() - started < 0.3


def test_dropped_connection_is_a_connection_error(
    emu: AnacondaEmulator, api: Any, whl: Path
) -> None:
    emu.faults.drop.append(("POST", r"^/storage$"))
    with pytest.raises(requests.ConnectionError):
        upload(api, whl)  # the whole wheel was sent, then the connection closed
    assert emu.faults.drop == []
    assert emu.count("POST", "/storage") == 1
    assert emu.files(OWNER) == []
    emu.faults.drop.append(("GET", "/api/user"))
    with pytest.raises(requests.ConnectionError):
        api.user()
    assert api.user()["login"] == OWNER


@pytest.mark.parametrize("delete_empties", [True, False])
def test_deleting_the_last_file(
    emu: AnacondaEmulator, api: Any, whl: Path, delete_empties: bool
) -> None:
    emu.faults.delete_empties = delete_empties
    upload(api, whl)
    api.remove_dist(OWNER, NAME, VERSION, BASENAME)
    if delete_empties:
        with pytest.raises(errors.NotFound):
            api.release(OWNER, NAME, VERSION)
        with pytest.raises(errors.NotFound):
            api.package(OWNER, NAME)
    else:
        assert api.release(OWNER, NAME, VERSION)["distributions"] == []
        assert api.package(OWNER, NAME)["files"] == []
        api.remove_release(OWNER, NAME, VERSION)
        api.remove_package(OWNER, NAME)
    assert api.user_packages(OWNER) == []


# the index ----------------------------------------------------------------------------------------


def links(page: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)"', page)


def test_index_serves_main_and_label_pages_with_cors(
    emu: AnacondaEmulator, api: Any, whl: Path
) -> None:
    upload(api, whl, ["main"])
    api.add_channel("beta", OWNER, package=NAME, version=VERSION, filename=BASENAME)
    accept_json = {"Accept": "application/vnd.pypi.simple.v1+json"}
    for path in (
        f"{OWNER}/simple/{NAME}/",
        f"{OWNER}/simple/tiny-pkg/",
        f"{OWNER}/simple/Tiny.Pkg",
        f"{OWNER}/label/beta/simple/{NAME}/",
    ):
        page = requests.get(f"{emu.index_url}/{path}", headers=accept_json, timeout=10)
        assert page.status_code == 200, path
        assert page.headers["Content-Type"].startswith("text/html")  # no PEP 691
        assert page.headers["Access-Control-Allow-Origin"] == "*"
        [href] = links(page.text)
        assert "%2B" in href
        assert "+" not in href
        assert "#" not in href
        download = requests.get(urljoin(page.url, href), timeout=10)
        assert download.content == whl.read_bytes()
        assert download.headers["Access-Control-Allow-Origin"] == "*"
    root = requests.get(f"{emu.index_url}/{OWNER}/simple/", timeout=10)
    assert [urljoin(root.url, h) for h in links(root.text)] == [
        f"{emu.index_url}/{OWNER}/simple/tiny-pkg/"
    ]


def test_index_404s_carry_no_cors(emu: AnacondaEmulator, api: Any, whl: Path) -> None:
    upload(api, whl, ["staging"])
    for path in (
        f"{OWNER}/simple/{NAME}/",  # only in staging: not in the plain index
        f"{OWNER}/label/main/simple/{NAME}/",
        f"{OWNER}/simple/absent/",
        f"nobody/simple/{NAME}/",
        f"{OWNER}/simple/{NAME}/9.9/{BASENAME}",
    ):
        answer = requests.get(f"{emu.index_url}/{path}", timeout=10)
        assert answer.status_code == 404, path
        assert "Access-Control-Allow-Origin" not in answer.headers
    page = requests.get(f"{emu.index_url}/{OWNER}/label/staging/simple/{NAME}/", timeout=10)
    assert page.status_code == 200


def test_sha256_fragments_are_optional(tmp_path: Path) -> None:
    whl = build_wheel(tmp_path)
    with running_emulator(sha256_fragments=True) as emu:
        emu.add_owner(OWNER, TOKEN)
        upload(Binstar(token=TOKEN, domain=emu.api_url), whl)
        page = requests.get(f"{emu.index_url}/{OWNER}/simple/{NAME}/", timeout=10)
        [href] = links(page.text)
        assert href.endswith(f"#sha256={hashlib.sha256(whl.read_bytes()).hexdigest()}")


def test_pip_downloads_from_the_index(
    emu: AnacondaEmulator, api: Any, whl: Path, tmp_path: Path
) -> None:
    """A real PEP 503 client (pip, isolated from any configuration) reads the index."""
    upload(api, whl, ["main"])
    dest = tmp_path / "downloaded"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--isolated", "--disable-pip-version-check",
         "--no-deps", "--index-url", f"{emu.index_url}/{OWNER}/simple/", "--dest", str(dest),
         f"{NAME}=={VERSION}"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert (dest / BASENAME).read_bytes() == whl.read_bytes()
    assert emu.count("GET", rf"/pypi/{OWNER}/simple/tiny-pkg/") == 1  # pip asks normalised


# the real shapes (issue 13): each test names the source it follows -----------------------------


def test_download_url_is_protocol_relative_and_downloads_redirect_to_storage(
    emu: AnacondaEmulator, api: Any, whl: Path
) -> None:
    """renovatebot/renovate conda fixture pytest.json: ``"download_url": "//api.anaconda.org/
    download/…"``; anaconda-client's Binstar.download: ``/download`` answers 302 to storage."""
    upload(api, whl)
    [info] = api.package(OWNER, NAME)["files"]
    host = emu.api_url.removeprefix("http:")
    assert info["download_url"] == f"{host}/download/{OWNER}/{NAME}/{VERSION}/{BASENAME}"
    with pytest.raises(requests.exceptions.InvalidSchema):  # what the product used to do
        requests.get(info["download_url"], timeout=10)
    direct = requests.get(urljoin(emu.api_url, info["download_url"]), allow_redirects=False)
    assert direct.status_code == 302
    assert direct.headers["Location"].startswith(emu.storage_url)
    assert api.download(OWNER, NAME, VERSION, BASENAME).content == whl.read_bytes()


def test_upload_time_has_the_api_format(emu: AnacondaEmulator, api: Any, whl: Path) -> None:
    """renovate's fixture: ``"upload_time": "2020-02-28 11:46:01.948000+00:00"``."""
    upload(api, whl)
    [info] = api.package(OWNER, NAME)["files"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}000\+00:00", info["upload_time"])
    assert info["upload_time"] == api.distribution(OWNER, NAME, VERSION, BASENAME)["upload_time"]


def test_a_legacy_file_answers_sha256_none(emu: AnacondaEmulator, api: Any, whl: Path) -> None:
    """renovate's fixture: files uploaded before sha256 was recorded answer ``"None"``, with
    their md5; binstar_client (which never reads sha256) still downloads them."""
    emu.seed_legacy_file(OWNER, NAME, VERSION, whl)
    info = api.distribution(OWNER, NAME, VERSION, BASENAME)
    assert info["sha256"] == "None"
    assert info["md5"] == hashlib.md5(whl.read_bytes()).hexdigest()
    assert info["upload_time"] == "2020-02-28 11:46:01.948000+00:00"
    assert api.download(OWNER, NAME, VERSION, BASENAME).content == whl.read_bytes()


def test_package_name_spellings_are_two_packages(
    emu: AnacondaEmulator, api: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pypa/setuptools#4214, anaconda/anaconda-client#704 and #640: ``scipy_openblas64`` and
    ``scipy-openblas64`` are two packages. anaconda-client names the package after METADATA
    ``Name`` as written (inspect_package/pypi.py; its tests/test_upload.py::test_upload_pypi
    uploads test_package34-0.3.1.tar.gz to package ``test-package34``)."""
    dashed = make_wheel(tmp_path, "scipy-openblas64", "0.3.26")
    run_upload_command(emu, monkeypatch, TOKEN, str(dashed))
    assert dashed.name.startswith("scipy_openblas64-")  # the file name escapes "-" as "_"
    assert emu.packages(OWNER) == ["scipy-openblas64"]
    with pytest.raises(errors.NotFound):
        api.package(OWNER, "scipy_openblas64")
    api.add_package(OWNER, "scipy_openblas64", "the other spelling", package_type=pypi())
    assert emu.packages(OWNER) == ["scipy-openblas64", "scipy_openblas64"]
    assert api.package(OWNER, "scipy_openblas64")["files"] == []
    assert len(api.package(OWNER, "scipy-openblas64")["files"]) == 1


def test_a_blank_summary_is_accepted(
    emu: AnacondaEmulator, api: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyodide-recipes uploads with ``anaconda upload --summary=" " --description=" "``
    (.github/workflows/build.yml): the server takes a blank summary and description."""
    meta = metadata("nosummary", "1.0")
    built = wheel("nosummary", "1.0", "py3-none-any", {"nosummary/__init__.py": b""}, meta)
    path = tmp_path / str(built["filename"])
    path.write_bytes(built["body"])
    with pytest.raises(errors.BinstarError, match="summary"):  # anaconda-client's own check
        run_upload_command(emu, monkeypatch, TOKEN, str(path))
    assert emu.requests[-1] == ("GET", f"/api/package/{OWNER}/nosummary")  # nothing was sent
    run_upload_command(emu, monkeypatch, TOKEN, "--summary", " ", "--description", " ", str(path))
    package = api.package(OWNER, "nosummary")
    assert package["summary"] == " "
    assert package["files"][0]["description"] == " "


NESTED = {"packagetype": "bdist_wheel", "python_version": "py3", "abi": None, "build_no": 0}


@pytest.mark.parametrize(
    ("kept", "expected"),
    [
        ("all", {**NESTED, "extra": "x", "nested": {"a": "b"}}),
        ("flat", {**NESTED, "extra": "x"}),
        ("known", NESTED),
    ],
)
def test_file_attrs_as_sent_or_as_a_stricter_server_keeps_them(
    emu: AnacondaEmulator, api: Any, whl: Path, kept: str, expected: dict[str, Any]
) -> None:
    """anaconda-client sends wheel attrs {build_no, python_version, abi, packagetype}
    (inspect_package/pypi.py); renovate's fixture shows unknown scalar and list attrs kept.
    Whether an object survives, no source says: "all" keeps it, "flat" and "known" do not."""
    emu.faults.attrs_kept = kept
    upload(api, whl, attrs={**NESTED, "extra": "x", "nested": {"a": "b"}})
    assert api.distribution(OWNER, NAME, VERSION, BASENAME)["attrs"] == expected


def test_license_is_sent_as_name_url_family_and_answered_flat(
    emu: AnacondaEmulator, api: Any
) -> None:
    """anaconda-client's add_package sends ``license: {name, url, family}``; renovate's fixture
    answers ``"license": "MIT", "license_url": null``."""
    api.add_package(OWNER, NAME, "A tiny package", "MIT", license_url="https://x.test/MIT")
    package = api.package(OWNER, NAME)
    assert (package["license"], package["license_url"]) == ("MIT", "https://x.test/MIT")


@pytest.mark.parametrize("retry_after", ["2", None])
def test_throttling_answers_429(emu: AnacondaEmulator, api: Any, retry_after: str | None) -> None:
    """Anaconda's servers rate-limit with 429 (conda/conda#14007, #13238); Retry-After is
    injectable both ways, no source shows whether api.anaconda.org sends it."""
    emu.faults.throttle.append(("GET", "/api/user$", retry_after))
    answer = requests.get(f"{emu.api_url}/user", headers={"Authorization": f"token {TOKEN}"})
    assert answer.status_code == 429
    assert answer.headers.get("Retry-After") == retry_after
    assert api.user()["login"] == OWNER  # once only


# build tags (PEP 427) ------------------------------------------------------------------------


def test_a_new_build_is_a_new_distribution_of_the_same_release(
    emu: AnacondaEmulator, api: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """anaconda-client takes name and version from METADATA and keeps the file name as the
    basename (inspect_package/pypi.py format_sdist_header_metadata; commands/upload.py
    Uploader.upload_package), sets ``attrs.build_no`` from the file name
    (inspect_pypi_package_whl: five parts -> 0, an int; six -> the build tag, a string), and
    checks only that basename before staging (Uploader._check_file)."""
    untagged, build0, build1 = (
        make_build(tmp_path / str(b), "Tiny_Pkg", "1.0", b, requires=("six",)) for b in (None, 0, 1)
    )
    for path in (untagged, build0):
        run_upload_command(emu, monkeypatch, TOKEN, str(path))
    before = len(emu.requests)
    run_upload_command(emu, monkeypatch, TOKEN, str(build1))
    # the release exists: the new build goes straight in beside the others
    quoted = "Tiny_Pkg-1.0-1-py3-none-any.whl"
    assert emu.requests[before:] == [
        ("HEAD", "/api"),
        ("GET", "/api/user"),
        ("GET", f"/api/dist/{OWNER}/Tiny_Pkg/1.0/{quoted}"),
        ("GET", f"/api/package/{OWNER}/Tiny_Pkg"),
        ("GET", f"/api/release/{OWNER}/Tiny_Pkg/1.0"),
        ("POST", f"/api/stage/{OWNER}/Tiny_Pkg/1.0/{quoted}"),
        ("POST", "/storage"),
        ("POST", f"/api/commit/{OWNER}/Tiny_Pkg/1.0/{quoted}"),
    ]
    release = api.release(OWNER, "Tiny_Pkg", "1.0")
    assert {d["basename"]: d["attrs"]["build_no"] for d in release["distributions"]} == {
        untagged.name: 0,
        build0.name: "0",
        build1.name: "1",
    }
    assert api.package(OWNER, "Tiny_Pkg")["versions"] == ["1.0"]
    page = requests.get(f"{emu.index_url}/{OWNER}/simple/tiny-pkg/", timeout=10).text
    assert all(w.name in page for w in (untagged, build0, build1))
    # the same basename again, other bytes or not, is a conflict
    rebuilt = make_build(tmp_path / "again", "Tiny_Pkg", "1.0", 1, requires=("seven",))
    with pytest.raises(errors.Conflict):
        run_upload_command(emu, monkeypatch, TOKEN, str(rebuilt))
    with pytest.raises(errors.Conflict), build1.open("rb") as fd:  # at the stage itself too
        api.upload(OWNER, "Tiny_Pkg", "1.0", build1.name, fd, "pypi")
    assert emu.file_bytes(OWNER, "Tiny_Pkg", "1.0", build1.name) == build1.read_bytes()
