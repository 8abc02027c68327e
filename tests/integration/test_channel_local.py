"""A local channel through the command line: upload, list, review, promote, remove, reindex,
serve."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from smithy.channel.local import LocalChannel
from smithy.channel.serve import make_server
from smithy.feedstock.init import run_init
from tests.conftest import METADATA
from tests.helpers import PURE_SDIST, write_recipe
from tests.integration.conftest import git, smithy
from tests.wheels import make_wheel

X = ("--xbuildenv", "314.0.5", "--xbuildenv-metadata", str(METADATA))


def listing(channel: Path) -> dict[str, list[str]]:
    run = smithy("channel", "list", "--channel", channel, "--json")
    assert run.code == 0, run.err
    return {f["filename"]: f["labels"] for f in json.loads(run.out)}


def test_upload_is_checked_idempotent_and_indexed(tmp_path: Path) -> None:
    channel = tmp_path / "channel"
    one = make_wheel(tmp_path / "dist", "Tiny_Pkg", "1.0")
    two = make_wheel(
        tmp_path / "dist", "other", "2.0", tag="cp314-cp314-pyemscripten_2026_0_wasm32"
    )
    run = smithy("upload", one, two, "--channel", channel, *X)
    assert run.code == 0, run.err
    assert "2 uploaded" in run.out
    assert listing(channel) == {one.name: ["staging"], two.name: ["staging"]}
    again = smithy("upload", one, two, "--channel", channel, *X)
    assert "2 already there" in again.out
    # indexes: HTML with #sha256= and PEP 691 JSON, per label
    files = LocalChannel(channel).files("tiny-pkg")
    page = (channel / "staging" / "simple" / "tiny-pkg" / "index.html").read_text()
    assert f'href="../../files/{one.name}#sha256={files[0].sha256}"' in page
    data = json.loads((channel / "staging" / "simple" / "tiny-pkg" / "index.json").read_text())
    assert data["files"][0]["hashes"] == {"sha256": files[0].sha256}
    assert json.loads((channel / "staging" / "simple" / "index.json").read_text())["projects"] == [
        {"name": "other"},
        {"name": "tiny-pkg"},
    ]


def test_a_different_file_of_the_same_name_needs_replace(tmp_path: Path) -> None:
    channel = tmp_path / "channel"
    first = make_wheel(tmp_path / "a", "tiny", "1.0")
    assert smithy("upload", first, "--channel", channel).code == 0
    second = make_wheel(tmp_path / "b", "tiny", "1.0", files={"tiny/__init__.py": "CHANGED = 1\n"})
    refused = smithy("upload", second, "--channel", channel)
    assert refused.code == 13
    assert "another sha256" in refused.err
    assert "--replace" in refused.err
    replaced = smithy("upload", second, "--channel", channel, "--replace")
    assert replaced.code == 0, replaced.err
    assert "1 replaced" in replaced.out
    (stored,) = LocalChannel(channel).files("tiny")
    assert stored.sha256 == LocalChannel(channel).files("tiny")[0].provenance.sha256  # type: ignore[union-attr]
    assert (channel / "staging" / "files" / second.name).read_bytes() == second.read_bytes()


def test_refusals_send_nothing(tmp_path: Path) -> None:
    channel = tmp_path / "channel"
    good = make_wheel(tmp_path / "d", "good", "1.0")
    bad_platform = make_wheel(
        tmp_path / "d", "c", "1.0", tag="cp315-cp315-pyemscripten_2027_0_wasm32"
    )
    wrong_version = make_wheel(tmp_path / "d", "mis", "1.0", meta_version="9.9")
    run = smithy("upload", good, bad_platform, wrong_version, "--channel", channel, *X)
    assert run.code == 12
    assert "does not fit xbuildenv 314.0.5" in run.err
    assert "METADATA Version '9.9' does not match the file name" in run.err
    assert "2 wheels refused, nothing sent" in run.err
    assert not channel.exists()


def test_feedstock_settings_and_provenance(tmp_path: Path) -> None:
    folder = write_recipe(tmp_path / "src" / "example-pkg", PURE_SDIST)
    feedstock = run_init(str(folder), output=tmp_path / "example-pkg-feedstock").feedstock
    channel = tmp_path / "channel"
    config = feedstock / "pyodide-smithy.yml"
    config.write_text(config.read_text().replace('"anaconda://pyodide"', f'"{channel}"'))
    git(feedstock, "commit", "-qam", "local channel")
    head = git(feedstock, "rev-parse", "HEAD").strip()
    wheel = make_wheel(tmp_path / "dist", "example-pkg", "1.2.3")
    env = {"GITHUB_REPOSITORY": "", "GITHUB_SHA": "", "GITHUB_RUN_ID": ""}
    run = smithy("upload", wheel, cwd=feedstock, env=env)
    assert run.code == 0, run.err
    (f,) = LocalChannel(channel).files()
    assert f.labels == ("staging",)
    assert f.provenance is not None
    assert f.provenance.feedstock == "example-pkg-feedstock"
    assert f.provenance.commit == head
    assert f.provenance.xbuildenv == "314.0.5"
    ci = {
        "GITHUB_REPOSITORY": "org/example-pkg-feedstock",
        "GITHUB_SHA": "abc",
        "GITHUB_RUN_ID": "7",
        "GITHUB_SERVER_URL": "https://github.com",
    }
    other = make_wheel(tmp_path / "dist2", "example-pkg", "1.2.4")
    assert smithy("upload", other, cwd=feedstock, env=ci).code == 0
    stored = {x.filename: x for x in LocalChannel(channel).files()}[other.name].provenance
    assert stored is not None
    assert stored.feedstock == "org/example-pkg-feedstock"
    assert stored.run_url == "https://github.com/org/example-pkg-feedstock/actions/runs/7"
    # A separate staging channel in the settings: CI uploads there, not to channel.url.
    staging = tmp_path / "staging-channel"
    config.write_text(config.read_text().replace('staging-url: ""', f'staging-url: "{staging}"'))
    third = make_wheel(tmp_path / "dist3", "example-pkg", "1.2.5")
    assert smithy("upload", third, cwd=feedstock, env=env).code == 0
    assert [f.filename for f in LocalChannel(staging).files()] == [third.name]
    assert third.name not in {f.filename for f in LocalChannel(channel).files()}


def test_a_feedstock_uploads_only_its_own_package(tmp_path: Path) -> None:
    """A wheel of another project would be recorded as this feedstock's output: refused."""
    folder = write_recipe(tmp_path / "src" / "example-pkg", PURE_SDIST)
    feedstock = run_init(str(folder), output=tmp_path / "example-pkg-feedstock").feedstock
    channel = tmp_path / "channel"
    config = feedstock / "pyodide-smithy.yml"
    config.write_text(config.read_text().replace('"anaconda://pyodide"', f'"{channel}"'))
    stranger = make_wheel(tmp_path / "dist", "micropip", "0.9.0")
    ours = make_wheel(tmp_path / "dist", "Example_Pkg", "1.2.3")  # another spelling: ours
    env = {"GITHUB_REPOSITORY": "", "GITHUB_SHA": "", "GITHUB_RUN_ID": ""}
    run = smithy("upload", stranger, cwd=feedstock, env=env)
    assert run.code == 12
    assert run.err.splitlines() == [
        f"error: micropip is not an output of this feedstock, which builds example-pkg ({stranger})"
    ]
    assert not channel.exists()
    both = smithy("upload", ours, stranger, "--channel", channel, cwd=feedstock, env=env)
    assert both.code == 12  # one stranger refuses the batch
    assert not channel.exists()
    assert smithy("upload", ours, cwd=feedstock, env=env).code == 0
    # Outside a feedstock any valid wheel goes, with no feedstock as its provenance.
    assert smithy("upload", stranger, "--channel", channel, cwd=tmp_path, env=env).code == 0
    recorded = {
        f.filename: f.provenance.feedstock if f.provenance else "?"
        for f in LocalChannel(channel).files()
    }
    assert recorded == {ours.name: "example-pkg-feedstock", stranger.name: None}


