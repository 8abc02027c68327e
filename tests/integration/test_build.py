"""``run_build``: real subprocesses (bash, patch, pypa/build, wheel), sources over loopback HTTP.

Pure sdists are built with ``--no-isolation`` (``isolation=False``): setuptools is installed
here, so these tests stay fast and offline. The last test (marked ``network``) builds real
recipes from PyPI through their short redirect URLs.
"""

from __future__ import annotations

import json
import re
import shutil
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from smithy.build import BuildError, BuildResult, run_build
from smithy.build.finalize import UPSTREAM_METADATA, read_requirements
from smithy.build.host import place_host_requirements
from smithy.build.library import PLACEHOLDER
from smithy.build.model import read_spec
from smithy.build.pure import Layout, build_pure_sdist
from smithy.channel.local import LocalChannel
from smithy.channel.model import Provenance
from smithy.channel.wheel import read_wheel
from smithy.config import CONFIG_FILE, replace_build_number
from smithy.errors import NetworkError
from smithy.feedstock.init import run_init
from smithy.paths import cache_dir
from smithy.pyodide_runtime import PyodideRuntime
from smithy.recipe.load import load_recipe
from smithy.recipe.model import BuildKind
from smithy.xbuildenv import PINNED_DEFAULT
from tests.integration.pypi_server import FakeIndex, Served, sdist, serve, sha256
from tests.wheels import make_wheel

pytestmark = pytest.mark.integration

DEAD = "http://127.0.0.1:9"  # nothing listens there


@pytest.fixture
def index(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIndex]:
    with serve(FakeIndex()) as served:
        monkeypatch.setenv("PYODIDE_SMITHY_INDEX_URL", f"{served.base}/simple/")
        yield served


def host(index: FakeIndex, filename: str, body: bytes) -> str:
    """Serve ``body`` as a plain file (not on the index); its URL."""
    index.routes[f"/files/{filename}"] = Served(body)
    return f"{index.base}/files/{filename}"


def feedstock(
    tmp_path: Path, meta: str, *, files: dict[str, str] | None = None, pure: bool = False
) -> Path:
    """A real feedstock made by ``init`` from a recipe written here."""
    recipe = tmp_path / "recipe-src" / "recipe"
    recipe.mkdir(parents=True)
    (recipe / "meta.yaml").write_text(meta)
    for name, text in (files or {}).items():
        (recipe / name).parent.mkdir(parents=True, exist_ok=True)
        (recipe / name).write_text(text)
    root = tmp_path / "feedstock"
    run_init(str(recipe), output=root, xbuildenv=PINNED_DEFAULT.version)
    if pure:
        config = root / "pyodide-smithy.yml"
        text = config.read_text()
        assert "pure-python: false" in text
        config.write_text(text.replace("pure-python: false", "pure-python: true"))
    return root


