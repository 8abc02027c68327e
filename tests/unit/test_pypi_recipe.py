"""The pure parts of recipe generation from PyPI: no network, no HTTP server."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from packaging.version import Version
from pyodide_build.recipe.spec import MetaConfig
from ruamel.yaml import YAML

from smithy.errors import RecipeError, RecipeNotFoundError, UsageError
from smithy.recipe import pypi_index
from smithy.recipe.pypi import (
    _about,
    _render,
    _run_requirements,
    _top_level_names,
    _validate,
    _wheel_top_level,
)
from smithy.recipe.pypi_index import (
    DEFAULT_INDEX_URL,
    IndexFile,
    choose_source,
    choose_version,
    parse_files,
    parse_spec,
)

PY = Version("3.14.2")


def file(filename: str, **kwargs: Any) -> IndexFile:
    """A ``IndexFile`` parsed from a minimal PEP 691 entry named ``filename``."""
    entry = {"filename": filename, "url": filename, "hashes": {"sha256": "AB" * 32}, **kwargs}
    (parsed,) = parse_files([entry], "https://index.example/simple/proj/")
    return parsed


def load(text: str) -> Any:
    return YAML(typ="safe").load(text)


# spec and index URL ---------------------------------------------------------------------------


def test_parse_spec() -> None:
    assert parse_spec("attrs") == ("attrs", None)
    assert parse_spec(" Foo.Bar_baz == 1.0rc1 ") == ("Foo.Bar_baz", "1.0rc1")
    for bad in ("", "attrs>=1", "attrs==", "-x", "attrs==not a version", "a b"):
        with pytest.raises(UsageError):
            parse_spec(bad)


def test_index_url_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYODIDE_SMITHY_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    assert pypi_index.index_url_from_env() == DEFAULT_INDEX_URL
    monkeypatch.setenv("PIP_INDEX_URL", "https://mirror.example/pypi/simple")
    assert pypi_index.index_url_from_env() == "https://mirror.example/pypi/simple/"
    monkeypatch.setenv("PYODIDE_SMITHY_INDEX_URL", "https://smithy.example/simple/")
    assert pypi_index.index_url_from_env() == "https://smithy.example/simple/"
    monkeypatch.setenv("PYODIDE_SMITHY_INDEX_URL", "")
    assert pypi_index.index_url_from_env() == "https://mirror.example/pypi/simple/"


# files and versions ---------------------------------------------------------------------------


def test_parse_files_resolves_urls_and_reads_flags() -> None:
    entries: list[dict[str, Any]] = [
        {
            "filename": "proj-1.0-py2.py3-none-any.whl",
            "url": "../../files/proj-1.0-py2.py3-none-any.whl#sha256=ab",
            "hashes": {"sha256": "AB" * 32},
            "core-metadata": {"sha256": "cd" * 32},
            "requires-python": ">=3.9",
            "size": 1234,
        },
        {
            "filename": "proj-1.0-cp314-cp314-emscripten_4_0_9_wasm32.whl",
            "url": "https://files.example/proj-1.0-cp314-cp314-emscripten_4_0_9_wasm32.whl",
            "hashes": {"sha256": "ef" * 32},
            "data-dist-info-metadata": True,
            "yanked": "broken",
        },
        {"filename": "proj-1.0.tar.gz", "url": "proj-1.0.tar.gz", "hashes": {"sha256": "01" * 32}},
        {"filename": "proj-1.0.exe", "url": "x", "hashes": {"sha256": "01" * 32}},
        {"filename": "proj-1.0.egg", "url": "x", "hashes": {"sha256": "01" * 32}},
        {"filename": "proj-1.1.tar.gz", "url": "x", "hashes": {}},  # no sha256: unusable
        {"filename": "proj-notaversion!.tar.gz", "url": "x", "hashes": {"sha256": "01" * 32}},
    ]
    pure, platform, sdist = parse_files(entries, "https://index.example/simple/proj/")
    assert pure.url == "https://index.example/files/proj-1.0-py2.py3-none-any.whl"
    assert (pure.pure, pure.wheel, pure.metadata, pure.metadata_sha256) == (
        True,
        True,
        True,
        "cd" * 32,
    )
    assert (pure.sha256, pure.size, pure.requires_python) == ("ab" * 32, 1234, ">=3.9")
    assert (platform.pure, platform.metadata, platform.metadata_sha256, platform.yanked) == (
        False,
        True,
        None,
        True,
    )
    assert sdist.url == "https://index.example/simple/proj/proj-1.0.tar.gz"
    assert (sdist.wheel, sdist.pure, sdist.metadata, sdist.version) == (
        False,
        False,
        False,
        Version("1.0"),
    )


@pytest.mark.parametrize(
    ("filename", "pure"),
    [
        ("p-1-py3-none-any.whl", True),
        ("p-1-py2.py3-none-any.whl", True),
        ("p-1-1-py3-none-any.whl", True),  # build tag
        ("p-1-py2-none-any.whl", False),
        ("p-1-cp314-none-any.whl", False),
        ("p-1-py3-abi3-any.whl", False),
        ("p-1-cp314-abi3-manylinux_2_17_x86_64.whl", False),
    ],
)
def test_pure_wheel_tags(filename: str, pure: bool) -> None:
    assert file(filename).pure is pure


def test_newest_final_not_yanked_supported_version() -> None:
    files = [
        file("p-1.0.tar.gz"),
        file("p-1.10-py3-none-any.whl"),
        file("p-1.9.tar.gz"),
        file("p-2.0.tar.gz", yanked=True),
        file("p-2.1rc1.tar.gz"),
        file("p-3.0.tar.gz", **{"requires-python": ">=3.15"}),
        file("p-1.11.tar.gz", **{"requires-python": "<3"}),
        file("p-1.12.tar.gz", **{"requires-python": "this is not a specifier"}),
    ]
    assert choose_version(files, name="p", pinned=None, python=PY) == Version("1.12")
    assert choose_version(files[:4], name="p", pinned=None, python=PY) == Version("1.10")
    # Only pre-releases: the newest of them.
    only_pre = [file("p-2.0a1.tar.gz"), file("p-2.0b2.tar.gz")]
    assert choose_version(only_pre, name="p", pinned=None, python=PY) == Version("2.0b2")


def test_pinned_version() -> None:
    files = [file(f"p-{v}.tar.gz") for v in ("0.1", "0.2", "0.3", "1.0", "1.1", "2.0rc1")]
    files.append(file("p-0.9.tar.gz", yanked=True))
    # A pinned pre-release or yanked version is allowed (PEP 592).
    assert choose_version(files, name="p", pinned="2.0rc1", python=PY) == Version("2.0rc1")
    assert choose_version(files, name="p", pinned="0.9", python=PY) == Version("0.9")
    assert choose_version(files, name="p", pinned="1.0.0", python=PY) == Version("1.0")
    with pytest.raises(RecipeNotFoundError) as info:
        choose_version(files, name="p", pinned="5.0", python=PY)
    assert "no version 5.0" in str(info.value)
    assert "2.0rc1, 1.1, 1.0, 0.3, 0.2" in str(info.value)
    assert "0.1" not in str(info.value)


def test_no_supported_version() -> None:
    files = [file("p-1.0.tar.gz", **{"requires-python": ">=4"})]
    with pytest.raises(RecipeNotFoundError, match=r"supports Python 3\.14\.2"):
        choose_version(files, name="p", pinned=None, python=PY)
    with pytest.raises(RecipeNotFoundError, match="does not support Python"):
        choose_source(files, name="p", version=Version("1.0"), python=PY)


def test_source_choice() -> None:
    wheel = file("p-1.0-py3-none-any.whl")
    platform = file("p-1.0-cp314-cp314-manylinux_2_28_x86_64.whl")
    tar, zip_ = file("p-1.0.tar.gz"), file("p-1.0.zip")
    v = Version("1.0")
    other = file("p-2.0-py3-none-any.whl")

    def choose(*files: IndexFile) -> IndexFile:
        return choose_source(list(files), name="p", version=v, python=PY)

    assert choose(zip_, tar, platform, wheel, other) is wheel
    assert choose(zip_, platform, tar) is tar
    assert choose(zip_, platform) is zip_
    with pytest.raises(RecipeNotFoundError, match="neither a pure Python wheel"):
        choose(platform, other)


# requirements -------------------------------------------------------------------------------


def test_run_requirements_markers_for_pyodide() -> None:
    requires = [
        "six>=1.5",
        "Typing_Extensions>=4; python_version < '3.15'",
        "tomli; python_version < '3.11'",
        "pywin32; sys_platform == 'win32'",
        "uvloop; sys_platform != 'emscripten'",
        "pyodide-only; platform_machine == 'wasm32' and platform_system == 'Emscripten'",
        "exceptiongroup; python_full_version < '3.11.0'",
        "pytest; extra == 'test'",
        "sphinx[foo]>=1; extra == 'docs' and python_version >= '3.8'",
        "requests[socks]>=2 ; os_name == 'posix'",
        "six",  # duplicate
        "SIX<2",  # duplicate under another spelling
        "cpython-only; implementation_name == 'cpython'",
        "this is not a requirement",
    ]
    assert _run_requirements(requires, "3.14.2") == [
        "six",
        "Typing_Extensions",
        "pyodide-only",
        "requests",
        "cpython-only",
    ]
    assert "tomli" in _run_requirements(requires, "3.10.4")
    assert _run_requirements([], "3.14.2") == []


# top-level names ----------------------------------------------------------------------------


def test_top_level_names_from_wheel_namelist() -> None:
    names = [
        "attr/__init__.py",
        "attr/_make.py",
        "attrs/__init__.py",
        "attrs-25.1.0.dist-info/METADATA",
        "attrs-25.1.0.dist-info/licenses/LICENSE",
        "attrs-25.1.0.data/scripts/run.py",
        "single_module.py",
        "_speedups.cpython-314-wasm32-emscripten.so",
        "_abi3ext.abi3.so",
        "plain.so",
        "winext.cp314-win_amd64.pyd",
        "__pycache__/x.cpython-314.pyc",
        "tests/__init__.py",
        "data/file.txt",
        "not-an-identifier/__init__.py",
        "pkg.libs/libfoo-1234.so",
        "deep/nested/__init__.py",
    ]
    assert _top_level_names(names) == [
        "_abi3ext",
        "_speedups",
        "attr",
        "attrs",
        "plain",
        "single_module",
        "winext",
    ]


def test_tests_only_when_alone_and_namespace_packages() -> None:
    assert _top_level_names(["tests/__init__.py", "test/__init__.py"]) == ["test", "tests"]
    assert _top_level_names(["tests/__init__.py", "x.py"]) == ["x"]
    # PEP 420 namespace packages count when nothing else does.
    namespaced = [
        "google/protobuf/__init__.py",
        "google/protobuf/message.py",
        "p-1.dist-info/RECORD",
    ]
    assert _top_level_names(namespaced) == ["google"]
    assert _top_level_names(["p-1.dist-info/METADATA"]) == []


def test_top_level_names_from_sdist() -> None:
    names = [
        "proj-1.0",
        "proj-1.0/PKG-INFO",
        "proj-1.0/setup.py",
        "proj-1.0/conftest.py",
        "proj-1.0/noxfile.py",
        "proj-1.0/docs/conf.py",
        "proj-1.0/docs/__init__.py",
        "proj-1.0/tests/__init__.py",
        "proj-1.0/src/proj/__init__.py",
        "proj-1.0/src/proj/core.py",
        "proj-1.0/src/proj_helpers.py",
        "proj-1.0/src/proj.egg-info/PKG-INFO",
        "proj-1.0/flat/__init__.py",
    ]
    assert _top_level_names(names, sdist=True) == ["flat", "proj", "proj_helpers"]


def wheel_zip(files: dict[str, str]) -> zipfile.ZipFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return zipfile.ZipFile(io.BytesIO(buffer.getvalue()))


def test_top_level_txt_is_preferred() -> None:
    files = {"a/__init__.py": "", "b/__init__.py": "", "p-1.dist-info/METADATA": ""}
    assert _wheel_top_level(wheel_zip(files)) == ["a", "b"]
    files["p-1.dist-info/top_level.txt"] = "b\ntests\n\nc/sub\n"
    assert _wheel_top_level(wheel_zip(files)) == ["b", "c"]
    files["p-1.dist-info/top_level.txt"] = "\n"  # empty: the file list decides
    assert _wheel_top_level(wheel_zip(files)) == ["a", "b"]


# about ----------------------------------------------------------------------------------------


def test_about_license_and_home() -> None:
    osi = ["Programming Language :: Python", "License :: OSI Approved :: Apache Software License"]
    assert _about({"license_expression": "MIT", "license": "BSD", "classifiers": osi}, "p") == {
        "home": "https://pypi.org/project/p",
        "PyPI": "https://pypi.org/project/p",
        "license": "MIT",
    }
    assert _about({"license": "BSD-3-Clause", "classifiers": osi}, "p")["license"] == (
        "BSD-3-Clause"
    )
    long_text = "Permission is hereby granted, free of charge, to any person obtaining a copy"
    assert _about({"license": long_text + " of this.", "classifiers": osi}, "p")["license"] == (
        "Apache Software License"
    )
    assert _about({"license": "MIT\nmore", "classifiers": osi}, "p")["license"] == (
        "Apache Software License"
    )
    assert "license" not in _about({"license": "UNKNOWN"}, "p")
    urls = {"Documentation": "https://docs.example", "Source Code": "https://git.example/p"}
    assert _about({"project_urls": urls}, "p")["home"] == "https://git.example/p"
    urls["Home-Page"] = "https://p.example"
    assert _about({"project_urls": urls}, "p")["home"] == "https://p.example"
    assert _about({"home_page": "https://hp.example", "project_urls": urls}, "p")["home"] == (
        "https://hp.example"
    )
    assert _about({"home_page": "UNKNOWN"}, "p")["home"] == "https://pypi.org/project/p"
    assert _about({"summary": "  two\n  lines "}, "p")["summary"] == "two lines"


# meta.yaml ------------------------------------------------------------------------------------

TRICKY_SUMMARIES = [
    "Foo: a library",
    'He said "hi" # not a comment',
    "it's 'quoted'",
    "- looks like a list",
    "* starts with a star",
    "& anchor-ish",
    "! tag-ish",
    "yes",
    "null",
    "1.10",
    "{braces}",
    "[brackets]",
    "@decorators and `backticks`",
    "% percent",
    "trailing colon:",
    "tab\tinside",
    "Ünïcödé ☃ summary",
    "x" * 300,
]


@pytest.mark.parametrize("summary", TRICKY_SUMMARIES)
def test_tricky_summaries_round_trip(summary: str) -> None:
    source = file("p-1.10-py3-none-any.whl")
    about = {"home": "https://p.example/#home", "PyPI": "https://pypi.org/project/p"}
    text = _render(
        name="p",
        version="1.10",
        source=source,
        top_level=["p"],
        run=[],
        about=about | {"summary": summary, "license": "MIT OR Apache-2.0"},
    )
    _validate(text, "p")
    data = load(text)
    assert data["about"]["summary"] == summary
    assert data["about"]["home"] == "https://p.example/#home"
    assert data["package"]["version"] == "1.10"
    config = MetaConfig.from_dict(data)
    assert config.about.summary == summary
    assert config.package.version == "1.10"


def test_rendered_recipe_layout() -> None:
    source = file("my_pkg-2.0.tar.gz")
    text = _render(
        name="My.Pkg",
        version="2.0",
        source=source,
        top_level=["my_pkg", "_my_pkg_c"],
        run=["numpy", "Typing_Extensions"],
        about={"home": "https://x.example", "PyPI": "https://pypi.org/project/My.Pkg"},
    )
    assert text == (
        "# Generated from PyPI by pyodide-smithy (source: my_pkg-2.0.tar.gz); "
        "review before building.\n"
        "package:\n"
        "  name: My.Pkg\n"
        "  version: '2.0'\n"
        "  top-level:\n"
        "    - my_pkg\n"
        "    - _my_pkg_c\n"
        "source:\n"
        "  url: https://index.example/simple/proj/my_pkg-2.0.tar.gz\n"
        f"  sha256: {'ab' * 32}\n"
        "requirements:\n"
        "  run:\n"
        "    - numpy\n"
        "    - Typing_Extensions\n"
        "test:\n"
        "  imports:\n"
        "    - my_pkg\n"
        "    - _my_pkg_c\n"
        "about:\n"
        "  home: https://x.example\n"
        "  PyPI: https://pypi.org/project/My.Pkg\n"
        "extra:\n"
        "  recipe-maintainers: []\n"
    )
    config = MetaConfig.from_dict(load(text))
    assert config.requirements.run == ["numpy", "Typing_Extensions"]
    assert config.test.imports == ["my_pkg", "_my_pkg_c"]
    assert config.extra.recipe_maintainers == []


def test_no_requirements_section_without_run_requirements() -> None:
    source = file("p-1.0.1-py3-none-any.whl")
    text = _render(name="p", version="1.0.1", source=source, top_level=["p"], run=[], about={})
    assert "requirements" not in load(text)
    assert "version: 1.0.1\n" in text
    _validate(text, "p")


def test_validate_rejects_an_invalid_recipe() -> None:
    with pytest.raises(RecipeError, match="recipe generated for p>:source.sha256"):
        _validate("package:\n  name: p\n  version: '1'\nsource:\n  url: https://x/p.tar.gz\n", "p")
    with pytest.raises(RecipeError):
        _validate("package: [unclosed\n", "p")
