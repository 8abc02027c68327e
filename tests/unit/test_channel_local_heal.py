"""A local channel interrupted at any step heals: on the next write, the next read, or reindex.

Kills are simulated in-process by raising at the channel's test hook (``_step``, called before
every change it makes to its folder); tests/integration/test_channel_local_kill.py does it with
real SIGKILLs. ``assert_consistent`` checks a channel without the channel's own code.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from smithy.channel import local
from smithy.channel.local import LocalChannel
from smithy.channel.model import MAIN, ChannelFile, Provenance
from smithy.channel.wheel import Wheel, read_wheel
from smithy.errors import UsageError
from smithy.fsutil import write_atomic
from tests.wheels import make_wheel

State = dict[str, tuple[tuple[str, ...], str]]  # filename -> (labels, sha256)


def registry_state(root: Path) -> State:
    data = json.loads((root / "channel.json").read_text())
    return {f["filename"]: (tuple(f["labels"]), f["sha256"]) for f in data["files"]}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_registry_files_present(root: Path) -> None:
    """What holds at every instant, killed or not: each file the registry lists is in place."""
    for name, (labels, digest) in registry_state(root).items():
        for label in labels:
            assert sha256(root / label / "files" / name) == digest, (label, name)


def assert_consistent(root: Path) -> None:
    """Every label's files are exactly the registry's, with its sha256; every PEP 503 and
    PEP 691 page lists exactly those files with those hashes; no debris of a killed write."""
    state = registry_state(root)
    assert not (root / ".unfinished").exists()
    debris = [p.relative_to(root) for p in root.rglob(".*") if p.name != ".lock"]
    assert debris == []
    labels = {label for labels, _ in state.values() for label in labels}
    labels |= {p.parent.name for p in [*root.glob("*/files"), *root.glob("*/simple")]}
    for label in labels:
        listed = {name: digest for name, (ls, digest) in state.items() if label in ls}
        folder = root / label / "files"
        present = {p.name: sha256(p) for p in folder.iterdir()} if folder.is_dir() else {}
        assert present == listed, label
        projects: dict[str, dict[str, str]] = {}
        for name, digest in present.items():
            project = re.sub(r"[-_.]+", "-", name.split("-")[0]).lower()
            projects.setdefault(project, {})[name] = digest
        simple = root / label / "simple"
        root_html = (simple / "index.html").read_text()
        assert re.findall(r'href="([^"]+)/"', root_html) == sorted(projects), label
        root_json = json.loads((simple / "index.json").read_text())
        assert [p["name"] for p in root_json["projects"]] == sorted(projects), label
        assert sorted(p.name for p in simple.iterdir() if p.is_dir()) == sorted(projects)
        for project, files in projects.items():
            page = (simple / project / "index.html").read_text()
            links = re.findall(r'href="\.\./\.\./files/([^"#]+)#sha256=([0-9a-f]{64})"', page)
            assert dict(links) == files, (label, project)
            data = json.loads((simple / project / "index.json").read_text())
            assert {f["filename"]: f["hashes"]["sha256"] for f in data["files"]} == files
            for f in data["files"]:
                assert f["url"] == f"../../files/{f['filename']}"
                assert f["size"] == (folder / f["filename"]).stat().st_size


def wheel(dist: Path, name: str, version: str, files: dict[str, str] | None = None) -> Wheel:
    folder = dist / ("changed" if files else "plain")
    return read_wheel(make_wheel(folder, name, version, files=files))


def put(channel: LocalChannel, w: Wheel, *labels: str) -> None:
    channel.put(w, labels=labels, provenance=Provenance(sha256=w.sha256))


def find(channel: LocalChannel, filename: str) -> ChannelFile:
    return next(f for f in channel.files() if f.filename == filename)


TINY_10, TINY_11 = "tiny-1.0-py3-none-any.whl", "tiny-1.1-py3-none-any.whl"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny 1.0 in main and staging, tiny 1.1 in staging, other 2.0 in main."""
    tmp = tmp_path_factory.mktemp("base")
    channel = LocalChannel(tmp / "channel")
    put(channel, wheel(tmp, "tiny", "1.0"), MAIN, "staging")
    put(channel, wheel(tmp, "tiny", "1.1"), "staging")
    put(channel, wheel(tmp, "other", "2.0"), MAIN)
    assert_consistent(channel.root)
    return channel.root


