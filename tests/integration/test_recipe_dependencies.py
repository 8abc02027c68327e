"""The recipe governs dependencies: what micropip installs in a real Pyodide and what `lock`
writes follow ``requirements.run``, not upstream's ``Requires-Dist``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import METADATA
from tests.helpers import write_recipe
from tests.integration.conftest import smithy
from tests.integration.pypi_server import FakeIndex, Served, serve, sha256
from tests.wheels import make_wheel

pytestmark = pytest.mark.usefixtures("shared_test_runtime")


@pytest.fixture
def index() -> Iterator[FakeIndex]:
    with serve(FakeIndex()) as fake:
        yield fake


def test_micropip_and_the_lock_follow_the_recipe(tmp_path: Path, index: FakeIndex) -> None:
    # upstream needs a package that does not exist for Pyodide and lacks one the recipe adds
    upstream = make_wheel(
        tmp_path / "upstream",
        "governed",
        "1.0",
        requires=("ghost-package-not-there>=1", "kept-dep", 'colorama; sys_platform == "win32"'),
    )
    index.routes[f"/files/{upstream.name}"] = Served(upstream.read_bytes())
    recipe = write_recipe(
        tmp_path / "recipes" / "governed",
        "package:\n  name: governed\n  version: '1.0'\n  top-level: [governed]\n"
        f"source:\n  url: {index.base}/files/{upstream.name}\n"
        f"  sha256: {sha256(upstream.read_bytes())}\n"
        "requirements:\n  run: [kept-dep, added-dep]\n"
        "about:\n  summary: Needs what its recipe says\n  license: MIT\n",
    )
    channel = tmp_path / "channel"
    for name in ("kept-dep", "added-dep"):  # pure dependencies, already on the channel
        dep = make_wheel(tmp_path / name, name, "2.0")
        assert smithy("upload", dep, "--channel", channel, "--label", "main").code == 0
    feedstock = tmp_path / "governed-feedstock"
    assert smithy("init", recipe, "-o", feedstock).code == 0

    built = smithy("build", "--output", "dist", cwd=feedstock)
    assert built.code == 0, built.err
    assert "adds added-dep" in built.err
    assert "drops ghost-package-not-there" in built.err
    assert "colorama" not in built.err  # its marker does not hold in Pyodide
    (wheel,) = (feedstock / "dist").glob("*.whl")
    uploaded = smithy("upload", wheel, "--channel", channel, "--label", "main", cwd=feedstock)
    assert uploaded.code == 0, uploaded.err

    tested = smithy("test", "--dist", "dist", "--channel", channel, cwd=feedstock)
    assert tested.code == 0, tested.out + tested.err
    installed = next(line for line in tested.out.splitlines() if "micropip installed:" in line)
    names = {item.split("==")[0].strip() for item in installed.split(":", 1)[1].split(",")}
    assert names == {"governed", "kept-dep", "added-dep"}  # exactly the recipe's set

    out = tmp_path / "pyodide-lock.json"
    x = ("--xbuildenv", "314.0.5", "--xbuildenv-metadata", str(METADATA))
    locked = smithy("lock", "governed", "--channel", channel, "-o", out, *x)
    assert locked.code == 0, locked.err
    packages = json.loads(out.read_text())["packages"]
    assert sorted(packages["governed"]["depends"]) == ["added-dep", "kept-dep"]
    assert set(packages) == {"governed", "kept-dep", "added-dep"}