@pytest.fixture
def staged(tmp_path: Path) -> Path:
    """A channel with tiny 1.0 in main and tiny 1.1 (one more file, one more need) in staging."""
    channel = tmp_path / "channel"
    old = make_wheel(tmp_path / "v1", "tiny", "1.0")
    new = make_wheel(
        tmp_path / "v2",
        "tiny",
        "1.1",
        requires=("six",),
        files={"tiny/__init__.py": "X = 1\n", "tiny/extra.py": "Y = 2\n"},
    )
    assert smithy("upload", old, "--channel", channel, "--label", "main").code == 0
    assert smithy("upload", new, "--channel", channel, *X).code == 0
    return channel


def test_review_shows_what_changed(staged: Path) -> None:
    run = smithy("review", "--channel", staged, "--json")
    assert run.code == 0, run.err
    (r,) = json.loads(run.out)
    assert r["file"]["filename"] == "tiny-1.1-py3-none-any.whl"
    assert r["baseline"]["filename"] == "tiny-1.0-py3-none-any.whl"
    assert r["new_version"] is True
    assert r["size_change"] > 0
    assert r["files_added"] == ["tiny/extra.py"]
    assert r["requires_added"] == ["six"]
    assert r["problems"] == []
    text = smithy("review", "--channel", staged).out
    assert "+ file    tiny/extra.py" in text
    assert "+ needs   six" in text


