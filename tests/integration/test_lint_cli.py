"""``pyodide-smithy lint`` as a process; init and rerender stopped by an error-level finding;
patches against a cached source (the real ``patch``); requirements asked of a channel and an
index over HTTP."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from smithy.channel.local import LocalChannel
from smithy.channel.model import Provenance
from smithy.channel.wheel import read_wheel
from smithy.lint.run import LintOptions, run_lint
from smithy.paths import cache_dir
from tests.helpers import write_recipe
from tests.integration.conftest import smithy
from tests.integration.pypi_server import FakeIndex, sdist, serve
from tests.unit.test_lint_checks import GOOD, SHA
from tests.wheels import make_wheel

MOVING = "https://github.com/o/example/archive/refs/heads/main.tar.gz"


def test_text_output_and_exit_codes(tmp_path: Path) -> None:
    write_recipe(tmp_path / "example", GOOD)
    run = smithy("lint", "example", cwd=tmp_path)
    assert (run.code, run.out, run.err) == (0, "example: no findings\n", "")
    write_recipe(tmp_path / "example", GOOD.replace("  license: MIT\n", ""))
    run = smithy("lint", cwd=tmp_path / "example")
    assert run.code == 0
    assert run.out.splitlines() == [
        "meta.yaml:12: PS101 hint: the recipe names no licence: the feedstock's README and "
        "LICENSE.txt cannot say it (fix: set about.license to the project's SPDX licence "
        "expression, e.g. MIT or BSD-3-Clause)",
        ".: 0 errors, 1 hint",
    ]
    write_recipe(tmp_path / "example", GOOD.replace(SHA, "abc"))
    run = smithy("lint", "example/meta.yaml", cwd=tmp_path)
    assert run.code == 19
    assert run.out.splitlines()[0].startswith("example/meta.yaml:8: PS203 error: ")
    assert run.err == "error: lint found 1 error (example/meta.yaml)\n"


def test_json_output(tmp_path: Path) -> None:
    write_recipe(tmp_path / "example", GOOD.replace(SHA, "abc"))
    run = smithy("lint", "example", "--json", cwd=tmp_path)
    assert run.code == 19
    data = json.loads(run.out)
    assert (data["errors"], data["hints"]) == (1, 0)
    assert data["findings"][0]["id"] == "PS203"
    assert data["findings"][0]["line"] == 8


def test_annotations_under_github_actions(tmp_path: Path) -> None:
    write_recipe(tmp_path / "example", GOOD.replace(SHA, "abc").replace("  license: MIT\n", ""))
    run = smithy("lint", "example", cwd=tmp_path, env={"GITHUB_ACTIONS": "true"})
    assert run.code == 19
    annotations = [line for line in run.err.splitlines() if line.startswith("::")]
    assert annotations[0].startswith(
        "::error file=example/meta.yaml,line=8,title=PS203 sha256-format::source.sha256 'abc'"
    )
    assert annotations[1].startswith(
        "::notice file=example/meta.yaml,line=12,title=PS101 missing-license::"
    )
    assert annotations[2] == "::error file=example::lint found 1 error"


@pytest.mark.parametrize(
    ("args", "code", "err"),
    [
        (["lint", "nowhere"], 2, "error: no such file or folder (nowhere)\n"),
        (
            ["lint", "."],
            2,
            "error: neither a feedstock (pyodide-smithy.yml) nor a recipe folder (meta.yaml) (.)\n",
        ),
        (["lint", "--wheel", "gone.whl", "r"], 2, "error: no such wheel (gone.whl:--wheel)\n"),
    ],
)
def test_bad_inputs_are_one_line(tmp_path: Path, args: list[str], code: int, err: str) -> None:
    write_recipe(tmp_path / "r", GOOD)
    run = smithy(*args, cwd=tmp_path)
    assert (run.code, run.err) == (code, err)


def test_unreadable_recipes_are_one_finding_each(tmp_path: Path) -> None:
    for name, text in {"yaml": "package: [\n", "list": "- a\n", "binary": "\xff"}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "meta.yaml").write_bytes(text.encode("latin-1"))
        run = smithy("lint", name, cwd=tmp_path)
        assert run.code == 19, name
        assert len(run.out.splitlines()) == 2, run.out
        assert run.out.startswith(f"{name}/meta.yaml"), run.out
        assert " PS001 error: " in run.out


# init and rerender -------------------------------------------------------------------------------


def test_init_refuses_an_error_finding_and_writes_nothing(tmp_path: Path) -> None:
    write_recipe(
        tmp_path / "example", GOOD.replace("https://files.example/example-1.2.0.tar.gz", MOVING)
    )
    run = smithy("init", "example", "--output", "out", cwd=tmp_path)
    assert run.code == 19
    assert run.err.splitlines()[-1] == (
        "error: PS202 unpinned-source: source.url names a branch or the latest release, not one "
        "fixed file: its bytes change and the sha256 check then fails every build (fix: point it "
        "at a release, tag or commit archive, and put that file's sha256) "
        f"({tmp_path / 'example' / 'meta.yaml'}:source.url)"
    )
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["example"]


def test_rerender_refuses_an_error_finding_and_writes_nothing(tmp_path: Path) -> None:
    write_recipe(tmp_path / "example", GOOD)
    assert smithy("init", "example", "--output", "fs", cwd=tmp_path).code == 0
    feedstock = tmp_path / "fs"
    meta = feedstock / "recipe" / "meta.yaml"
    meta.write_text(meta.read_text().replace('version: "1.2.0"', "version: 1.20"))
    before = {
        p: p.read_bytes() for p in feedstock.rglob("*") if p.is_file() and ".git/" not in str(p)
    }
    for args in (["rerender"], ["rerender", "--check"]):
        run = smithy(*args, cwd=feedstock)
        assert run.code == 19, run.err
        assert run.err.endswith(f"({meta}:package.version)\n")
        assert run.err.count("\n") == 1
    after = {
        p: p.read_bytes() for p in feedstock.rglob("*") if p.is_file() and ".git/" not in str(p)
    }
    assert after == before
    git = ["git", "log", "--oneline"]
    log = subprocess.run(git, cwd=feedstock, capture_output=True, text=True, check=True)
    assert len(log.stdout.splitlines()) == 1


# patches against the cached source -------------------------------------------------------------

PATCH = """\
--- a/hello.txt
+++ b/hello.txt
@@ -1,2 +1,2 @@
 hello
