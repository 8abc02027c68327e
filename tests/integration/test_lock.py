"""``lock`` end to end: a channel filled by `upload`, pyodide-lock's classes, a real Pyodide."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from smithy.channel.local import LocalChannel
from smithy.pyodide_runtime import PyodideRuntime
from tests.conftest import METADATA
from tests.integration.conftest import serving, smithy
from tests.wheels import make_wheel

X = ("--xbuildenv", "314.0.5", "--xbuildenv-metadata", str(METADATA))
LOAD = """
import os, pyodide_js
await pyodide_js.loadPackage("top-pkg")
import top_pkg, mid_pkg, leaf, host, fancy_dep, emonly
print("versions", top_pkg.VERSION, mid_pkg.VERSION, leaf.VERSION)
tests = "/lib/python3.14/site-packages/top_pkg/tests/test_top.py"
print("tests before", os.path.exists(tests))
await pyodide_js.loadPackage("top-pkg-tests")
print("tests after", os.path.exists(tests))
"""


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dependency chain, an extra, an emscripten-only marker, a missing dependency, two versions."""
    dist = tmp_path_factory.mktemp("dist")
    wheels = [
        make_wheel(
            dist,
            "top-pkg",
            "1.0",
            requires=(
                "mid-pkg>=1",
                "host[fancy]",
                "emonly; sys_platform == 'emscripten'",
                "linuxonly; sys_platform == 'linux'",
            ),
            files={
                "top_pkg/__init__.py": "VERSION = '1.0'\n",
                "top_pkg/tests/__init__.py": "",
                "top_pkg/tests/test_top.py": "def test_it():\n    assert True\n",
            },
        ),
        make_wheel(dist, "mid-pkg", "1.0", requires=("leaf",)),
        make_wheel(dist, "mid-pkg", "2.0", requires=("leaf",)),
        make_wheel(dist, "leaf", "0.1", tag="cp314-cp314-pyemscripten_2026_0_wasm32"),
        make_wheel(dist, "host", "1.0", requires=("fancy-dep; extra == 'fancy'",)),
        make_wheel(dist, "fancy-dep", "1.0"),
        make_wheel(dist, "emonly", "1.0"),
        make_wheel(dist, "broken", "1.0", requires=("ghost>=2",)),
        make_wheel(dist, "packaging", "99.0"),
        make_wheel(dist, "uses-numpy", "1.0", requires=("numpy>=2",)),
    ]
    folder = tmp_path_factory.mktemp("channel") / "channel"
    run = smithy("upload", *wheels, "--channel", folder, "--label", "main", *X)
    assert run.code == 0, run.err
    return folder


def lock(*args: str | Path, cwd: Path | None = None) -> dict[str, object]:
    run = smithy("lock", *args, *X, "--json", cwd=cwd)
    assert run.code == 0, run.err
    return json.loads(run.out)  # type: ignore[no-any-return]


def test_lock_from_the_channel(channel: Path, tmp_path: Path) -> None:
    out = tmp_path / "pyodide-lock.json"
    summary = lock("top-pkg", "--channel", channel, "-o", out)
    data = json.loads(out.read_text())
    assert data["info"] == {
        "abi_version": "2026_0",
        "arch": "wasm32",
        "platform": "emscripten_5_0_3",
        "python": "3.14.2",
    }
    packages = data["packages"]
    assert set(packages) == {"top-pkg", "mid-pkg", "leaf", "host", "fancy-dep", "emonly"}
    assert packages["mid-pkg"]["version"] == "2.0"
    assert packages["top-pkg"]["depends"] == ["emonly", "host", "mid-pkg"]
    assert packages["host"]["depends"] == ["fancy-dep"]
    assert packages["leaf"]["file_name"] == "leaf-0.1-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    files = {f.filename: f for f in LocalChannel(channel).files()}
    for entry in packages.values():
        assert entry["sha256"] == files[entry["file_name"]].sha256
        assert entry["imports"]
    assert summary["packageBaseUrl"] == f"{channel}/main/files/"
    assert summary["total_size"] == sum(p["size"] for p in summary["packages"])  # type: ignore[attr-defined]


def test_the_lock_info_gives_pyodide_lock_the_right_markers(channel: Path, tmp_path: Path) -> None:
    """Both halves of the info.platform trap: markers say emscripten, and pyemscripten wheels fit."""
    from pyodide_lock.spec import PyodideLockSpec
    from pyodide_lock.utils import _get_marker_environment

    out = tmp_path / "lock.json"
    lock("top-pkg", "--channel", channel, "-o", out)
    spec = PyodideLockSpec.from_json(out)
    env = _get_marker_environment(**spec.info.to_dict())
    assert env["sys_platform"] == "emscripten"
    assert env["platform_machine"] == "wasm32"
    assert env["python_version"] == "3.14"
    assert "leaf" in spec.packages  # a pyemscripten_2026_0_wasm32 wheel
    spec.check_wheel_filenames()