def test_promote_checks_then_copies(staged: Path, tmp_path: Path) -> None:
    registry = tmp_path / "outputs.yml"
    registry.write_text("tiny: org/someone-else-feedstock\n")
    owned = smithy("promote", "tiny", "1.1", "--channel", staged, "--registry", registry)
    assert owned.code == 13
    assert "tiny belongs to org/someone-else-feedstock" in owned.err
    wrong_abi = smithy(
        "promote",
        "tiny",
        "1.1",
        "--channel",
        staged,
        "--xbuildenv",
        "0.27.7",
        "--xbuildenv-metadata",
        METADATA,
    )
    assert wrong_abi.code == 0, wrong_abi.err  # a pure wheel fits every xbuildenv
    assert listing(staged)["tiny-1.1-py3-none-any.whl"] == ["main", "staging"]
    assert "nothing to promote" in smithy("promote", "tiny", "1.1", "--channel", staged).err


def test_promote_refuses_a_file_changed_after_upload(staged: Path) -> None:
    stored = staged / "staging" / "files" / "tiny-1.1-py3-none-any.whl"
    stored.write_bytes(stored.read_bytes() + b"tampered")
    run = smithy("promote", "tiny", "1.1", "--channel", staged)
    assert run.code == 13
    assert "differs from the one recorded at upload" in run.err
    assert "PROBLEM" in smithy("review", "--channel", staged).out


def test_promote_refuses_a_platform_that_does_not_fit(tmp_path: Path) -> None:
    channel = tmp_path / "channel"
    wheel = make_wheel(tmp_path / "d", "c", "1.0", tag="cp314-cp314-pyemscripten_2026_0_wasm32")
    assert smithy("upload", wheel, "--channel", channel, *X).code == 0
    run = smithy(
        "promote",
        "c",
        "1.0",
        "--channel",
        channel,
        "--xbuildenv",
        "315.0.0a2",
        "--xbuildenv-metadata",
        METADATA,
    )
    assert run.code == 13
    assert "does not fit xbuildenv 315.0.0a2" in run.err


def test_separate_staging_channel(tmp_path: Path) -> None:
    staging, main = tmp_path / "staging-channel", tmp_path / "main-channel"
    wheel = make_wheel(tmp_path / "d", "tiny", "2.0")
    assert smithy("upload", wheel, "--channel", staging).code == 0
    run = smithy("promote", "tiny", "2.0", "--channel", main, "--staging-channel", staging)
    assert run.code == 0, run.err
    assert listing(main) == {wheel.name: ["main"]}
    assert listing(staging) == {wheel.name: ["staging"]}


def test_remove_a_label_then_the_file(staged: Path) -> None:
    only_label = smithy("channel", "remove", "tiny", "1.0", "--label", "main", "--channel", staged)
    assert only_label.code == 13  # its last label: remove the file instead
    assert smithy("promote", "tiny", "1.1", "--channel", staged).code == 0
    assert (
        smithy("channel", "remove", "tiny", "1.1", "--label", "staging", "--channel", staged).code
        == 0
    )
    assert listing(staged)["tiny-1.1-py3-none-any.whl"] == ["main"]
    assert smithy("channel", "remove", "tiny", "1.0", "--channel", staged).code == 0
    assert "tiny-1.0-py3-none-any.whl" not in listing(staged)
    assert not (staged / "main" / "files" / "tiny-1.0-py3-none-any.whl").exists()