def names(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as archive:
        return set(archive.namelist())


def read(path: Path, member: str) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read(member).decode()


def wheel_meta(name: str, url: str, sha: str, build: str = "") -> str:
    return (
        f"package:\n  name: {name}\n  version: '1.0'\n  top-level: [{name}]\n"
        f"source:\n  url: {url}\n  sha256: {sha}\n{build}"
        f"about:\n  summary: test\n  license: MIT\n"
    )


TINY_FILES = {
    "tiny/__init__.py": "VERSION = '1.0'\n",
    "tiny/tool.exe": "not for the web\n",
    "tiny/tests/__init__.py": "",
    "tiny/tests/test_a.py": "def test_a(): pass\n",
    "tiny/tests/test_keep.py": "def test_keep(): pass\n",
    "tiny/conftest.py": "",
}


def tiny_wheel(tmp_path: Path) -> Path:
    return make_wheel(tmp_path / "src", "tiny", "1.0", files=TINY_FILES)


# pure wheel -----------------------------------------------------------------------------------


def test_pure_wheel_post_and_retained_tests(
    tmp_path: Path, index: FakeIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    whl = tiny_wheel(tmp_path)
    url = host(index, whl.name, whl.read_bytes())
    post = (
        "build:\n  post: |\n    rm tiny/tool.exe\n"
        '    echo "$PKG_VERSION $(basename "$PKGDIR")" > tiny/post.txt\n'
        "  _retain-test-patterns: ['*test_keep.py']\n"
    )
    root = feedstock(tmp_path, wheel_meta("tiny", url, sha256(whl.read_bytes()), post))
    out = tmp_path / "dist"
    result = run_build(root, output=out)
    built = out / "tiny-1.0-0-py3-none-any.whl"  # build-number 0: a build tag all the same
    assert result == BuildResult(
        kind=BuildKind.PURE_WHEEL,
        wheels=(built,),
        tests_archives=(out / "tiny-tests.zip",),
    )
    assert sorted(p.name for p in out.iterdir()) == [built.name, "tiny-tests.zip"]
    inside = names(built)
    assert read(built, "tiny/post.txt") == "1.0 recipe\n"
    assert "tiny/tool.exe" not in inside
    assert "tiny/tests/test_keep.py" in inside
    assert not {"tiny/tests/test_a.py", "tiny/conftest.py"} & inside
    assert {"tiny/tests/test_a.py", "tiny/conftest.py"} <= names(out / "tiny-tests.zip")
    read_wheel(built)  # a valid wheel: METADATA agrees with the name
    record = read(built, "tiny-1.0.dist-info/RECORD")
    assert "tiny/post.txt" in record
    assert "tool.exe" not in record
    err = capsys.readouterr().err
    assert f"source: {whl.name} from {url}" in err
    assert "PKG_VERSION=1.0 " in err  # every command is shown before it runs, with its
    assert " bash -ce 'rm tiny/tool.exe" in err  # variables
    assert result.to_json() == {
        "kind": "pure-wheel",
        "wheels": [str(built)],
        "tests_archives": [str(out / "tiny-tests.zip")],
    }


def test_sha256_mismatch_names_both_and_writes_nothing(tmp_path: Path, index: FakeIndex) -> None:
    whl = tiny_wheel(tmp_path)
    url = host(index, whl.name, whl.read_bytes())
    root = feedstock(tmp_path, wheel_meta("tiny", url, "f" * 64))
    out = tmp_path / "dist"
    with pytest.raises(BuildError) as info:
        run_build(root, output=out)
    assert "f" * 64 in str(info.value)
    assert sha256(whl.read_bytes()) in str(info.value)
    assert info.value.key == "source.sha256"
    assert str(info.value.file).endswith("meta.yaml")
    assert not out.exists()
    assert not list((cache_dir() / "sources").glob("*/*"))  # not even a partial file


# build numbers and the recipe's run requirements ---------------------------------------------

UPSTREAM_REQUIRES = (
    "numpy>=1.22",
    "pytest>=8; extra == 'test'",
    "upstream-only; python_version > '3'",
)


def numbered_feedstock(
    tmp_path: Path, index: FakeIndex, *, number: int, run: str, upstream: tuple[str, ...]
) -> tuple[Path, Path]:
    """A wheel recipe (``tiny`` 1.0, upstream ``Requires-Dist`` ``upstream``) with
    ``requirements.run`` ``run`` and ``build-number`` ``number``; the feedstock and the wheel."""
    whl = make_wheel(tmp_path / "src", "tiny", "1.0", requires=upstream)
    url = host(index, whl.name, whl.read_bytes())
    meta = wheel_meta("tiny", url, sha256(whl.read_bytes()), f"requirements:\n  run: {run}\n")
    root = feedstock(tmp_path, meta)
    config = root / CONFIG_FILE
    config.write_text(replace_build_number(config.read_text(), number, config))
    return root, whl


def test_the_build_number_and_the_recipes_requirements_are_stamped_on_the_wheel(
    tmp_path: Path, index: FakeIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    root, whl = numbered_feedstock(
        tmp_path, index, number=3, run="[pytz, attrs>=23]", upstream=UPSTREAM_REQUIRES
    )
    result = run_build(root, output=tmp_path / "dist")
    (wheel,) = result.wheels
    assert wheel.name == "tiny-1.0-3-py3-none-any.whl"
    assert sorted(p.name for p in wheel.parent.iterdir()) == [wheel.name]
    assert "Build: 3\n" in read(wheel, "tiny-1.0.dist-info/WHEEL")
    assert read_requirements(wheel) == (
        ["pytz", "attrs>=23", "pytest>=8; extra == 'test'"],
        list(UPSTREAM_REQUIRES),
    )
    upstream = read(wheel, f"tiny-1.0.dist-info/{UPSTREAM_METADATA}")
    assert upstream == read(whl, "tiny-1.0.dist-info/METADATA")
    assert "tiny-1.0.dist-info/UPSTREAM_METADATA,sha256=" in read(
        wheel, "tiny-1.0.dist-info/RECORD"
    )
    assert read_wheel(wheel).requires_dist == ("pytz", "attrs>=23", "pytest>=8; extra == 'test'")
    err = capsys.readouterr().err
    assert (
        "warning: recipe requirements.run differs from upstream's Requires-Dist: "
        "adds attrs, pytz; drops numpy, upstream-only\n"
    ) in err
    assert f"wrote {wheel}" in err


def test_micropip_in_pyodide_installs_the_recipes_requirements(
    tmp_path: Path, index: FakeIndex, pyodide_runtime: PyodideRuntime
) -> None:
    """Real Pyodide: the build-tagged wheel installs, and micropip follows the recipe's
    requirements (dep-recipe), not upstream's (dep-upstream, which no index has)."""
    root, _ = numbered_feedstock(
        tmp_path, index, number=2, run="[dep-recipe]", upstream=("dep-upstream",)
    )
    (wheel,) = run_build(root, output=tmp_path / "dist").wheels
    dep = make_wheel(tmp_path / "dep", "dep-recipe", "0.5")
    for project, path in (("tiny", wheel), ("dep-recipe", dep)):
        files = [{"filename": path.name, "body": path.read_bytes()}]
        index.add_project(project, files, absolute=True)
    script = f"""
import json, micropip
from importlib.metadata import requires, version
await micropip.install("tiny", index_urls=["{index.base}/simple"])  # it adds /tiny/
import tiny
installed = micropip.list()
print(json.dumps([version("tiny"), requires("tiny"), "dep-recipe" in installed,
                  "dep-upstream" in installed]))
"""
    proc = pyodide_runtime.run(script)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == ["1.0", ["dep-recipe"], True, False]
    fetched = {hit.path for hit in index.hits}
    assert {"/files/tiny-1.0-2-py3-none-any.whl", f"/files/{dep.name}"} <= fetched
    assert "/simple/dep-upstream/" not in fetched


# the package index as a fallback for PyPI's short redirect URLs ------------------------------


def test_redirect_url_falls_back_to_the_index_then_the_cache(
    tmp_path: Path, index: FakeIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    whl = tiny_wheel(tmp_path)
    index.add_project("tiny", [{"filename": whl.name, "body": whl.read_bytes()}])
    url = f"{DEAD}/packages/py3/t/tiny/{whl.name}"
    root = feedstock(tmp_path, wheel_meta("tiny", url, sha256(whl.read_bytes())))
    result = run_build(root, output=tmp_path / "dist")
    assert [p.name for p in result.wheels] == ["tiny-1.0-0-py3-none-any.whl"]
    err = capsys.readouterr().err
    assert f"looking {whl.name} up on the package index {index.base}/simple/" in err
    assert f"source: {whl.name} from {index.base}/files/{whl.name} (package index" in err
    assert [h.path for h in index.hits] == ["/simple/tiny/", f"/files/{whl.name}"]
    # again: from the cache, not a single request
    again = run_build(root, output=tmp_path / "dist2")
    assert [p.name for p in again.wheels] == ["tiny-1.0-0-py3-none-any.whl"]
    assert len(index.hits) == 2
    assert f"source: {whl.name} from the cache" in capsys.readouterr().err


def test_the_index_with_another_sha256_is_refused(tmp_path: Path, index: FakeIndex) -> None:
    whl = tiny_wheel(tmp_path)
    other = make_wheel(tmp_path / "other", "tiny", "1.0", files={"tiny/__init__.py": "X = 2\n"})
    index.add_project("tiny", [{"filename": whl.name, "body": other.read_bytes()}])
    expected = sha256(whl.read_bytes())
    root = feedstock(tmp_path, wheel_meta("tiny", f"{DEAD}/{whl.name}", expected))
    with pytest.raises(BuildError, match="refused") as info:
        run_build(root, output=tmp_path / "dist")
    assert expected in str(info.value)
    assert sha256(other.read_bytes()) in str(info.value)
    assert not any(h.path.startswith("/files/") for h in index.hits)  # never downloaded
    assert not (tmp_path / "dist").exists()


def test_a_file_the_index_lacks_is_a_network_error(tmp_path: Path, index: FakeIndex) -> None:
    whl = tiny_wheel(tmp_path)
    index.add_project("tiny", [])
    root = feedstock(tmp_path, wheel_meta("tiny", f"{DEAD}/{whl.name}", sha256(b"x")))
    with pytest.raises(NetworkError, match="does not list") as info:
        run_build(root, output=tmp_path / "dist")
    assert info.value.key == "source.url"


# pure sdist -----------------------------------------------------------------------------------


def setuptools_project(name: str, files: dict[str, str], extra: str = "") -> dict[str, bytes]:
    pyproject = (
        f'[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{name}"\nversion = "2.0"\ndescription = "test"\n'
        f"[tool.setuptools]\npackages = {sorted({f.rsplit('/', 1)[0].replace('/', '.') for f in files if f.endswith('.py')})!r}\n"
        f"include-package-data = true\n{extra}"
    ).replace("'", '"')
    return {"pyproject.toml": pyproject.encode(), **{k: v.encode() for k, v in files.items()}}


SDIST_META = """\
package:
  name: {name}
  version: '2.0'
  top-level: [{name}]
source:
  url: {url}
  sha256: {sha}
{extra}about:
  summary: test
  license: MIT
"""


def test_pure_sdist_with_post_keeps_tests_when_asked(
    tmp_path: Path, index: FakeIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        "sdpkg/__init__.py": "import os\nBUILT = 1\n",
        "sdpkg/tests/__init__.py": "",
        "sdpkg/tests/test_sd.py": "def test_sd(): pass\n",
    }
    archive = sdist("sdpkg", "2.0", setuptools_project("sdpkg", files))
    url = host(index, archive["filename"], archive["body"])
    extra = "build:\n  unvendor-tests: false\n  post: |\n    echo post > sdpkg/POST\n"
    meta = SDIST_META.format(name="sdpkg", url=url, sha=sha256(archive["body"]), extra=extra)
    root = feedstock(tmp_path, meta, pure=True)
    out = tmp_path / "dist"
    result = run_build(root, output=out, isolation=False)
    assert result.kind is BuildKind.PURE_SDIST
    assert [p.name for p in result.wheels] == ["sdpkg-2.0-0-py3-none-any.whl"]
    assert result.tests_archives == ()
    inside = names(result.wheels[0])
    assert {"sdpkg/tests/test_sd.py", "sdpkg/POST"} <= inside
    err = capsys.readouterr().err
    assert "-m build --wheel --outdir" in err
    assert "--no-isolation" in err
    assert "keeping the tests" in err


def test_patches_and_extras_are_applied_before_the_build(tmp_path: Path, index: FakeIndex) -> None:
    # The sdist build driven directly: the same steps run_build takes for a pure sdist (a real
    # recipe with a real patch goes through run_build itself in the test below).
    files = {
        "ppkg/__init__.py": "VALUE = 'old'\n",
        "ppkg/tests/test_p.py": "def test_p(): pass\n",
        "ppkg/tests/test_q.py": "def test_q(): pass\n",
    }
    archive = sdist("ppkg", "2.0", setuptools_project("ppkg", files))
    url = host(index, archive["filename"], archive["body"])
    patch = (
        "--- a/ppkg/__init__.py\n+++ b/ppkg/__init__.py\n@@ -1 +1 @@\n"
        "-VALUE = 'old'\n+VALUE = 'patched'\n"
    )
    extra = (
        "  patches:\n    - patches/0001-value.patch\n"
        "  extras:\n    - [extras/added.py, ppkg/added.py]\n"
        "build:\n  _retain-test-patterns: ['*test_q.py']\n"
    )
    meta = SDIST_META.format(name="ppkg", url=url, sha=sha256(archive["body"]), extra=extra)
    recipe_dir = tmp_path / "recipe"
    recipe_dir.mkdir()
    (recipe_dir / "meta.yaml").write_text(meta)
    (recipe_dir / "patches").mkdir()
    (recipe_dir / "patches" / "0001-value.patch").write_text(patch)
    (recipe_dir / "extras").mkdir()
    (recipe_dir / "extras" / "added.py").write_text("ADDED = True\n")
    recipe = load_recipe(recipe_dir)
    spec = read_spec(recipe_dir / "meta.yaml")
    layout = Layout(work=tmp_path / "work", name="ppkg", version="2.0")
    wheel = build_pure_sdist(recipe, spec, PINNED_DEFAULT, layout, isolation=False)
    assert read(wheel, "ppkg/__init__.py") == "VALUE = 'patched'\n"
    assert read(wheel, "ppkg/added.py") == "ADDED = True\n"
    from smithy.build import wheelops

    tests = wheelops.unvendor(wheel, spec)
    assert tests is not None
    assert "ppkg/tests/test_q.py" in names(wheel)
    assert "ppkg/tests/test_p.py" not in names(wheel)
    assert "ppkg/tests/test_p.py" in names(tests)


def preimage(patch: str) -> dict[str, str]:
    """For each file a unified diff changes, a text it applies to without offset or fuzz: the
    lines its hunks expect (context and removed lines) at their line numbers, filler elsewhere."""
    files: dict[str, list[str]] = {}
    lines: list[str] = []
    old = 0  # lines of the current hunk's old side still to read
    for line in patch.splitlines(keepends=True):
        if old:
            if line[:1] in (" ", "-", "\n"):
                lines.append(line[1:] or "\n")
                old -= 1
        elif line.startswith("--- a/"):
            lines = files.setdefault(line[6:].rstrip("\n"), [])
        elif hunk := re.match(r"@@ -(\d+)(?:,(\d+))? ", line):
            start, old = int(hunk[1]), int(hunk[2] or 1)
            lines.extend(f"# line {n}\n" for n in range(len(lines) + 1, start))
    return {path: "".join(text) for path, text in files.items()}


def test_a_real_recipe_and_its_patch_through_the_pure_sdist_build(
    tmp_path: Path, index: FakeIndex, recipes_root: Path
) -> None:
    """pyodide-recipes' packaging recipe as it is, with its own patch (a git format-patch of
    src/packaging/tags.py); only its source is moved to loopback: an sdist holding what the
    patch expects to find. tests/integration/test_testing.py runs the recipe's own test."""
    recipe_dir = shutil.copytree(recipes_root / "packaging", tmp_path / "packaging")
    original = load_recipe(recipe_dir)
    (patch_name,) = read_spec(recipe_dir / "meta.yaml").patches
    pyproject = (
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "packaging"\nversion = "26.1"\ndescription = "test"\n'
        '[tool.setuptools.packages.find]\nwhere = ["src"]\n'
    )
    files = {"pyproject.toml": pyproject, "src/packaging/__init__.py": ""}
    files |= preimage((recipe_dir / patch_name).read_text())
    archive = sdist("packaging", "26.1", {k: v.encode() for k, v in files.items()})
    url = host(index, archive["filename"], archive["body"])
    assert original.source_url is not None
    assert original.sha256 is not None
    meta = (recipe_dir / "meta.yaml").read_text().replace(original.source_url, url)
    (recipe_dir / "meta.yaml").write_text(meta.replace(original.sha256, sha256(archive["body"])))
    root = tmp_path / "feedstock"
    run_init(str(recipe_dir), output=root, xbuildenv=PINNED_DEFAULT.version)
    config = root / "pyodide-smithy.yml"
    config.write_text(config.read_text().replace("pure-python: false", "pure-python: true"))
    result = run_build(root, output=tmp_path / "dist", isolation=False)
    assert result.kind is BuildKind.PURE_SDIST
    assert [p.name for p in result.wheels] == ["packaging-26.1-0-py3-none-any.whl"]
    tags = read(result.wheels[0], "packaging/tags.py")
    assert 'yield f"pyodide_{abi_version}_wasm32"' in tags
    assert "pyemscripten_abi_version" not in tags


def test_a_failing_patch_names_it(tmp_path: Path, index: FakeIndex) -> None:
    archive = sdist("ppkg", "2.0", setuptools_project("ppkg", {"ppkg/__init__.py": "A = 1\n"}))
    url = host(index, archive["filename"], archive["body"])
    extra = "  patches:\n    - bad.patch\n"
    meta = SDIST_META.format(name="ppkg", url=url, sha=sha256(archive["body"]), extra=extra)
    recipe_dir = tmp_path / "recipe"
    recipe_dir.mkdir()
    (recipe_dir / "meta.yaml").write_text(meta)
    (recipe_dir / "bad.patch").write_text("--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-x\n+y\n")
    layout = Layout(work=tmp_path / "work", name="ppkg", version="2.0")
    with pytest.raises(BuildError, match="applying patch bad.patch failed") as info:
        build_pure_sdist(
            load_recipe(recipe_dir), read_spec(recipe_dir / "meta.yaml"), PINNED_DEFAULT, layout
        )
    assert info.value.key == "source.patches[0]"


def test_an_sdist_with_a_shared_object_is_not_pure(tmp_path: Path, index: FakeIndex) -> None:
    files = {"impure/__init__.py": "", "impure/_speedups.so": "\x7fELF pretend\n"}
    project = setuptools_project(
        "impure", files, '[tool.setuptools.package-data]\nimpure = ["*.so"]\n'
    )
    archive = sdist("impure", "2.0", project)
    url = host(index, archive["filename"], archive["body"])
    meta = SDIST_META.format(name="impure", url=url, sha=sha256(archive["body"]), extra="")
    root = feedstock(tmp_path, meta, pure=True)
    with pytest.raises(BuildError, match="not pure Python") as info:
        run_build(root, output=tmp_path / "dist", isolation=False)
    assert "impure/_speedups.so" in str(info.value)
    assert info.value.key == "pure-python"
    assert "remove 'pure-python: true'" in str(info.value)
    assert not (tmp_path / "dist").exists()


@pytest.mark.skipif(
    shutil.which("cc") is None
    or not (Path(sysconfig.get_paths()["include"]) / "Python.h").is_file(),
    reason="needs a C compiler and Python headers",
)
def test_an_sdist_with_a_c_extension_is_not_pure(tmp_path: Path, index: FakeIndex) -> None:
    files = {"cext/__init__.py": "", "cext/_fast.c": "int cext_answer(void) { return 42; }\n"}
    project = setuptools_project("cext", files)
    project["setup.py"] = (
        b"from setuptools import Extension, setup\n"
        b"setup(ext_modules=[Extension('cext._fast', ['cext/_fast.c'])])\n"
    )
    archive = sdist("cext", "2.0", project)
    url = host(index, archive["filename"], archive["body"])
    meta = SDIST_META.format(name="cext", url=url, sha=sha256(archive["body"]), extra="")
    root = feedstock(tmp_path, meta, pure=True)
    with pytest.raises(BuildError, match="not pure Python: it is tagged cp3"):
        run_build(root, output=tmp_path / "dist", isolation=False)
    assert not (tmp_path / "dist").exists()


# compiled recipes -----------------------------------------------------------------------------

COMPILED_META = SDIST_META.format(
    name="needsc", url="https://example.invalid/needsc-2.0.tar.gz", sha="ab" * 32, extra=""
).replace("about:", "requirements:\n  host: [hostdep]\nabout:")


def no_emcc(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A PATH with the usual tools but no emcc; returns a folder on it for fake tools."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    keep = [p for p in ("/usr/bin", "/bin") if not (Path(p) / "emcc").exists()]
    monkeypatch.setenv("PATH", ":".join([str(bin_dir), *keep]))
    return bin_dir


def test_compiled_without_emscripten_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = feedstock(tmp_path, COMPILED_META)
    no_emcc(monkeypatch, tmp_path)
    with pytest.raises(BuildError) as info:
        run_build(root, output=tmp_path / "dist")
    message = str(info.value)
    assert message.startswith("Emscripten 5.0.3 is missing")
    assert "pyodide xbuildenv install 314.0.5 --path " in message
    assert "pyodide xbuildenv install-emscripten --version 5.0.3" in message
    assert "\n" not in message
    assert info.value.file == str(root / "pyodide-smithy.yml")
    assert info.value.key == "xbuildenv"
    assert "pure-python" not in message  # host requirements: it cannot be built as pure Python
    assert not (tmp_path / "dist").exists()


def test_an_sdist_that_could_be_pure_names_the_setting_when_emscripten_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    meta = SDIST_META.format(
        name="maybepure",
        url="https://example.invalid/maybepure-1.0.tar.gz",
        sha="ab" * 32,
        extra="",
    )
    root = feedstock(tmp_path, meta)
    no_emcc(monkeypatch, tmp_path)
    with pytest.raises(BuildError) as info:
        run_build(root, output=tmp_path / "dist")
    message = str(info.value)
    assert message.startswith("Emscripten 5.0.3 is missing")
    assert "set `pure-python: true` in pyodide-smithy.yml" in message
    assert "\n" not in message


def test_compiled_with_emcc_but_no_xbuildenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = feedstock(tmp_path, COMPILED_META)
    bin_dir = no_emcc(monkeypatch, tmp_path)
    emcc = bin_dir / "emcc"
    emcc.write_text(
        "#!/bin/sh\necho 'emcc (Emscripten gcc/clang-like replacement) 5.0.3 (x)' >&2\n"
    )
    emcc.chmod(0o755)
    with pytest.raises(BuildError, match=r"^xbuildenv 314\.0\.5 is not installed in "):
        run_build(root, output=tmp_path / "dist")
    emcc.write_text("#!/bin/sh\necho 'emcc (Emscripten gcc/clang-like replacement) 4.0.9' >&2\n")
    with pytest.raises(BuildError, match="emcc on PATH is Emscripten 4.0.9, but"):
        run_build(root, output=tmp_path / "dist")


FAKE_PYODIDE = """\
import json, os, shutil, sys
from pathlib import Path
args = sys.argv[1:]
recipe = Path(args[args.index("--recipe-dir") + 1]) / args[1]
build = Path(args[args.index("--build-dir") + 1])
keys = ("PYODIDE_XBUILDENV_PATH", "PYODIDE_ROOT", "HOSTSITEPACKAGES", "HOSTINSTALLDIR",
        "PYODIDE_SKIP_EMSCRIPTEN_INSTALL", "PIP_INDEX_URL")
seen = {
    "argv": args,
    "env": {k: os.environ[k] for k in keys if k in os.environ},
    "recipe": str(recipe.resolve()),
    "host": sorted(p.name for p in Path(os.environ["HOSTSITEPACKAGES"]).glob("*")),
    "libs": sorted(str(p.relative_to(build / ".libs")) for p in (build / ".libs").glob("**/*")),
}
Path(os.environ["FAKE_LOG"]).write_text(json.dumps(seen))
(recipe / "dist").mkdir(exist_ok=True)
if os.environ.get("FAKE_WHEEL"):
    shutil.copy(os.environ["FAKE_WHEEL"], recipe / "dist")
else:
    (build / ".libs" / "include").mkdir(parents=True, exist_ok=True)
    (build / ".libs" / "include" / "mine.h").write_text("int mine;")
"""


def fake_toolchain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: Path) -> tuple[Path, str]:
    """emcc 5.0.3 on PATH, an xbuildenv for this Python, and a ``pyodide`` that records."""
    import sys

    from smithy.build import compiled

    bin_dir = no_emcc(monkeypatch, tmp_path)
    (bin_dir / "emcc").write_text("#!/bin/sh\necho 'emcc (Emscripten) 5.0.3 (x)' >&2\n")
    (bin_dir / "emcc").chmod(0o755)
    fake = bin_dir / "pyodide"
    fake.write_text(f"#!{sys.executable}\n{FAKE_PYODIDE}")
    fake.chmod(0o755)
    monkeypatch.setattr(compiled, "pyodide_command", lambda: str(fake))
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "log.json"))
    # an xbuildenv whose Python is this one, so that the checks pass without Python 3.14
    here = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    manifest = root / ".pyodide-smithy" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["xbuildenv"]["python_version"] = here
    data["xbuildenv"]["abi_version"] = "2024_0"  # made up for this Python: no table has it
    manifest.write_text(json.dumps(data))
    xb = compiled.xbuildenv_path(PINNED_DEFAULT.version)
    pyroot = compiled.pyodide_root(xb, PINNED_DEFAULT.version)
    pyroot.mkdir(parents=True)
    (pyroot / "Makefile.envs").write_text("")
    (pyroot.parent / "requirements.txt").write_text("numpy==2.4.6\n")
    (xb / "xbuildenv").symlink_to(xb / PINNED_DEFAULT.version)
    return xb, f"cp3{sys.version_info.minor}-cp3{sys.version_info.minor}-pyemscripten_2024_0_wasm32"


def test_compiled_build_runs_pyodide_build_with_host_requirements_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    meta = COMPILED_META.replace("host: [hostdep]", "host: [hostdep, numpy, libbar]")
    root = feedstock(tmp_path, meta)
    xb, tag = fake_toolchain(tmp_path, monkeypatch, root)
    channel = LocalChannel(tmp_path / "channel")
    put(channel, make_wheel(tmp_path / "w1", "hostdep", "1.0", tag=tag))
    bar = {"libbar/prefix/include/bar.h": "int bar;\n"}
    put(channel, library_wheel(tmp_path / "w3", bar, {}, name="libbar", abi="2024_0"))
    built = make_wheel(
        tmp_path / "w2",
        "needsc",
        "2.0",
        tag=tag,
        files={"needsc/__init__.py": "", "needsc/_c.so": "wasm", "needsc/tests/test_c.py": ""},
    )
    monkeypatch.setenv("FAKE_WHEEL", str(built))
    stale = root / "recipe" / "dist" / "needsc-1.0-old.whl"
    stale.parent.mkdir()
    stale.write_text("from an earlier build")
    out = tmp_path / "dist"
    result = run_build(root, output=out, channel=str(channel.root))
    assert result.kind is BuildKind.COMPILED
    assert result.wheels == (out / f"needsc-2.0-0-{tag}.whl",)
    assert result.tests_archives == (out / "needsc-tests.zip",)
    assert "needsc/tests/test_c.py" not in names(result.wheels[0])
    seen = json.loads((tmp_path / "log.json").read_text())
    assert seen["argv"][:2] == ["build-recipes-no-deps", "needsc"]
    assert seen["argv"][-1] == "--force-rebuild"
    assert seen["recipe"] == str((root / "recipe").resolve())
    site = xb / "314.0.5" / "xbuildenv" / "pyodide-root" / "packages" / ".artifacts" / "lib"
    assert seen["env"]["HOSTSITEPACKAGES"].startswith(str(site))
    assert seen["env"]["PYODIDE_XBUILDENV_PATH"] == str(xb)
    assert seen["env"]["PYODIDE_SKIP_EMSCRIPTEN_INSTALL"] == "1"
    assert seen["host"] == ["hostdep", "hostdep-1.0.dist-info"]  # numpy: pyodide-build's job
    assert "include/bar.h" in seen["libs"]
    assert not stale.exists()
    err = capsys.readouterr().err
    assert "+ PYODIDE_XBUILDENV_PATH=" not in err  # sorted: HOSTINSTALLDIR comes first
    assert " build-recipes-no-deps needsc --recipe-dir " in err
    assert "a cross-build package, pyodide-build's job" in err


def test_a_static_library_becomes_a_library_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    meta = COMPILED_META.replace(
        "requirements:\n  host: [hostdep]\n", "build:\n  type: static_library\n  script: make\n"
    )
    root = feedstock(tmp_path, meta)
    fake_toolchain(tmp_path, monkeypatch, root)
    monkeypatch.delenv("FAKE_WHEEL", raising=False)
    out = tmp_path / "dist"
    result = run_build(root, output=out)
    assert result.kind is BuildKind.STATIC_LIBRARY
    assert result.wheels == (out / "needsc-2.0-0-py3-none-pyemscripten_2024_0_wasm32.whl",)
    assert result.tests_archives == ()
    members = names(result.wheels[0])
    assert "needsc/prefix/include/mine.h" in members
    manifest = json.loads(read(result.wheels[0], "needsc/library.json"))
    assert (manifest["kind"], manifest["runtime"]) == ("static_library", {})
    assert not [m for m in members if m.endswith(".so")]


# host requirements from a channel -------------------------------------------------------------


def put(channel: LocalChannel, wheel: Path, label: str = "main") -> None:
    info = read_wheel(wheel)
    channel.put(info, labels=(label,), provenance=Provenance(sha256=info.sha256))


LIBFOO = "libfoo-1.0-0-py3-none-pyemscripten_2026_0_wasm32"


def library_wheel(
    folder: Path,
    files: dict[str, str],
    runtime: dict[str, str],
    *,
    name: str = "libfoo",
    version: str = "1.0",
    abi: str = "2026_0",
) -> Path:
    """A library wheel as a library feedstock publishes it (smithy/library.py)."""
    manifest = {"format": 1, "name": name, "version": version, "kind": "shared_library"}
    manifest |= {"prefix": f"{name}/prefix", "runtime": runtime}
    files = {**files, f"{name}/library.json": json.dumps(manifest)}
    tag = f"py3-none-pyemscripten_{abi}_wasm32"
    wheel = make_wheel(folder, name, version, tag=tag, files=files)
    return wheel.rename(folder / f"{name}-{version}-0-{tag}.whl")


def test_host_requirements_are_placed_from_the_channel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    channel = LocalChannel(tmp_path / "channel")
    wasm = "cp314-cp314-pyemscripten_2026_0_wasm32"
    dist = tmp_path / "wheels"
    files = {"hostdep/__init__.py": "V = 1\n", "hostdep/_core.so": "wasm\n"}
    put(channel, make_wheel(dist / "a", "hostdep", "1.0", tag=wasm, files=files))
    put(channel, make_wheel(dist / "b", "hostdep", "1.1", tag=wasm))
    put(
        channel,
        make_wheel(dist / "c", "hostdep", "9.0", tag="cp313-cp313-pyemscripten_2025_0_wasm32"),
    )
    put(channel, make_wheel(dist / "d", "hostdep", "5.0", tag=wasm), label="staging")
    library = {
        "libfoo.so": "\0asm",
        "libfoo/__init__.py": "",
        "libfoo/prefix/include/foo.h": "int foo;\n",
        "libfoo/prefix/lib/libfoo.a": "!",
        "libfoo/prefix/share/foo.cmake": f"set(ROOT {PLACEHOLDER})\n",
    }
    put(channel, library_wheel(dist / "e", library, {"lib/libfoo.so": "libfoo.so"}))
    site = tmp_path / "site-packages"
    libs = tmp_path / "build" / ".libs"
    placement = place_host_requirements(
        ("hostdep<1.1", "libfoo", "missingdep", "numpy"),
        channel,
        PINNED_DEFAULT,
        site_packages=site,
        library_dir=libs,
        cross_build=frozenset({"numpy"}),
    )
    assert placement.wheels == [f"hostdep-1.0-{wasm}.whl"]
    assert placement.libraries == [f"{LIBFOO}.whl"]
    assert placement.skipped == ["numpy"]
    assert placement.missing == ["missingdep"]
    assert (site / "hostdep" / "_core.so").read_text() == "wasm\n"
    assert (site / "hostdep-1.0.dist-info" / "METADATA").is_file()
    assert not (site / "libfoo").exists()  # a library goes to WASM_LIBRARY_DIR only
    assert (libs / "include" / "foo.h").read_text() == "int foo;\n"
    assert (libs / "lib" / "libfoo.a").is_file()
    assert (libs / "lib" / "libfoo.so").read_text() == "\0asm"  # back where its build put it
    assert (libs / "share" / "foo.cmake").read_text() == f"set(ROOT {libs})\n"
    err = capsys.readouterr().err
    assert "warning: host requirement 'missingdep' is not on the channel" in err
    # a newer version replaces the older one's files
    place_host_requirements(
        ("hostdep",), channel, PINNED_DEFAULT, site_packages=site, library_dir=libs
    )
    assert not (site / "hostdep-1.0.dist-info").exists()
    assert not (site / "hostdep" / "_core.so").exists()
    assert (site / "hostdep-1.1.dist-info" / "METADATA").is_file()


# real recipes from PyPI -----------------------------------------------------------------------


@pytest.mark.network
@pytest.mark.parametrize("recipe", ["attrs", "joblib"])
def test_real_recipes_through_pypi(
    recipe: str,
    recipes_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """attrs: a wheel source; joblib: a pure sdist (isolated build, setuptools from PyPI).

    Both recipes name PyPI's short redirect URLs; where those fail (behind some proxies),
    the file is taken from https://pypi.org/simple/ when its sha256 is the recipe's.
    """
    monkeypatch.setenv("PYODIDE_SMITHY_INDEX_URL", "https://pypi.org/simple/")
    root = tmp_path / "feedstock"
    run_init(recipe, recipes=str(recipes_root), output=root, xbuildenv=PINNED_DEFAULT.version)
    if recipe == "joblib":
        config = root / "pyodide-smithy.yml"
        config.write_text(config.read_text().replace("pure-python: false", "pure-python: true"))
    result = run_build(root, output=tmp_path / "dist")
    assert result.kind is (BuildKind.PURE_SDIST if recipe == "joblib" else BuildKind.PURE_WHEEL)
    (wheel,) = result.wheels
    assert wheel.name.endswith("-0-py3-none-any.whl")
    read_wheel(wheel)
    if recipe == "joblib":  # joblib/test/ is unvendored
        assert [p.name for p in result.tests_archives] == ["joblib-tests.zip"]
    err = capsys.readouterr().err
    with capsys.disabled():  # show where the source came from
        print("\n" + "\n".join(line for line in err.splitlines() if "source" in line))
    assert f"source: {wheel.name.split('-')[0]}-" in err