def _upload(c: LocalChannel, dist: Path) -> None:
    put(c, wheel(dist, "brand", "1.0"), "staging")


def _replace(c: LocalChannel, dist: Path) -> None:
    c.delete(find(c, TINY_11))
    put(c, wheel(dist, "tiny", "1.1", files={"tiny/__init__.py": "CHANGED = 1\n"}), "staging")


def _promote(c: LocalChannel, dist: Path) -> None:
    c.set_label(find(c, TINY_11), MAIN, present=True)


def _unlabel(c: LocalChannel, dist: Path) -> None:
    c.set_label(find(c, TINY_10), "staging", present=False)


def _delete(c: LocalChannel, dist: Path) -> None:
    c.delete(find(c, TINY_10))


OPERATIONS: dict[str, Callable[[LocalChannel, Path], None]] = {
    "upload": _upload,
    "replace": _replace,
    "promote": _promote,
    "unlabel": _unlabel,
    "delete": _delete,
}


class Killed(BaseException):
    """What a kill looks like from inside: nothing after it runs, not even except clauses."""


def kill_at(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """Make the channel's step hook raise ``Killed`` before its ``n``th change."""
    count = 0

    def step() -> None:
        nonlocal count
        count += 1
        if count == n:
            raise Killed

    monkeypatch.setattr(local, "_step", step)


def heal(how: str, channel: LocalChannel, dist: Path) -> None:
    if how == "read":
        channel.files()
    elif how == "write":
        put(channel, wheel(dist, "zzz", "1.0"), MAIN)
        channel.delete(find(channel, "zzz-1.0-py3-none-any.whl"))
    else:
        channel.reindex()


@pytest.mark.parametrize("how", ["read", "write", "reindex"])
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_a_kill_before_any_step_heals(
    operation: str,
    how: str,
    base: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Kill the operation before its 1st, 2nd, ... change until it runs to the end; after each
    kill the channel holds the state before or after a change, and heals whole."""
    before = registry_state(base)
    states = []
    for n in range(1, 100):
        channel = LocalChannel(tmp_path / f"kill-{n}")
        shutil.copytree(base, channel.root)
        kill_at(monkeypatch, n)
        try:
            OPERATIONS[operation](channel, tmp_path / "dist")
        except Killed:
            monkeypatch.undo()
            assert_registry_files_present(channel.root)
            heal(how, channel, tmp_path / "dist")
            assert_consistent(channel.root)
            states.append(registry_state(channel.root))
            continue
        monkeypatch.undo()
        after = registry_state(channel.root)
        assert_consistent(channel.root)
        break
    else:
        pytest.fail("the operation never finished")
    assert n > 5  # the hook does see the steps
    between = {k: v for k, v in before.items() if k != TINY_11}  # replace: deleted, not put yet
    allowed = [before, after, *([between] if operation == "replace" else [])]
    assert all(state in allowed for state in states)
    assert before in states
    assert after in states


def test_leftovers_of_a_killed_write_go_at_the_next_read(base: Path, tmp_path: Path) -> None:
    root = tmp_path / "channel"
    shutil.copytree(base, root)
    (root / ".unfinished").touch()
    debris = [
        root / ".channel.json.k2j4h1.tmp",
        root / "staging" / "simple" / ".index.html.a8d9f0.tmp",
        root / "staging" / "simple" / "tiny" / ".index.json.0cd83b.tmp",
        root / "staging" / "files" / ".brand-1.0-py3-none-any.whl.partial",
        root / "staging" / "files" / "brand-1.0-py3-none-any.whl",  # placed, never committed
    ]
    for path in debris:
        path.write_bytes(b"half")
    (root / MAIN / "simple" / "tiny" / "index.json").write_text("{}")  # not rewritten yet
    assert len(LocalChannel(root).files()) == 3
    assert_consistent(root)


def test_a_read_leaves_healing_to_the_change_that_holds_the_lock(
    base: Path, tmp_path: Path
) -> None:
    root = tmp_path / "channel"
    shutil.copytree(base, root)
    (root / ".unfinished").touch()
    stale = root / MAIN / "simple" / "tiny" / "index.html"
    stale.write_text("stale")
    with (root / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert len(LocalChannel(root).files()) == 3  # reads, does not wait
        assert stale.read_text() == "stale"
    LocalChannel(root).files()
    assert_consistent(root)


def test_a_change_rewrites_only_its_own_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 uploads must not re-index 200 projects each: one upload writes its pages only."""
    channel = LocalChannel(tmp_path / "channel")
    for i in range(20):
        put(channel, wheel(tmp_path, f"pkg{i}", "1.0"), MAIN if i % 2 else "staging")
    written: list[str] = []

    def recording(path: Path, content: bytes, **kwargs: int | None) -> None:
        written.append(path.relative_to(channel.root).as_posix())
        write_atomic(path, content, **kwargs)

    monkeypatch.setattr(local, "write_atomic", recording)
    put(channel, wheel(tmp_path, "pkg3", "1.1"), MAIN)
    assert sorted(written) == [
        "channel.json",
        "main/simple/index.html",
        "main/simple/index.json",
        "main/simple/pkg3/index.html",
        "main/simple/pkg3/index.json",
        "staging/simple/index.html",
        "staging/simple/index.json",
    ]
    assert not (channel.root / ".unfinished").exists()


def test_reindex_repairs_what_no_kill_causes(base: Path, tmp_path: Path) -> None:
    root = tmp_path / "channel"
    shutil.copytree(base, root)
    (root / "staging" / "files" / TINY_10).unlink()  # main still has it
    (root / MAIN / "files" / "other-2.0-py3-none-any.whl").unlink()  # nowhere else
    (root / MAIN / "files" / "stray-1.0-py3-none-any.whl").write_bytes(b"?")
    (root / "staging" / "simple" / "tiny" / "index.html").write_text("stale")
    expected = [
        "main/files/other-2.0-py3-none-any.whl: missing, and no other label has it; "
        "main taken off it",
        "other-2.0-py3-none-any.whl: no label left; taken off the registry",
        "staging/files/tiny-1.0-py3-none-any.whl: missing; linked again from main",
        "project list: out of date in main; rewritten",
        "index of other: out of date in main; rewritten",
        "index of tiny: out of date in staging; rewritten",
        "main/files/stray-1.0-py3-none-any.whl: not in the registry; removed",
    ]
    snapshot = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    checked = LocalChannel(root).reindex(fix=False)
    assert [r.line(fixed=True) for r in checked.repairs] == expected
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == snapshot
    fixed = LocalChannel(root).reindex()
    assert [r.line(fixed=True) for r in fixed.repairs] == expected
    assert fixed.problems == ()
    assert_consistent(root)
    assert sorted(registry_state(root)) == [TINY_10, TINY_11]
    assert LocalChannel(root).reindex().repairs == ()


def test_reindex_reports_bytes_that_differ_and_leaves_them(base: Path, tmp_path: Path) -> None:
    root = tmp_path / "channel"
    shutil.copytree(base, root)
    stored = root / "staging" / "files" / TINY_11
    stored.write_bytes(stored.read_bytes() + b"tampered")
    result = LocalChannel(root).reindex()
    assert result.repairs == ()
    assert result.problems == (
        f"staging/files/{TINY_11} differs from the sha256 recorded at upload: remove it, "
        "or upload it again with --replace",
    )
    assert stored.read_bytes().endswith(b"tampered")


def test_reindex_refuses_a_folder_that_is_not_a_channel(tmp_path: Path) -> None:
    (tmp_path / "staging" / "files").mkdir(parents=True)
    (tmp_path / "staging" / "files" / "keep-1.0-py3-none-any.whl").write_bytes(b"mine")
    with pytest.raises(UsageError, match="not a local channel: it has no channel.json"):
        LocalChannel(tmp_path).reindex()
    assert (tmp_path / "staging" / "files" / "keep-1.0-py3-none-any.whl").exists()