def test_reindex_says_what_it_fixed(staged: Path, tmp_path: Path) -> None:
    clean = smithy("channel", "reindex", staged)
    assert (clean.code, clean.out) == (0, "indexes are up to date\n")
    (staged / "staging" / "simple" / "tiny" / "index.json").unlink()  # e.g. an older version
    (staged / "main" / "files" / "stray-1.0-py3-none-any.whl").write_bytes(b"?")
    lines = ["index of tiny: out of date in staging", "main/files/stray-1.0-py3-none-any.whl: "]
    check = smithy("channel", "reindex", staged, "--check")
    assert check.code == 1
    assert check.out.splitlines() == [lines[0], lines[1] + "not in the registry"]
    fixed = smithy("channel", "reindex", staged)
    assert fixed.code == 0
    assert fixed.out.splitlines() == [
        f"{lines[0]}; rewritten",
        f"{lines[1]}not in the registry; removed",
    ]
    assert json.loads((staged / "staging" / "simple" / "tiny" / "index.json").read_text())["files"]
    assert smithy("channel", "reindex", staged).out == "indexes are up to date\n"


def test_reindex_refuses_what_is_not_a_local_channel(tmp_path: Path) -> None:
    missing = smithy("channel", "reindex", tmp_path / "nowhere")
    assert missing.code == 2
    assert missing.err.strip() == f"error: channel directory not found ({tmp_path / 'nowhere'})"
    folder = tmp_path / "not-a-channel"
    (folder / "main" / "files").mkdir(parents=True)
    (folder / "main" / "files" / "mine.whl").write_bytes(b"keep")
    refused = smithy("channel", "reindex", folder)
    assert refused.code == 2
    assert refused.err.strip() == f"error: not a local channel: it has no channel.json ({folder})"
    assert sorted(p.name for p in folder.rglob("*")) == ["files", "main", "mine.whl"]


@pytest.fixture
def served(staged: Path) -> Iterator[str]:
    server = make_server(staged, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def fetch(url: str, accept: str = "text/html") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_serve_negotiates_and_sends_cors(served: str, staged: Path) -> None:
    status, headers, body = fetch(f"{served}/simple/Tiny/")
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert b"tiny-1.0-py3-none-any.whl#sha256=" in body
    status, headers, body = fetch(
        f"{served}/label/staging/simple/tiny/", "application/vnd.pypi.simple.v1+json"
    )
    assert headers["Content-Type"] == "application/vnd.pypi.simple.v1+json"
    names = [f["filename"] for f in json.loads(body)["files"]]
    assert names == ["tiny-1.1-py3-none-any.whl"]
    status, headers, body = fetch(f"{served}/label/staging/files/tiny-1.1-py3-none-any.whl")
    assert body == (staged / "staging" / "files" / "tiny-1.1-py3-none-any.whl").read_bytes()
    status, headers, _ = fetch(f"{served}/simple/no-such-project/")
    assert status == 404
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert fetch(f"{served}/files/../channel.json")[0] == 404


def test_reading_a_channel_that_is_not_there(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    for args in (("review",), ("channel", "list"), ("promote", "tiny", "1.0"), ("lock", "tiny")):
        run = smithy(*args, "--channel", missing, *(X if args[0] == "lock" else ()))
        assert run.code == 2, (args, run.err)
        assert run.err.strip() == f"error: channel directory not found ({missing})"


@pytest.mark.parametrize(
    "args",
    [
        ("upload", "WHEEL", "--label", "../../escaped"),
        ("upload", "WHEEL", "--label", "/tmp"),
        ("review", "--label", "../x"),
        ("promote", "tiny", "1.0", "--label", "../x"),
        ("channel", "remove", "tiny", "1.0", "--label", "../x"),
        ("lock", "tiny", "--label", "../x", *X),
    ],
)
def test_a_label_never_becomes_a_path_outside_the_channel(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    channel = tmp_path / "deep" / "channel"
    wheel = make_wheel(tmp_path / "dist", "tiny", "1.0")
    argv = [str(wheel) if a == "WHEEL" else a for a in args]
    run = smithy(*argv, "--channel", channel, cwd=tmp_path)
    assert run.code == 2, run.err
    (line,) = run.err.splitlines()
    assert line.startswith("error: --label '")
    assert "is not a valid label" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dist"]
