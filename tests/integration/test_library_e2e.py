"""A library feedstock and a dependent, end to end, with real wasm and a real Pyodide.

``libanswer`` is a ``shared_library`` recipe whose script compiles a tiny C library into a wasm
side module with Debian's clang and wasm-ld (Emscripten cannot be installed here; Pyodide loads
such modules, see PYODIDE_NOTES.md). ``answerdep`` is a package recipe with ``libanswer`` as a
host requirement: its script compiles against ``$WASM_LIBRARY_DIR/include/answer.h`` and links
``$WASM_LIBRARY_DIR/lib/libanswer.so`` (so ``libdep.so`` names ``libanswer.so`` as needed), and
its Python code calls into it with ctypes. pyodide-build's orchestration around the scripts is
emulated (tests/integration/pyodide_build_emulator.py); everything else is the product: build,
the library wheel, upload to a local channel, host placement from the channel, `test` in real
Pyodide, `lock`, and Pyodide loading both from the lock.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from smithy.build import compiled as compiled_module
from smithy.build import run_build
from smithy.feedstock.init import run_init
from smithy.pyodide_runtime import PyodideRuntime
from smithy.xbuildenv import PINNED_DEFAULT, XBuildEnv
from tests.conftest import METADATA
from tests.integration.conftest import smithy

HERE = Path(__file__).parent
WASM = ("clang", "wasm-ld")
CC = "clang --target=wasm32-unknown-emscripten -fPIC -O2"
LD = "wasm-ld --experimental-pic -shared --export-all"
_PY314 = SimpleNamespace(major=3, minor=14)

LIBRARY_META = f"""\
package:
  name: libanswer
  version: 1.0.0
source:
  path: src
build:
  type: shared_library
  script: |
    {CC} -c answer.c -o answer.o
    {LD} -o libanswer.so answer.o
    mkdir -p $WASM_LIBRARY_DIR/include $WASM_LIBRARY_DIR/lib/pkgconfig $DISTDIR
    cp answer.h $WASM_LIBRARY_DIR/include/
    cp libanswer.so $WASM_LIBRARY_DIR/lib/
    printf 'prefix=%s\\nincludedir=${{prefix}}/include\\nlibdir=${{prefix}}/lib\\n' \\
      "$WASM_LIBRARY_DIR" > $WASM_LIBRARY_DIR/lib/pkgconfig/answer.pc
    printf 'Name: answer\\nVersion: 1.0.0\\nDescription: x\\nLibs: -lanswer\\n' \\
      >> $WASM_LIBRARY_DIR/lib/pkgconfig/answer.pc
    cp libanswer.so $DISTDIR/
about:
  license: MIT
  summary: The answer, as a wasm side module
"""

DEPENDENT_META = f"""\
package:
  name: answerdep
  version: 2.0.0
  top-level: [answerdep]
source:
  path: src
build:
  script: |
    {CC} -I$WASM_LIBRARY_DIR/include -c dep.c -o dep.o
    {LD} -o answerdep/libdep.so dep.o $WASM_LIBRARY_DIR/lib/libanswer.so
requirements:
  host: [libanswer]
  run: [libanswer]
about:
  license: MIT
  summary: Calls the answer library
"""

DEPENDENT_INIT = """\
import ctypes
from pathlib import Path

_dep = ctypes.CDLL(str(Path(__file__).with_name("libdep.so")))


def answer() -> int:
    return _dep.twice_answer()


def direct() -> int:
    return ctypes.CDLL("libanswer.so").heldout_answer(1)
"""


@pytest.fixture
def wasm_tools() -> None:
    missing = [tool for tool in WASM if shutil.which(tool) is None]
    if missing:
        reason = f"{', '.join(missing)} missing (Debian packages clang and lld)"
        if os.environ.get("PYODIDE_SMITHY_REQUIRE_WASM_TOOLS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def toolchain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """emcc on PATH (version only), the xbuildenv's folders, and the emulated pyodide-build.
    The host Python is 3.12, the xbuildenv's 3.14: that one check is lifted, nothing else."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "emcc").write_text(
        f"#!/bin/sh\necho 'emcc (Emscripten) {PINNED_DEFAULT.emscripten_version} (x)' >&2\n"
    )
    (bin_dir / "emcc").chmod(0o755)
    emulator = bin_dir / "pyodide"
    emulator.write_text(f"#!{sys.executable}\n" + (HERE / "pyodide_build_emulator.py").read_text())
    emulator.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(compiled_module, "pyodide_command", lambda: str(emulator))
    check = compiled_module.check_xbuildenv

    def same_python(xbuildenv: XBuildEnv, xbuildenv_dir: Path) -> None:
        with monkeypatch.context() as patch:
            patch.setattr(compiled_module, "sys", SimpleNamespace(version_info=_PY314))
            check(xbuildenv, xbuildenv_dir)

    monkeypatch.setattr(compiled_module, "check_xbuildenv", same_python)
    xb = compiled_module.xbuildenv_path(PINNED_DEFAULT.version)
    root = compiled_module.pyodide_root(xb, PINNED_DEFAULT.version)
    root.mkdir(parents=True)
    (root / "Makefile.envs").write_text("")
    (root.parent / "requirements.txt").write_text("numpy==2.4.6\n")
    (xb / "xbuildenv").symlink_to(xb / PINNED_DEFAULT.version)
    monkeypatch.setenv("EMULATED_WHEEL_TAG", "cp314-cp314-pyemscripten_2026_0_wasm32")


