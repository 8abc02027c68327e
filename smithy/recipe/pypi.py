"""Generate a new Pyodide recipe (``meta.yaml`` text) from a Python package index.

Only the simple API is used — PEP 691 JSON pages and PEP 658/714 metadata files — so any mirror
that speaks it works. The source is the release's pure wheel if it has one, else its sdist. The
core metadata comes from a metadata file, else from a wheel read over HTTP ranges, else from the
sdist's ``PKG-INFO``; the top-level import names from a wheel's file list, else from the sdist's.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.metadata import RawMetadata, parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from smithy import http
from smithy.errors import NetworkError, RecipeError, UsageError
from smithy.markers import pyodide_environment
from smithy.recipe.fields import FORBIDDEN_TEXT, url_problem
from smithy.recipe.load import validate_meta
from smithy.recipe.pypi_index import (
    IndexFile,
    choose_source,
    choose_version,
    index_url_from_env,
    parse_spec,
    project_files,
    wheel_rank,
)
from smithy.recipe.rangefile import HTTPRangeFile
from smithy.yamlio import load_yaml_text, round_trip_dump

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

_EXTENSION = re.compile(r"^([A-Za-z_]\w*)(?:\.[^/]+)?\.(?:so|pyd)$")
_TESTS = frozenset({"tests", "test"})
# Files and directories at an sdist's root that are tooling, not importable names.
_SDIST_TOOLING = frozenset(
    {"setup", "conftest", "noxfile", "tasks", "fabfile", "pavement", "versioneer", "ez_setup"}
    | {"docs", "doc", "examples", "benchmarks", "tools", "scripts"}
)
# What only a compiler turns into something importable; an sdist without any is pure Python.
_COMPILED_SUFFIXES = frozenset(
    {".c", ".cc", ".cpp", ".cxx", ".c++", ".pyx", ".f", ".f90", ".f95", ".rs", ".go", ".cu"}
)
_COMPILED_BUILD_FILES = frozenset({"Cargo.toml", "CMakeLists.txt", "meson.build"})
_HOME_LABELS = ("homepage", "home", "source", "repository", "sourcecode", "github")
# pyodide-recipes' order of a meta.yaml's sections.
SECTIONS = ("package", "source", "build", "requirements", "test", "about", "extra")


@dataclass(frozen=True, kw_only=True)
class GeneratedRecipe:
    name: str  # the project name as its core metadata writes it
    version: str
    meta_yaml: str  # the full text of the meta.yaml
    source_url: str  # the file used as source
    pure_wheel: bool  # the source is a py3-none-any (or py2.py3-none-any) wheel
    pure_sdist: bool = False  # the source is an sdist that holds Python only
    files: tuple[IndexFile, ...] = ()  # the project's files on the index, as read


def generate_recipe(
    spec: str, *, python_version: str, index_url: str | None = None
) -> GeneratedRecipe:
    """A recipe for ``NAME`` or ``NAME==VERSION`` targeting a Pyodide on ``python_version``."""
    name, pinned = parse_spec(spec)
    index = index_url or index_url_from_env()
    index = index if index.endswith("/") else index + "/"
    try:
        python = Version(python_version)
    except InvalidVersion as exc:
        raise UsageError(f"invalid Python version {python_version!r}") from exc
    files = project_files(index, name)
    version = choose_version(files, name=name, pinned=pinned, python=python)
    source = choose_source(files, name=name, version=version, python=python)
    wheels = [f for f in files if f.wheel and f.version == version]
    wheel = source if source.wheel else min(wheels, key=wheel_rank, default=None)
    sdist = cache(lambda: _read_sdist(source))  # downloaded at most once, only if needed
    zf = _open_wheel(wheel) if wheel is not None else None
    try:
        raw = _metadata(source, wheels, zf, sdist)
        if zf is not None:
            top_level = _wheel_top_level(zf)
        else:
            top_level = _top_level_names(sdist()[0], sdist=True)
        pure_sdist = not source.wheel and _holds_python_only(wheels, sdist)
    finally:
        if zf is not None:
            zf.close()
    name = raw.get("name") or name
    written = raw.get("version", "")
    version_text = written if _same_version(written, version) else str(version)
    text = _render(
        name=name,
        version=version_text,
        source=source,
        top_level=top_level or [canonicalize_name(name).replace("-", "_")],
        run=_run_requirements(raw.get("requires_dist", []), python_version),
        about=_about(raw, name),
    )
    _validate(text, name)
    return GeneratedRecipe(
        name=name,
        version=version_text,
        meta_yaml=text,
        source_url=source.url,
        pure_wheel=source.pure,
        pure_sdist=pure_sdist,
        files=tuple(files),
    )


def _holds_python_only(
    wheels: list[IndexFile], sdist: Callable[[], tuple[list[str], bytes | None]]
) -> bool:
    """Whether a release with no pure wheel is pure Python all the same: it publishes no
    binary wheel, and its sdist holds no source that needs a compiler (C, C++, Cython,
    Fortran, Rust, Go, CUDA) nor a Cargo/CMake/Meson build."""
    if wheels:  # a wheel of the release not chosen as source: binary, or for another Python
        return False
    for name in sdist()[0]:
        base = name.rsplit("/", 1)[-1]
        if base in _COMPILED_BUILD_FILES or Path(base).suffix.lower() in _COMPILED_SUFFIXES:
            return False
    return True


def _open_wheel(wheel: IndexFile) -> zipfile.ZipFile:
    what = f"the file list of {wheel.filename}"
    try:
        return zipfile.ZipFile(HTTPRangeFile(wheel.url, what=what, size=wheel.size))
    except (zipfile.BadZipFile, OSError) as exc:
        raise RecipeError(f"{wheel.filename} on the index is not a readable wheel: {exc}") from exc


def _check_sha256(data: bytes, expected: str, url: str) -> bytes:
    if hashlib.sha256(data).hexdigest() != expected.lower():
        raise NetworkError(f"{url} does not match the sha256 the index gives for it")
    return data


# metadata ----------------------------------------------------------------------------------


def _read_sdist(file: IndexFile) -> tuple[list[str], bytes | None]:
    """The member names and the ``PKG-INFO`` of an sdist."""
    response = http.get(file.url, what=f"the sdist {file.filename}")
    data = io.BytesIO(_check_sha256(response.content, file.sha256, file.url))
    if file.filename.endswith(".zip"):
        with zipfile.ZipFile(data) as zf:
            names = zf.namelist()
            found = [n for n in names if _is_pkg_info(n)]
            pkg_info = zf.read(found[0]) if found else None
    else:
        with tarfile.open(fileobj=data, mode="r:*") as tf:
            members = tf.getmembers()
            names = [m.name for m in members]
            found_tar = [m for m in members if m.isfile() and _is_pkg_info(m.name)]
            handle = tf.extractfile(found_tar[0]) if found_tar else None
            pkg_info = handle.read() if handle else None
    return [n.removeprefix("./") for n in names], pkg_info


def _is_pkg_info(name: str) -> bool:
    parts = name.removeprefix("./").split("/")
    return len(parts) == 2 and parts[1] == "PKG-INFO"


def _dist_info_file(zf: zipfile.ZipFile, basename: str) -> bytes | None:
    for name in zf.namelist():
        parts = name.split("/")
        if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == basename:
            return zf.read(name)
    return None


def _metadata(
    source: IndexFile,
    wheels: list[IndexFile],
    zf: zipfile.ZipFile | None,
    sdist: Callable[[], tuple[list[str], bytes | None]],
) -> RawMetadata:
    """Core metadata from the first that has it: the metadata file of the source or of any wheel
    of the release, the wheel being read, the sdist's ``PKG-INFO``; empty when none does."""
    data = None
    if advertised := next((f for f in [source, *wheels] if f.metadata), None):
        url = advertised.url + ".metadata"
        response = http.get(url, what=f"the metadata of {advertised.filename}")
        data = response.content
        if advertised.metadata_sha256:
            _check_sha256(data, advertised.metadata_sha256, url)
    if data is None and zf is not None:
        data = _dist_info_file(zf, "METADATA")
    if data is None and not source.wheel:
        data = sdist()[1]
    return parse_email(data)[0] if data else {}