-world
+Pyodide
"""


def cache_sdist(files: dict[str, bytes]) -> str:
    archive = sdist("example", "1.2.0", files)
    digest = hashlib.sha256(archive["body"]).hexdigest()
    folder = cache_dir() / "sources" / digest
    folder.mkdir(parents=True)
    (folder / archive["filename"]).write_bytes(archive["body"])
    return digest


def patched_recipe(tmp_path: Path, digest: str) -> Path:
    text = GOOD.replace(SHA, digest).replace(
        f"  sha256: {digest}\n", f"  sha256: {digest}\n  patches: [fix.patch]\n"
    )
    folder = write_recipe(tmp_path / "example", text)
    (folder / "fix.patch").write_text(PATCH)
    return folder


def test_a_patch_that_applies_to_the_cached_source(tmp_path: Path) -> None:
    digest = cache_sdist({"hello.txt": b"hello\nworld\n"})
    assert run_lint(patched_recipe(tmp_path, digest)).findings == ()


def test_a_patch_that_does_not_apply_to_the_cached_source(tmp_path: Path) -> None:
    digest = cache_sdist({"hello.txt": b"hello\nthere\n"})
    result = run_lint(patched_recipe(tmp_path, digest))
    assert [(f.id, f.key, f.line) for f in result.findings] == [("PS209", "source.patches[0]", 9)]
    assert result.findings[0].message.startswith(
        "example-1.2.0.tar.gz (cached): applying patch fix.patch failed (exit 1)"
    )


def test_no_patch_check_without_the_cached_source(tmp_path: Path) -> None:
    assert run_lint(patched_recipe(tmp_path, "cd" * 32)).findings == ()


# --online ----------------------------------------------------------------------------------------


def test_online_asks_the_channel_then_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = LocalChannel(tmp_path / "channel")
    built = read_wheel(make_wheel(tmp_path / "w", "libthing", "1.0"))
    channel.put(built, labels=("main",), provenance=Provenance(sha256=built.sha256))
    text = GOOD.replace("    - six\n", "    - six\n    - nowhere-pkg\n").replace(
        "requirements:\n", "requirements:\n  host:\n    - LibThing\n"
    )
    write_recipe(tmp_path / "example", text)
    with serve(FakeIndex()) as index:
        index.add_project("six", [{"filename": "six-1.17.0-py3-none-any.whl", "body": b"."}])
        monkeypatch.setenv("PYODIDE_SMITHY_INDEX_URL", f"{index.base}/simple/")
        offline = run_lint(tmp_path / "example")
        options = LintOptions(online=True, channel=str(channel.root))
        online = run_lint(tmp_path / "example", options)
        assert sorted(p.path for p in index.hits) == ["/simple/nowhere-pkg/", "/simple/six/"]
        run = smithy("lint", "example", "--online", "--channel", "channel", cwd=tmp_path)
    assert offline.findings == ()
    assert [(f.id, f.key) for f in online.findings] == [("PS503", "requirements.run[1]")]
    assert run.code == 19
    assert "requirements.run names nowhere-pkg, which neither the channel nor" in run.out