def recipe(tmp_path: Path, meta: str, files: dict[str, str]) -> Path:
    folder = tmp_path / "recipes" / meta.split("name: ", 1)[1].split("\n", 1)[0]
    for name, text in {"meta.yaml": meta, **files}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def feedstock(tmp_path: Path, meta: str, files: dict[str, str]) -> Path:
    source = recipe(tmp_path, meta, files)
    root = tmp_path / f"{source.name}-feedstock"
    run_init(str(source), output=root, xbuildenv=PINNED_DEFAULT.version)
    return root


def upload(root: Path, wheel: Path, channel: Path) -> None:
    run = smithy("upload", wheel, "--channel", channel, "--label", "main", cwd=root)
    assert run.code == 0, run.err


@pytest.mark.usefixtures("wasm_tools", "toolchain", "shared_test_runtime")
def test_a_library_and_its_dependent_from_build_to_a_loaded_lock(
    tmp_path: Path, private_runtime: PyodideRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    channel = tmp_path / "channel"
    channel.mkdir()  # empty until libanswer is uploaded
    library = feedstock(
        tmp_path,
        LIBRARY_META,
        {
            "src/answer.c": "int heldout_answer(int x) { return 41 + x; }\n",
            "src/answer.h": "int heldout_answer(int x);\n",
        },
    )
    built = run_build(library, output=library / "dist")
    (wheel,) = built.wheels
    assert wheel.name == "libanswer-1.0.0-0-py3-none-pyemscripten_2026_0_wasm32.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        pc = archive.read("libanswer/prefix/lib/pkgconfig/answer.pc").decode()
        manifest = json.loads(archive.read("libanswer/library.json"))
        wasm = archive.read("libanswer.so")
    assert wasm.startswith(b"\0asm")  # a real wasm module
    assert "libanswer/prefix/include/answer.h" in names
    assert "libanswer/prefix/lib/libanswer.so" not in names  # one copy, at the top
    assert manifest["runtime"] == {"lib/libanswer.so": "libanswer.so"}
    assert "prefix=${pcfiledir}/../.." in pc  # relocatable
    assert str(tmp_path) not in pc

    tested = smithy("test", "--dist", library / "dist", "--channel", channel, cwd=library)
    assert tested.code == 0, tested.out + tested.err
    assert "libanswer.so (shared library)" in tested.out
    upload(library, wheel, channel)

    dependent = feedstock(
        tmp_path,
        DEPENDENT_META,
        {
            "src/dep.c": (
                "#include <answer.h>\nint twice_answer(void) { return 2 * heldout_answer(1); }\n"
            ),
            "src/answerdep/__init__.py": DEPENDENT_INIT,
        },
    )
    capsys.readouterr()
    built = run_build(dependent, output=dependent / "dist", channel=str(channel))
    err = capsys.readouterr().err
    assert f"host requirement libanswer: {wheel.name} ->" in err
    (dep_wheel,) = built.wheels
    assert dep_wheel.name == "answerdep-2.0.0-0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    with zipfile.ZipFile(dep_wheel) as archive:
        metadata = archive.read("answerdep-2.0.0.dist-info/METADATA").decode()
        libdep = archive.read("answerdep/libdep.so")
    assert "Requires-Dist: libanswer" in metadata  # the recipe's run requirement
    assert b"libanswer.so" in libdep  # linked: a dylink "needed" entry

    tested = smithy("test", "--dist", dependent / "dist", "--channel", channel, cwd=dependent)
    assert tested.code == 0, tested.out + tested.err
    upload(dependent, dep_wheel, channel)

    served = tmp_path / "served"
    locked = smithy(
        "lock",
        "answerdep",
        "--channel",
        channel,
        "--copy",
        served,
        "--xbuildenv",
        PINNED_DEFAULT.version,
        "--xbuildenv-metadata",
        METADATA,
        "--json",
    )
    assert locked.code == 0, locked.err
    packages = json.loads((served / "pyodide-lock.json").read_text())["packages"]
    assert packages["answerdep"]["depends"] == ["libanswer"]
    assert packages["libanswer"]["package_type"] == "shared_library"
    run = private_runtime.run(
        'import pyodide_js\nawait pyodide_js.loadPackage("answerdep")\n'
        "import answerdep\nprint('answers', answerdep.answer(), answerdep.direct())\n",
        lock_file_url=str(served / "pyodide-lock.json"),
        package_base_url=f"{served}/",
    )
    assert run.returncode == 0, run.stderr
    assert "answers 84 42" in run.stdout
