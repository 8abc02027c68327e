"""The Anaconda.org backend against the emulator (which binstar_client accepts as the real thing)."""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from smithy.channel.anaconda import AnacondaChannel
from smithy.channel.model import Provenance
from smithy.channel.upload import Origin, run_upload
from smithy.channel.wheel import read_wheel
from smithy.errors import ChannelError
from tests.integration.anaconda_emulator import AnacondaEmulator, running_emulator
from tests.integration.conftest import Run, smithy
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
    assert emulator.packages("pyodide") == ["other", "tiny-pkg"]  # new packages: PEP 503 names
    for w in wheels:
        f = files[w.name]
        assert f["labels"] == ["staging"]
        assert f["sha256"] == read_wheel(w).sha256
        assert f["attrs"]["pyodide_smithy_sha256"] == f["sha256"]
        assert f["description"].startswith("pyodide-smithy provenance {")
        assert emulator.file_bytes("pyodide", f["package"], f["version"], w.name) == w.read_bytes()
    emulator.requests.clear()
    again = smithy("upload", *wheels, "--channel", url(emulator), env=env())
    assert "3 already there" in again.out
    # "is it already there": one listing per package, nothing else
    gets = [p for m, p in emulator.requests if m == "GET"]
    assert sorted(gets) == ["/api/package/pyodide/other", "/api/package/pyodide/tiny-pkg"]
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


# --- the token goes only over https, and never off the API ----------------------------------


def one_error_line(run: Run) -> str:
    """The refusal: exactly one line, ``error: …``, and no traceback."""
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("error: "), run.err
    return lines[0]


def through_proxy(emu: AnacondaEmulator, token: str | None = TOKEN) -> dict[str, str]:
    """Send any plain-http request to a remote host through the emulator, which logs it."""
    base = emu.api_url.removesuffix("/api")
    proxy = {"HTTP_PROXY": base, "http_proxy": base, "NO_PROXY": "127.0.0.1", "no_proxy": ""}
    return {**proxy, "ANACONDA_API_TOKEN": token or ""}


def test_the_token_is_never_sent_over_plain_http(
    emulator: AnacondaEmulator, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path, "tiny", "1.0")
    remote = "http://anaconda-mirror.example/api/pyodide"
    run = smithy("upload", wheel, "--channel", remote, env=through_proxy(emulator))
    assert run.code == 2
    line = one_error_line(run)
    assert f"channel {remote}: refusing to send the Anaconda.org token over plain http" in line
    override = {**through_proxy(emulator), "PYODIDE_SMITHY_ANACONDA_API_URL": remote[:-8]}
    run = smithy("upload", wheel, "--channel", "anaconda://pyodide", env=override)
    assert run.code == 2
    assert "$PYODIDE_SMITHY_ANACONDA_API_URL=http://anaconda-mirror.example/api" in one_error_line(
        run
    )
    assert emulator.requests == []
    # The proxy would have seen it: without a token, reading over plain http goes through.
    read = smithy("channel", "list", "--channel", remote, env=through_proxy(emulator, None))
    assert read.code == 0, read.err
    assert emulator.requests == [("GET", "/api/packages/pyodide")]
    assert emulator.with_token == []


def test_storage_and_downloads_never_get_the_token(
    emulator: AnacondaEmulator, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path, "tiny", "1.0")
    assert smithy("upload", wheel, "--channel", url(emulator), env=env()).code == 0
    assert smithy("review", "--channel", url(emulator), "--json", env=env()).code == 0
    paths = [p for _, p in emulator.requests]
    assert "/storage" in paths
    assert "/api/download/pyodide/tiny/1.0/tiny-1.0-py3-none-any.whl" in paths
    assert emulator.with_token
    for _, path in emulator.with_token:
        assert path.startswith("/api/")
        assert not path.startswith("/api/download/")


