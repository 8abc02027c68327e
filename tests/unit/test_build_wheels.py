"""Purity, version checks, test-unvendoring decisions, host placement choices: no subprocess."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from smithy.build.host import _wheel_target, choose_wheel, parse_host_requirement
from smithy.build.model import BuildError, BuildResult, BuildSpec, read_spec, retained_patterns
from smithy.build.pure import Layout, script_env, trim_archive_extension
from smithy.build.wheelops import check_version, impurity
from smithy.channel.model import ChannelFile
from smithy.recipe.load import load_recipe
from smithy.recipe.model import BuildKind
from smithy.xbuildenv import PINNED_DEFAULT
from tests.helpers import write_recipe
from tests.wheels import make_wheel


def zipped(tmp_path: Path, filename: str, names: list[str]) -> Path:
    path = tmp_path / filename
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, "")
    return path


@pytest.mark.parametrize(
    ("filename", "names", "why"),
    [
        ("p-1.0-py3-none-any.whl", ["p/__init__.py", "p/data.json"], None),
        ("p-1.0-py2.py3-none-any.whl", ["p/__init__.py"], None),
        ("p-1.0-py3-none-any.whl", ["p/_c.cpython-312-x86_64-linux-gnu.so"], "compiled files"),
        ("p-1.0-py3-none-any.whl", ["p.libs/libz.so.1.3"], "compiled files"),
        ("p-1.0-py3-none-any.whl", ["p/x.pyd", "p/y.dylib", "p/z.DLL"], "compiled files"),
        ("p-1.0-cp312-cp312-linux_x86_64.whl", ["p/__init__.py"], "tagged cp312-cp312-linux"),
        ("p-1.0-cp312-abi3-any.whl", ["p/__init__.py"], "not none-any"),
        ("p-1.0-py3-none-any.whl", ["p/solution.sol", "p/so.py"], None),
    ],
)
def test_impurity(tmp_path: Path, filename: str, names: list[str], why: str | None) -> None:
    found = impurity(zipped(tmp_path, filename, names))
    if why is None:
        assert found is None
    else:
        assert found is not None
        assert why in found


def test_impurity_lists_a_few_compiled_files(tmp_path: Path) -> None:
    names = [f"p/m{i}.so" for i in range(5)]
    found = impurity(zipped(tmp_path, "p-1.0-py3-none-any.whl", names))
    assert found == "it holds compiled files: p/m0.so, p/m1.so, p/m2.so and 2 more"


def test_version_must_match_the_recipe(tmp_path: Path) -> None:
    check_version("p-1.0-py3-none-any.whl", "1.0", meta_path=tmp_path / "meta.yaml")
    with pytest.raises(BuildError, match="meta.yaml says '1.1' but the wheel") as info:
        check_version("p-1.0-py3-none-any.whl", "1.1", meta_path=tmp_path / "meta.yaml")
    assert info.value.key == "package.version"


def spec_of(tmp_path: Path, build: str) -> BuildSpec:
    text = (
        "package:\n  name: p\n  version: '1.0'\n"
        "source:\n  url: https://example.invalid/p-1.0-py3-none-any.whl\n"
        f"  sha256: {'AB' * 32}\n{build}"
    )
    return read_spec(write_recipe(tmp_path / "r", text) / "meta.yaml")


@pytest.mark.parametrize(
    ("build", "patterns"),
    [
        ("", []),  # default: unvendor every test
        ("build:\n  unvendor-tests: true\n", []),
        ("build:\n  unvendor-tests: false\n", None),  # keep them all
        (
            "build:\n  _retain-test-patterns: ['*conftest.py', 'p/tests/*']\n",
            ["*conftest.py", "p/tests/*"],
        ),
        ("build:\n  unvendor-tests: false\n  _retain-test-patterns: ['x']\n", None),
    ],
)
def test_unvendoring_decisions(tmp_path: Path, build: str, patterns: list[str] | None) -> None:
    assert retained_patterns(spec_of(tmp_path, build)) == patterns


def test_the_spec_reads_what_the_recipe_summary_omits(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, "build:\n  post: |\n    rm -r p/docs\n")
    assert spec.post == "rm -r p/docs\n"
    assert spec.sha256 == "ab" * 32  # lower case, as hashlib prints it
    assert spec.filename == "p-1.0-py3-none-any.whl"
    assert spec.patches == ()


def test_archive_names() -> None:
    assert trim_archive_extension("p-1.0.tar.gz") == "p-1.0"
    assert trim_archive_extension("p-1.0.tar.bz2") == "p-1.0"
    assert trim_archive_extension("p-1.0.zip") == "p-1.0"
    assert trim_archive_extension("p-1.0.rar") == "p-1.0.rar"


def test_script_env_mirrors_pyodide_build(tmp_path: Path) -> None:
    recipe_dir = write_recipe(
        tmp_path / "recipe",
        "package:\n  name: p\n  version: '1.0'\n"
        f"source:\n  url: https://example.invalid/p-1.0.tar.gz\n  sha256: {'ab' * 32}\n",
    )
    recipe = load_recipe(recipe_dir)
    layout = Layout(work=tmp_path / "work", name="p", version="1.0")
    env = script_env(recipe, PINNED_DEFAULT, layout, {"PATH": "/bin", "PKG_VERSION": "mine"})
    assert env["PKGDIR"] == str(recipe_dir.absolute())
    assert env["PKG_BUILD_DIR"] == str(tmp_path / "work" / "p" / "build" / "p-1.0")
    assert env["DISTDIR"] == str(tmp_path / "work" / "p" / "build" / "p-1.0" / "dist")
    assert env["WASM_LIBRARY_DIR"] == str(tmp_path / "work" / ".libs")
    assert env["PKG_CONFIG_LIBDIR"] == str(tmp_path / "work" / ".libs" / "lib" / "pkgconfig")
    assert env["PYODIDE"] == "1"
    assert env["PYMINOR"] == "14"
    assert env["PKG_VERSION"] == "mine"  # the caller's environment wins, as os.environ does


def test_result_json() -> None:
    result = BuildResult(
        kind=BuildKind.SHARED_LIBRARY,
        wheels=(Path("/o/libfoo-1.0-0-py3-none-pyemscripten_2026_0_wasm32.whl"),),
        tests_archives=(),
    )
    assert result.to_json() == {
        "kind": "shared-library",
        "wheels": ["/o/libfoo-1.0-0-py3-none-pyemscripten_2026_0_wasm32.whl"],
        "tests_archives": [],
    }


# host requirements ---------------------------------------------------------------------------


def cf(filename: str, labels: tuple[str, ...] = ("main",)) -> ChannelFile:
    return ChannelFile(
        package="x",
        version="0",
        filename=filename,
        sha256="",
        size=0,
        labels=labels,
        upload_time="",
    )


WASM = "cp314-cp314-pyemscripten_2026_0_wasm32"


def test_choose_the_newest_fitting_wheel_and_its_highest_build() -> None:
    files = [
        cf(f"dep-1.0-{WASM}.whl"),
        cf(f"dep-1.2-{WASM}.whl"),
        cf(f"dep-1.3-{WASM}.whl", labels=("staging",)),
        cf("dep-2.0-cp313-cp313-pyemscripten_2025_0_wasm32.whl"),
        cf("dep-2.1-cp313-cp313-pyemscripten_2026_0_wasm32.whl"),  # another CPython
        cf("dep-1.5-cp314-cp314-emscripten_5_0_3_wasm32.whl"),
        cf("dep-3.0-py3-none-any.whl"),
        cf("dep-9.0-cp314-cp314-linux_x86_64.whl"),
        cf("dep-1.0.tar.gz"),
        cf(f"dep-1.1-2-{WASM}.whl"),
        cf(f"dep-1.1-10-{WASM}.whl"),
        cf(f"dep-1.1-{WASM}.whl"),
        cf("dep-1.1-3-py3-none-pyemscripten_2026_0_wasm32.whl"),
        cf("dep-1.1-4-py3-none-pyemscripten_2025_0_wasm32.whl"),
    ]
    chosen = choose_wheel(files, PINNED_DEFAULT, "")
    assert chosen is not None
    assert chosen.filename == "dep-3.0-py3-none-any.whl"
    chosen = choose_wheel(files, PINNED_DEFAULT, "<2")
    assert chosen is not None
    assert chosen.filename == "dep-1.5-cp314-cp314-emscripten_5_0_3_wasm32.whl"
    chosen = choose_wheel(files, PINNED_DEFAULT, "<1.5", label="staging")
    assert chosen is not None
    assert chosen.filename == f"dep-1.3-{WASM}.whl"
    chosen = choose_wheel(files, PINNED_DEFAULT, "==1.1")
    assert chosen is not None
    assert chosen.filename == f"dep-1.1-10-{WASM}.whl"  # build 10 > 3 > 2 > none, by number
    assert choose_wheel(files, PINNED_DEFAULT, ">9") is None


def test_host_requirement_entries(tmp_path: Path) -> None:
    assert parse_host_requirement("Foo_Bar>=1", meta_path=None, index=0) == ("foo-bar", ">=1")
    with pytest.raises(BuildError, match="invalid host requirement") as info:
        parse_host_requirement("foo bar", meta_path=tmp_path / "meta.yaml", index=2)
    assert info.value.key == "requirements.host[2]"


def test_wheel_members_land_in_site_packages(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert _wheel_target("p/__init__.py", site) == site / "p" / "__init__.py"
    assert _wheel_target("p-1.0.data/purelib/q/m.py", site) == site / "q" / "m.py"
    assert _wheel_target("p-1.0.data/platlib/q/m.so", site) == site / "q" / "m.so"
    assert _wheel_target("p-1.0.data/scripts/run", site) is None
    assert _wheel_target("p-1.0.data/headers/p.h", site) is None
    with pytest.raises(BuildError, match="unsafe path"):
        _wheel_target("../evil.py", site)
    with pytest.raises(BuildError, match="unsafe path"):
        _wheel_target("/etc/passwd", site)


def test_make_wheel_files_are_pure(tmp_path: Path) -> None:
    assert impurity(make_wheel(tmp_path, "tiny", "1.0")) is None