def _same_version(text: str, version: Version) -> bool:
    try:
        return Version(text) == version
    except InvalidVersion:
        return False


def _run_requirements(requires_dist: Iterable[str], python_version: str) -> list[str]:
    """Names (as written) of the requirements that apply on Pyodide without any extra."""
    environment = pyodide_environment(python_version)
    names: dict[str, str] = {}
    for line in requires_dist:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.marker is None or requirement.marker.evaluate(environment):
            names.setdefault(canonicalize_name(requirement.name), requirement.name)
    return list(names.values())


def _about(raw: RawMetadata, name: str) -> dict[str, str]:
    pypi = f"https://pypi.org/project/{name}"
    license_ = _known(raw.get("license_expression"))
    text = _known(raw.get("license"))
    if not license_ and "\n" not in text and len(text) < 80:
        license_ = text
    if not license_:
        osi = "License :: OSI Approved :: "
        classifiers = raw.get("classifiers", [])
        license_ = next((c.split(" :: ")[-1] for c in classifiers if c.startswith(osi)), "")
    urls = {re.sub(r"[^a-z0-9]", "", k.lower()): v for k, v in raw.get("project_urls", {}).items()}
    homes = [_known(raw.get("home_page")), *(urls.get(label, "").strip() for label in _HOME_LABELS)]
    # The recipe loader takes only http(s) URLs and text without control characters.
    home = next((h for h in homes if h and url_problem(h) is None), pypi)
    summary = " ".join(FORBIDDEN_TEXT.sub("", _known(raw.get("summary"))).split())
    license_ = " ".join(FORBIDDEN_TEXT.sub("", license_).split())
    about = {"home": home, "PyPI": pypi, "summary": summary, "license": license_}
    return {key: value for key, value in about.items() if value}


