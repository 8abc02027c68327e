"""tests/data is all the suite reads: nothing outside the repository, and the recipes complete."""

from __future__ import annotations

import posixpath
import tarfile
from pathlib import PurePosixPath

from tests.conftest import METADATA, RECIPES_TARBALL, ROOT

# Spelled in pieces so that this file does not match itself.
SHARED = "../" + "shared"
FORBIDDEN = (SHARED, '"shared"' + ' / "data"')
# Where the data came from, written down once.
ALLOWED = {ROOT / "tests" / "data" / "README.md"}


def test_nothing_in_tests_or_benchmarks_reads_beside_the_repository() -> None:
    offenders = []
    for top in ("tests", "benchmarks"):
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or path in ALLOWED or "__pycache__" in path.parts:
                continue
            text = path.read_bytes().decode("utf-8", errors="replace")
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in FORBIDDEN if n in text]
    assert offenders == [], "tests/data is the suite's only data (scripts/update-test-data)"


def test_the_recipes_are_all_there_with_every_patch_and_extra() -> None:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe")
    with tarfile.open(RECIPES_TARBALL) as tar:
        members = tar.getmembers()
        files = {m.name: m for m in members if m.isfile()}
        metas = {}
        for name, member in files.items():
            if PurePosixPath(name).match("pyodide-recipes/*/meta.yaml"):
                content = tar.extractfile(member)
                assert content is not None
                metas[PurePosixPath(name).parts[1]] = yaml.load(content.read())
    assert len(metas) == 332
    missing = []
    for name, meta in metas.items():
        source = meta.get("source") or {}
        named = [*(source.get("patches") or []), *(e[0] for e in source.get("extras") or [])]
        for rel in named:
            path = posixpath.normpath(f"pyodide-recipes/{name}/{rel}")
            if path not in files:
                missing.append(path)
    assert missing == []
    # Made by scripts/update-test-data: sorted, no owner, one date; only files and folders.
    assert [m.name for m in members] == sorted(m.name for m in members)
    assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {
        (0, 0, "", "", 1785974400)
    }
    assert all(m.isfile() or m.isdir() for m in members)
    # pyodide-recipes' 175 test_*.py but its shared test_packages_common.py, not a recipe's.
    tests = [n for n in files if PurePosixPath(n).match("pyodide-recipes/*/test_*.py")]
    assert len(tests) == 174


def test_the_xbuildenv_metadata_is_pyodides_file() -> None:
    import json

    assert METADATA.parent == RECIPES_TARBALL.parent == ROOT / "tests" / "data"
    data = json.loads(METADATA.read_text(encoding="utf-8"))
    assert {"314.0.4", "314.0.5", "315.0.0a2"} <= set(data["releases"])