class Recorder(ThreadingHTTPServer):
    """Another host: records whatever reaches it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorder.seen.append((self.command, self.path, self.headers.get("Authorization")))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_POST = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def elsewhere() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_redirects_never_take_the_token_elsewhere(
    emulator: AnacondaEmulator, elsewhere: Recorder, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path, "tiny", "1.0")
    steal = f"http://localhost:{elsewhere.server_address[1]}/steal"  # another host name
    emulator.faults.redirect.append(("GET", "/api/package/pyodide/tiny$", 302, steal))
    run = smithy("upload", wheel, "--channel", url(emulator), env=env())
    assert run.code == 13
    line = one_error_line(run)
    assert f"a redirect to {steal}: not followed, the token stays on {emulator.api_url}" in line
    assert elsewhere.seen == []
    assert [m for m, _ in emulator.requests] == ["GET"]  # nothing was written
    # A write is never redirected, not even to its own server: refused, looked at, tried again.
    emulator.faults.redirect.append(("POST", "/api/stage/", 307, steal))
    # A read redirected within the API's own origin is followed.
    emulator.faults.redirect.append(
        ("GET", "/api/package/pyodide/tiny$", 301, "/api/package/pyodide/tiny")
    )
    run = smithy("upload", wheel, "--channel", url(emulator), env=env())
    assert run.code == 0, run.err
    assert elsewhere.seen == []
    assert emulator.faults.redirect == []
    assert stored(emulator) == {wheel.name: (read_wheel(wheel).sha256, ["staging"])}
    assert emulator.count("POST", "/api/stage/pyodide/tiny/.*") == 2


# --- requests that create state are never sent twice blindly ---------------------------------


def after(emu: AnacondaEmulator, method: str, path_regex: str) -> list[tuple[str, str]]:
    """The requests logged after the first one that matches."""
    for i, (m, p) in enumerate(emu.requests):
        if m == method and re.search(path_regex, p):
            return emu.requests[i + 1 :]
    raise AssertionError(f"no {method} {path_regex} in {emu.requests}")


def looked_first(emu: AnacondaEmulator, lost: str, package: str) -> None:
    """After the POST matching ``lost``, and before the package's next create: a read first,
    and among the reads a fresh look at the package's files."""
    creates = rf"^/api/(stage|commit|copy/package)/pyodide[^/]*/{package}/|^/storage$"
    rest = after(emu, "POST", lost)
    upto = next(
        (i for i, (m, p) in enumerate(rest) if m == "POST" and re.search(creates, p)), len(rest)
    )
    window = rest[:upto]
    assert window, f"nothing after {lost}"
    assert window[0][0] == "GET", window
    assert ("GET", f"/api/package/pyodide/{package}") in window, window


def test_a_lost_answer_to_a_create_is_followed_by_a_read_not_a_second_create(
    emulator: AnacondaEmulator, tmp_path: Path
) -> None:
    wheels = [make_wheel(tmp_path, f"pkg{i}", "1.0") for i in range(3)]
    emulator.faults.lose_answer += [
        ("POST", r"^/api/commit/pyodide/pkg0/"),  # done, but the answer is lost
        ("POST", r"^/api/stage/pyodide/pkg1/"),
        ("POST", r"^/storage$"),  # pkg0's bytes: stored, answer lost
    ]
    results = run_upload(
        wheels, channel(emulator), label="staging", xbuildenv=None, origin=Origin(), jobs=1
    )
    assert [r.outcome for r in results] == ["uploaded"] * 3
    assert emulator.faults.lose_answer == []
    assert stored(emulator) == {w.name: (read_wheel(w).sha256, ["staging"]) for w in wheels}
    # pkg0: its storage answer was lost, so it looked, found nothing and staged again; then its
    # commit's answer was lost: it looked, found the file, and did not commit it a second time.
    looked_first(emulator, "^/storage$", "pkg0")
    looked_first(emulator, "^/api/commit/pyodide/pkg0/", "pkg0")
    assert emulator.count("POST", "/api/commit/pyodide/pkg0/.*") == 1
    assert emulator.count("POST", "/api/stage/pyodide/pkg0/.*") == 2
    # pkg1: the stage's answer was lost; a look, then a fresh stage
    looked_first(emulator, "^/api/stage/pyodide/pkg1/", "pkg1")
    assert emulator.count("POST", "/api/commit/pyodide/pkg1/.*") == 1
    # the shared session resent no POST by itself: every second POST follows a look
    posts = [(i, p) for i, (m, p) in enumerate(emulator.requests) if m == "POST"]
    for (i, first), (j, second) in itertools.pairwise(posts):
        if first == second:
            assert any(m == "GET" for m, _ in emulator.requests[i + 1 : j]), (first, i, j)