def _known(value: str | None) -> str:
    """``value`` stripped; empty when absent or the ``UNKNOWN`` old setuptools wrote."""
    value = (value or "").strip()
    return "" if value.upper() == "UNKNOWN" else value


# top-level names ---------------------------------------------------------------------------


def _top_level_names(paths: Iterable[str], *, sdist: bool = False) -> list[str]:
    """Importable top-level names in a file list (of a wheel, or of an sdist under its root
    directory and its ``src/``): packages with an ``__init__.py``, modules, extension modules.
    Namespace packages count only when nothing else does; ``tests``/``test`` only when alone."""
    regular: set[str] = set()
    namespace: set[str] = set()
    for path in paths:
        parts = [p for p in path.split("/") if p]
        if sdist:
            parts = parts[1:]  # the sdist's root directory
            if parts[:1] == ["src"]:
                parts = parts[1:]
            elif parts and parts[0].removesuffix(".py") in _SDIST_TOOLING:
                continue
        if not parts or parts[0].endswith((".dist-info", ".data")) or parts[0] == "__pycache__":
            continue
        if len(parts) == 1:
            match = _EXTENSION.match(parts[0])
            name = parts[0][:-3] if parts[0].endswith(".py") else (match and match[1])
            if name and name.isidentifier():
                regular.add(name)
        elif parts[0].isidentifier():
            if len(parts) == 2 and parts[1] == "__init__.py":
                regular.add(parts[0])
            elif parts[-1].endswith((".py", ".so", ".pyd")):
                namespace.add(parts[0])
    return _drop_tests(regular or namespace)


def _drop_tests(names: Iterable[str]) -> list[str]:
    found = set(names)
    return sorted(found - _TESTS or found)


def _wheel_top_level(zf: zipfile.ZipFile) -> list[str]:
    """``top_level.txt`` of the wheel's dist-info if it has one, else from its file list."""
    if data := _dist_info_file(zf, "top_level.txt"):
        names = (line.strip().split("/")[0] for line in data.decode("utf-8", "replace").split())
        if listed := _drop_tests(name for name in names if name.isidentifier()):
            return listed
    return _top_level_names(zf.namelist())


# meta.yaml ---------------------------------------------------------------------------------


def _render(
    *,
    name: str,
    version: str,
    source: IndexFile,
    top_level: list[str],
    run: list[str],
    about: dict[str, str],
) -> str:
    recipe: dict[str, Any] = {
        "package": {"name": name, "version": version, "top-level": top_level},
        "source": {"url": source.url, "sha256": source.sha256},
    }
    if run:
        recipe["requirements"] = {"run": run}
    recipe["test"] = {"imports": top_level}
    recipe["about"] = about
    recipe["extra"] = {"recipe-maintainers": []}
    comment = (
        f"Generated from PyPI by pyodide-smithy (source: {source.filename}); "
        "review before building."
    )
    return render_meta(recipe, comment)


def render_meta(sections: Mapping[str, Any], comment: str) -> str:
    """A ``meta.yaml`` as pyodide-smithy writes one: ``comment`` on the first line, then the
    sections in pyodide-recipes' order, lists in block style. Values loaded with
    smithy.yamlio's round trip keep their comments and quoting."""
    recipe = CommentedMap((key, _node(sections[key])) for key in SECTIONS if key in sections)
    recipe.yaml_set_start_comment(comment)
    return round_trip_dump(recipe)


def _node(value: object) -> object:
    """Plain mappings and lists as ruamel's block-style nodes (each a new one: a list written
    twice must not become a YAML alias)."""
    if isinstance(value, CommentedMap | CommentedSeq):
        return value
    if isinstance(value, Mapping):
        return CommentedMap((key, _node(item)) for key, item in value.items())
    if isinstance(value, list | tuple):
        return CommentedSeq(_node(item) for item in value)
    return value


def _validate(text: str, name: str) -> None:
    """Raise :class:`RecipeError` unless pyodide-build accepts ``text`` as a ``meta.yaml``."""
    where = Path(f"<recipe generated for {name}>")
    validate_meta(load_yaml_text(text, where, error=RecipeError), where)