def test_pin_and_every_unsatisfiable_requirement(channel: Path, tmp_path: Path) -> None:
    pinned = lock("top-pkg", "mid-pkg==1.0", "--channel", channel, "-o", tmp_path / "a.json")
    versions = {p["name"]: p["version"] for p in pinned["packages"]}  # type: ignore[attr-defined]
    assert versions["mid-pkg"] == "1.0"
    out = tmp_path / "b.json"
    run = smithy("lock", "top-pkg", "broken", "mid-pkg==7", "--channel", channel, "-o", out, *X)
    assert run.code == 15
    assert (
        "mid-pkg==7 (asked by the command line): no version fits; the channel has 2.0, 1.0"
        in run.err
    )
    assert "ghost>=2 (asked by broken 1.0): ghost is not on the channel" in run.err
    assert run.err.splitlines()[-1].startswith(
        "to get ghost: publish it from a feedstock (`pyodide-smithy init ghost`"
    )
    assert "(`--base pyodide-lock.json`)" in run.err
    assert "Traceback" not in run.err
    assert not out.exists()


def test_base_lock_is_extended_and_replaced_entries_named(
    channel: Path, tmp_path: Path, pyodide_runtime: PyodideRuntime
) -> None:
    base = pyodide_runtime.package_dir / "pyodide-lock.json"
    out = tmp_path / "lock.json"
    summary = lock("top-pkg", "packaging", "--channel", channel, "--base", base, "-o", out)
    assert summary["replaced_from_base"] == ["packaging"]
    data = json.loads(out.read_text())
    original = json.loads(base.read_text())["packages"]
    assert set(original) <= set(data["packages"])
    assert data["packages"]["packaging"]["version"] == "99.0"
    assert data["packages"]["numpy"] == original["numpy"]


def test_what_the_channel_lacks_comes_from_the_base_lock(
    channel: Path, tmp_path: Path, pyodide_runtime: PyodideRuntime
) -> None:
    """numpy is Pyodide's own: a channel package needing it locks on top of Pyodide's lock."""
    alone = smithy("lock", "uses-numpy", "--channel", channel, "-o", tmp_path / "a.json", *X)
    assert alone.code == 15
    assert "numpy is not on the channel" in alone.err
    base = pyodide_runtime.package_dir / "pyodide-lock.json"
    out = tmp_path / "lock.json"
    lock("uses-numpy", "--channel", channel, "--base", base, "-o", out)
    data = json.loads(out.read_text())
    assert data["packages"]["uses-numpy"]["depends"] == ["numpy"]
    assert data["packages"]["numpy"] == json.loads(base.read_text())["packages"]["numpy"]


def test_base_url(channel: Path, tmp_path: Path) -> None:
    out = tmp_path / "lock.json"
    summary = lock(
        "leaf", "--channel", channel, "-o", out, "--base-url", "https://example.invalid/w/"
    )
    assert summary["packageBaseUrl"] == "https://example.invalid/w/"
    entry = json.loads(out.read_text())["packages"]["leaf"]
    assert entry["file_name"].startswith(f"file://{channel}")  # outside the base: kept whole


def test_copy_unvendors_tests_and_loads_in_pyodide(
    channel: Path, tmp_path: Path, private_runtime: PyodideRuntime
) -> None:
    served = tmp_path / "served"
    summary = lock("top-pkg", "--channel", channel, "--copy", served)
    assert summary["unvendored_tests"] == ["top-pkg"]
    data = json.loads((served / "pyodide-lock.json").read_text())
    assert data["packages"]["top-pkg"]["unvendored_tests"] is True
    assert data["packages"]["top-pkg-tests"]["file_name"] == "top-pkg-tests.zip"
    assert data["packages"]["top-pkg-tests"]["depends"] == ["top-pkg"]
    for entry in data["packages"].values():
        assert (served / entry["file_name"]).is_file()
    run = private_runtime.run(
        LOAD, lock_file_url=str(served / "pyodide-lock.json"), package_base_url=f"{served}/"
    )
    assert run.returncode == 0, run.stderr
    assert "versions 1.0 2.0 0.1" in run.stdout
    assert "tests before False" in run.stdout
    assert "tests after True" in run.stdout


@pytest.fixture
def http_channel(channel: Path) -> Iterator[str]:
    with serving(channel) as url:
        yield url


def test_pyodide_loads_dependencies_from_the_served_channel(
    channel: Path,
    tmp_path: Path,
    private_runtime: PyodideRuntime,
    http_channel: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "pyodide-lock.json"
    lock("top-pkg", "--channel", channel, "-o", out)
    script = LOAD.split("tests =", maxsplit=1)[0]
    run = private_runtime.run(
        script, lock_file_url=str(out), package_base_url=f"{http_channel}/files/"
    )
    assert run.returncode == 0, run.stderr
    assert "versions 1.0 2.0 0.1" in run.stdout
    assert f"loaded from {http_channel}/files/" in run.stderr
    assert not (tmp_path / "http:").exists()  # Node's wheel cache stays out of our folder
