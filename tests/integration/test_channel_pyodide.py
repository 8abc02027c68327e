"""End to end in a real Pyodide: micropip installs what `pyodide-smithy upload` published."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from smithy.channel.serve import make_server
from smithy.pyodide_runtime import PyodideRuntime
from tests.integration.anaconda_emulator import running_emulator
from tests.integration.conftest import smithy
from tests.wheels import make_wheel

SCRIPT = """
import micropip
await micropip.install("Tiny_Pkg", index_urls=[{index!r}])
import tiny_pkg, helper_pkg
print("imported", tiny_pkg.VERSION, helper_pkg.VERSION)
"""


@pytest.fixture
def wheels(tmp_path: Path) -> list[Path]:
    """A package and the dependency it needs, both pure Python, written here."""
    helper = make_wheel(tmp_path / "dist", "helper-pkg", "0.5")
    tiny = make_wheel(
        tmp_path / "dist",
        "tiny-pkg",
        "1.2",
        requires=("helper-pkg>=0.5", "never-on-emscripten; sys_platform != 'emscripten'"),
    )
    return [tiny, helper]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    channel = tmp_path / "channel"
    channel.mkdir()
    server = make_server(channel, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield channel, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_micropip_installs_from_a_served_local_channel(
    pyodide_runtime: PyodideRuntime, wheels: list[Path], served: tuple[Path, str]
) -> None:
    channel, base = served
    assert smithy("upload", *wheels, "--channel", channel, "--label", "main").code == 0
    run = pyodide_runtime.run(SCRIPT.format(index=f"{base}/simple"))
    assert run.returncode == 0, run.stderr
    assert "imported 1.2 0.5" in run.stdout


def test_micropip_installs_from_the_emulators_index(
    pyodide_runtime: PyodideRuntime, wheels: list[Path]
) -> None:
    with running_emulator() as emu:
        emu.add_owner("pyodide", "tok-e2e")
        url = f"{emu.api_url}/pyodide?index={emu.index_url}"
        env = {"ANACONDA_API_TOKEN": "tok-e2e", "NO_PROXY": "127.0.0.1"}
        run = smithy("upload", *wheels, "--channel", url, "--label", "main", env=env)
        assert run.code == 0, run.err
        result = pyodide_runtime.run(SCRIPT.format(index=f"{emu.index_url}/pyodide/simple"))
    assert result.returncode == 0, result.stderr
    assert "imported 1.2 0.5" in result.stdout
