"""Rebuilds and libraries in a real Pyodide: two builds of one version on a local channel, and
a shared library wheel its dependent loads through the lock.

micropip 0.11 ignores build tags and installs the first of equally good files an index lists;
``lock`` picks the highest build itself. Both must come out at build 1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from smithy.pyodide_runtime import PyodideRuntime
from tests.conftest import METADATA
from tests.helpers import make_build
from tests.integration.conftest import serving, smithy

X = ("--xbuildenv", "314.0.5", "--xbuildenv-metadata", str(METADATA))
LIBRARY = "py3-none-pyemscripten_2026_0_wasm32"
SHOW = "import tiny_pkg\nprint('installed build', tiny_pkg.BUILD)\n"


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny-pkg 1.0 without a build tag, then build 0, then build 1 (each a CI run of its own:
    one upload each); by file name alone, build 0 would be listed first."""
    dist = tmp_path_factory.mktemp("dist")
    channel = tmp_path_factory.mktemp("channel") / "channel"
    for build in (None, 0, 1):
        wheel = make_build(dist / str(build), "tiny-pkg", "1.0", build)
        run = smithy("upload", wheel, "--channel", channel, "--label", "main", *X)
        assert run.code == 0, run.err
    return channel


@pytest.fixture
def served(rebuilt: Path) -> Iterator[str]:
    with serving(rebuilt) as url:
        yield url


def test_micropip_installs_the_highest_build(
    private_runtime: PyodideRuntime, rebuilt: Path, served: str
) -> None:
    page = json.loads((rebuilt / "main" / "simple" / "tiny-pkg" / "index.json").read_text())
    assert [f["filename"] for f in page["files"]] == [
        "tiny_pkg-1.0-1-py3-none-any.whl",
        "tiny_pkg-1.0-0-py3-none-any.whl",
        "tiny_pkg-1.0-py3-none-any.whl",
    ]
    script = (
        f"import micropip\nawait micropip.install('tiny-pkg', index_urls=['{served}/simple'])\n"
    )
    run = private_runtime.run(script + SHOW)
    assert run.returncode == 0, run.stderr
    assert "installed build 1" in run.stdout


def test_the_lock_picks_the_highest_build_and_pyodide_loads_it(
    private_runtime: PyodideRuntime, rebuilt: Path, served: str, tmp_path: Path
) -> None:
    out = tmp_path / "pyodide-lock.json"
    run = smithy("lock", "tiny-pkg", "--channel", rebuilt, "-o", out, *X, "--json")
    assert run.code == 0, run.err
    entry = json.loads(out.read_text())["packages"]["tiny-pkg"]
    assert entry["file_name"] == "tiny_pkg-1.0-1-py3-none-any.whl"
    script = "import pyodide_js\nawait pyodide_js.loadPackage('tiny-pkg')\n" + SHOW
    loaded = private_runtime.run(
        script, lock_file_url=str(out), package_base_url=f"{served}/files/"
    )
    assert loaded.returncode == 0, loaded.stderr
    assert "installed build 1" in loaded.stdout


# a shared library wheel, for real ---------------------------------------------------------------

ANSWER_C = "int heldout_answer(int x) { return 41 + x; }\n"
USER = "import ctypes\n\ndef answer():\n    return ctypes.CDLL('libanswer.so').heldout_answer(1)\n"


def side_module(folder: Path) -> bytes:
    """``libanswer.so``: a wasm side module built with Debian's clang and wasm-ld (no
    Emscripten), as Pyodide's dynamic loader takes it (see docs/lock.md, "Libraries")."""
    if not (shutil.which("clang") and shutil.which("wasm-ld")):
        reason = "needs clang and wasm-ld (Debian: apt-get install clang lld)"
        if os.environ.get("PYODIDE_SMITHY_REQUIRE_WASM_TOOLS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    source, obj, lib = folder / "answer.c", folder / "answer.o", folder / "libanswer.so"
    source.write_text(ANSWER_C)
    target = ["--target=wasm32-unknown-emscripten", "-fPIC", "-O2"]
    subprocess.run(["clang", *target, "-c", str(source), "-o", str(obj)], check=True)
    link = ["wasm-ld", "--experimental-pic", "-shared", "--export-all", "-o", str(lib), str(obj)]
    subprocess.run(link, check=True)
    return lib.read_bytes()


def test_a_shared_library_is_locked_and_loaded_before_its_dependent(
    private_runtime: PyodideRuntime, tmp_path: Path
) -> None:
    dist, channel, copy = tmp_path / "dist", tmp_path / "channel", tmp_path / "served"
    shared = {"libanswer.so": side_module(tmp_path)}
    static = {"libz/prefix/lib/libz.a": b"!<arch>\n"}
    wheels = [
        make_build(
            dist, "libanswer", "1.0", 0, tag=LIBRARY, files=shared, library="shared_library"
        ),
        make_build(dist, "libz", "1.3", 0, tag=LIBRARY, files=static, library="static_library"),
        make_build(
            dist, "answer-user", "1.0", 0, files={"answer_user.py": USER}, requires=("libanswer",)
        ),
    ]
    run = smithy("upload", *wheels, "--channel", channel, "--label", "main", *X)
    assert run.code == 0, run.err
    locked = smithy("lock", "answer-user", "libz", "--channel", channel, "--copy", copy, *X)
    assert locked.code == 0, locked.err
    assert "libz is a static library, used only at build time: not in the lock" in locked.err
    packages = json.loads((copy / "pyodide-lock.json").read_text())["packages"]
    assert set(packages) == {"answer-user", "libanswer"}
    assert packages["answer-user"]["depends"] == ["libanswer"]
    assert {k: packages["libanswer"][k] for k in ("package_type", "install_dir", "imports")} == {
        "package_type": "shared_library",
        "install_dir": "site",
        "imports": [],
    }
    script = (
        "import pyodide_js\nawait pyodide_js.loadPackage('answer-user')\n"
        "import answer_user\nprint('answer', answer_user.answer())\n"
    )
    loaded = private_runtime.run(
        script, lock_file_url=str(copy / "pyodide-lock.json"), package_base_url=f"{copy}/"
    )
    assert loaded.returncode == 0, loaded.stderr
    assert "answer 42" in loaded.stdout