def test_a_server_error_on_a_create_is_not_retried_by_the_session(
    emulator: AnacondaEmulator, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path, "tiny", "1.0")
    emulator.faults.fail.append(("POST", "^/api/commit/", 503))
    run_upload([wheel], channel(emulator), label="staging", xbuildenv=None, origin=Origin())
    looked_first(emulator, "^/api/commit/pyodide/tiny/", "tiny")
    assert emulator.count("POST", "/api/commit/.*") == 2
    assert stored(emulator) == {wheel.name: (read_wheel(wheel).sha256, ["staging"])}


def test_promote_looks_before_copying_again(emulator: AnacondaEmulator, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "tiny", "3.0")
    staging = url(emulator, "pyodide-staging")
    assert smithy("upload", wheel, "--channel", staging, env=env(STAGING_TOKEN)).code == 0
    emulator.faults.lose_answer.append(("POST", "^/api/copy/package/pyodide-staging/tiny/"))
    run = smithy(
        "promote",
        "tiny",
        "3.0",
        "--channel",
        url(emulator),
        "--staging-channel",
        staging,
        env=env(),
    )
    assert run.code == 0, run.err
    assert emulator.count("POST", "/api/copy/package/.*") == 1
    assert after(emulator, "POST", "^/api/copy/")[0] == ("GET", "/api/package/pyodide/tiny")
    assert stored(emulator)[wheel.name][1] == ["main"]
    # within one owner: adding the label, its answer lost
    other = make_wheel(tmp_path / "b", "tiny", "3.1")
    assert smithy("upload", other, "--channel", url(emulator), env=env()).code == 0
    emulator.faults.lose_answer.append(("POST", "^/api/channels/pyodide/main$"))
    run = smithy("promote", "tiny", "3.1", "--channel", url(emulator), env=env())
    assert run.code == 0, run.err
    assert emulator.count("POST", "/api/channels/pyodide/main") == 1
    assert stored(emulator)[other.name][1] == ["main", "staging"]


# --- names the channel could not hold are refused before anything is sent --------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("upload", "WHEEL", "--label", "../main"), "--label '../main' is not a valid label"),
        (("upload", "WHEEL", "--label", "a/b"), "--label 'a/b' is not a valid label"),
        (("upload", "WHEEL", "--channel", "anaconda://.."), "'..' in 'anaconda://..' is not an"),
        (("upload", "WHEEL", "--channel", "API/pyo%2Fdide"), "is not an Anaconda.org user"),
        (("upload", "WHEEL", "--channel", "API/pyodide?index=javascript:x"), "http(s) URL"),
        (("review", "../tiny", "--channel", "API/pyodide"), "PACKAGE '../tiny' is not a valid"),
        (("review", "--label", "x y", "--channel", "API/pyodide"), "--label 'x y' is not a valid"),
        (("promote", "tiny/..", "1.0", "--channel", "API/pyodide"), "PACKAGE 'tiny/..' is not"),
        (("channel", "list", "a?b", "--channel", "API/pyodide"), "PACKAGE 'a?b' is not a valid"),
        (("channel", "remove", "%2e%2e", "1", "--channel", "API/pyodide"), "PACKAGE '%2e%2e'"),
        (
            ("channel", "remove", "tiny", "1", "--label", "-x", "--channel", "API/pyodide"),
            "--label",
        ),
    ],
)
def test_names_are_refused_before_anything_is_sent(
    emulator: AnacondaEmulator, tmp_path: Path, args: tuple[str, ...], words: str
) -> None:
    wheel = make_wheel(tmp_path, "tiny", "1.0")
    api = emulator.api_url
    argv = [str(wheel) if a == "WHEEL" else a.replace("API/", f"{api}/") for a in args]
    run = smithy(*argv, env={**env(), "PYODIDE_SMITHY_ANACONDA_API_URL": api})
    assert run.code == 2, run.err
    assert words in one_error_line(run)
    assert emulator.requests == []


def test_credentials_in_the_channel_url_are_refused_unseen(
    emulator: AnacondaEmulator, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path, "tiny", "1.0")
    api = emulator.api_url.replace("http://", "http://ci:hunter2-secret@")
    run = smithy("upload", wheel, "--channel", f"{api}/pyodide", env=env())
    assert run.code == 2
    assert "may not hold credentials" in one_error_line(run)
    assert "hunter2" not in run.err + run.out
    assert emulator.requests == []
