"""Where a recipe comes from: a path, a pyodide-recipes checkout or git URL, or PyPI."""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from smithy import console
from smithy.errors import GitError, NetworkError, RecipeError, RecipeNotFoundError
from smithy.paths import cache_dir
from smithy.recipe.load import META
from smithy.recipe.model import normalize

if TYPE_CHECKING:
    from smithy.recipe.model import Recipe
    from smithy.recipe.pypi_index import IndexFile
    from smithy.xbuildenv import XBuildEnv

UPSTREAM_RECIPES = "https://github.com/pyodide/pyodide-recipes"
UPSTREAM_ENV_VAR = "PYODIDE_SMITHY_RECIPES_URL"  # another default source, e.g. a mirror
_URL = re.compile(r"^(https?|ssh|git|file)://|^[\w.-]+@[\w.-]+:|\.git/?$")


@dataclass(frozen=True)
class RecipeSource:
    """A recipe folder on disk and, for people, where it came from."""

    directory: Path
    description: str
    pinned_version: str | None = None
    temporary: bool = False  # a folder made for this run (generated from PyPI, or switched)
    pure_python: bool = False  # an sdist found to hold Python only: build it without Emscripten
    index_files: tuple[IndexFile, ...] | None = None  # the project's files, when the index was read


def is_path_spec(spec: str) -> bool:
    return (
        "/" in spec
        or spec.endswith((".yaml", ".yml"))
        or spec in (".", "..")
        or Path(spec).exists()
    )


def split_spec(spec: str) -> tuple[str, str | None]:
    """``numpy==2.4.6`` -> (``numpy``, ``2.4.6``)."""
    name, sep, version = spec.partition("==")
    return name.strip(), (version.strip() or None) if sep else None


def resolve(spec: str, recipes: str | None, *, python_version: str) -> RecipeSource:
    """Find the recipe ``spec`` names; generate it from PyPI when no recipe source has it."""
    if is_path_spec(spec):
        return _from_path(Path(spec))
    name, version = split_spec(spec)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise RecipeNotFoundError(f"{spec!r} is neither a recipe path nor a package name")
    if recipes is not None:
        root = _checkout(recipes) if _URL.search(recipes) else Path(recipes)
        if not root.is_dir():
            raise RecipeNotFoundError("recipes directory not found", file=recipes)
        return _from_tree(root, name, version, recipes)
    upstream = os.environ.get(UPSTREAM_ENV_VAR) or UPSTREAM_RECIPES
    try:
        root = _checkout(upstream)
    except (GitError, NetworkError) as exc:
        console.info(f"cannot reach {upstream} ({exc.message}); generating from PyPI")
    else:
        try:
            return _from_tree(root, name, version, upstream)
        except RecipeNotFoundError:
            console.info(f"{upstream} has no recipe for {spec}; generating from PyPI")
    return _from_pypi(spec, python_version)


def recipe_name_at(path: Path) -> str | None:
    """``package.name`` of the recipe at ``path``, read cheaply; ``None`` if it cannot be read
    or is no valid name (loading the recipe properly reports why)."""
    from smithy.recipe.fields import name_problem
    from smithy.yamlio import load_yaml_file

    try:
        data = load_yaml_file(_from_path(path).directory / META, error=RecipeError)
        name = data["package"]["name"]
    except (RecipeError, OSError, KeyError, TypeError):
        return None
    return name if isinstance(name, str) and name_problem(name) is None else None


def _from_path(path: Path) -> RecipeSource:
    directory = path.parent if path.name in (META, "meta.yml") or path.is_file() else path
    if not directory.is_dir() or not os.path.lexists(directory / META):  # loading says what
        raise RecipeNotFoundError("no recipe there (expected a meta.yaml or its folder)", file=path)
    return RecipeSource(directory.resolve(), f"recipe at {directory}")


def _checkout(url: str) -> Path:
    from smithy import gitio

    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    dest = cache_dir() / "recipes" / digest
    try:
        gitio.clone_or_fetch(url, dest)
    except GitError:
        if (dest / ".git").exists():
            console.warn(f"cannot fetch {url}; using the cached copy in {dest}")
            return dest
        raise
    return dest


def _from_tree(root: Path, name: str, version: str | None, origin: str) -> RecipeSource:
    packages = root / "packages" if (root / "packages").is_dir() else root
    candidates = {
        normalize(p.name): p for p in packages.iterdir() if p.is_dir() and (p / META).is_file()
    }
    directory = candidates.get(normalize(name))
    if directory is None:
        close = difflib.get_close_matches(normalize(name), list(candidates), n=3, cutoff=0.7)
        hint = f"; did you mean {', '.join(candidates[c].name for c in close)}?" if close else ""
        raise RecipeNotFoundError(f"no recipe named {name!r}{hint}", file=origin)
    source = RecipeSource(directory, f"recipe {directory.name} from {origin}", version)
    if version is not None:
        _check_version(source, version)
    return source


def _check_version(source: RecipeSource, version: str) -> None:
    from smithy.yamlio import load_yaml_file

    meta = source.directory / META
    data = load_yaml_file(meta, error=RecipeError)
    have = str((data.get("package") or {}).get("version")) if isinstance(data, dict) else None
    if have != version:
        raise RecipeNotFoundError(
            f"the recipe is for version {have}, not {version}", file=meta, key="package.version"
        )


def _from_pypi(spec: str, python_version: str) -> RecipeSource:
    from smithy.recipe.fields import name_problem, shown
    from smithy.recipe.pypi import generate_recipe
    from smithy.recipe.pypi_index import index_url_from_env

    index = index_url_from_env()
    generated = generate_recipe(spec, python_version=python_version, index_url=index)
    if (why := name_problem(generated.name)) is not None:  # the index's word: untrusted too
        raise RecipeError(f"the package index names the project {shown(generated.name)}: {why}")
    directory = Path(tempfile.mkdtemp(prefix="pyodide-smithy-recipe-")) / normalize(generated.name)
    directory.mkdir()
    (directory / META).write_text(generated.meta_yaml, encoding="utf-8")
    if generated.pure_wheel:
        kind = "pure wheel"
    elif generated.pure_sdist:
        kind = "sdist of pure Python: pure-python: true, built without Emscripten"
    else:
        kind = "sdist, built with Emscripten"
    return RecipeSource(
        directory,
        f"new recipe for {generated.name} {generated.version} generated from {index} ({kind})",
        temporary=True,
        pure_python=generated.pure_sdist,
        index_files=generated.files,
    )


def upstream_wheel(
    recipe: Recipe, xbuildenv: XBuildEnv, files: tuple[IndexFile, ...] | None = None
) -> RecipeSource | None:
    """A copy of ``recipe``'s folder whose source is upstream's own Pyodide wheel of its version
    for ``xbuildenv``, when the package index has one (smithy.recipe.upstream decides); else
    ``None``. ``files``: the index's files of the project if already read. An index that cannot
    be read is warned about and changes nothing."""
    from smithy.recipe.upstream import pyodide_wheel, switchable, wheel_recipe

    if not switchable(recipe):
        return None
    if files is None:
        files = index_files(recipe.name)
    wheel = pyodide_wheel(files, recipe.version, xbuildenv)
    if wheel is None:
        return None
    meta_path = recipe.directory / META
    switched = wheel_recipe(meta_path.read_text(encoding="utf-8"), wheel, meta_path)
    top = Path(tempfile.mkdtemp(prefix="pyodide-smithy-recipe-"))
    try:
        directory = top / recipe.directory.name
        shutil.copytree(recipe.directory, directory, symlinks=True)
        _leave_out(directory, switched.left_out)
        (directory / META).write_text(switched.meta_yaml, encoding="utf-8")
    except BaseException:
        shutil.rmtree(top, ignore_errors=True)
        raise
    dropped = f"dropped {', '.join(switched.dropped)}; " if switched.dropped else ""
    description = (
        f"upstream's Pyodide wheel {wheel.filename} instead of building {switched.replaced} "
        f"({dropped}pass --from-source to build it)"
    )
    return RecipeSource(directory, description, temporary=True)


def index_files(name: str) -> tuple[IndexFile, ...]:
    """The package index's files of project ``name``; none when it has no such project, or
    (warned) when it cannot be read."""
    files, problem = read_index_files(name)
    if problem is not None:
        console.warn(f"{problem}; keeping the recipe's source")
    return files


def read_index_files(name: str) -> tuple[tuple[IndexFile, ...], str | None]:
    """The package index's files of project ``name`` (none when it has no such project), and
    why they could not be read, if they could not.

    One GET with the standard library's client and no retry: a fallback exists (the recipe as
    it is), and ``init`` pays for this on every run, where importing requests alone would cost
    a fifth of its budget."""
    import json
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    from packaging.utils import canonicalize_name

    from smithy.http import USER_AGENT
    from smithy.recipe.pypi_index import JSON_ACCEPT, index_url_from_env, parse_files, redact

    index = index_url_from_env()
    page = f"{index}{canonicalize_name(name)}/"
    what = f"upstream's Pyodide wheels of {name}"
    parts = urlsplit(page)
    if parts.scheme not in ("http", "https"):
        return (), f"{redact(page)} is not an http(s) index"
    try:
        if parts.username or parts.password:  # credentials in the URL: requests sends them
            body, url = _get_with_requests(page, what)
        else:
            headers = {"Accept": JSON_ACCEPT, "User-Agent": USER_AGENT}
            request = urllib.request.Request(page, headers=headers)  # noqa: S310 (checked above)
            with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
                body, url = response.read(), response.geturl()
        entries = json.loads(body)["files"]
        # Only a wheel with a wasm32 platform tag can be one: a superset test by name, cheap
        # where parsing every file's name is not (pydantic-core has 15,000 files: 0.6 s).
        wasm = [e for e in entries if isinstance(e, dict) and "wasm32" in str(e.get("filename"))]
        return tuple(parse_files(wasm, url or page)), None
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return (), None
        why = f"{redact(page)} answered HTTP {exc.code} for {what}"
    except NetworkError as exc:
        if exc.key == "404":
            return (), None
        why = exc.message.replace(page, redact(page))
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        why = f"cannot reach {redact(page)} for {what}: {reason}"
    except (ValueError, KeyError, TypeError):
        why = f"{redact(page)} did not answer with PEP 691 JSON (the simple API) for {what}"
    return (), why


def _get_with_requests(page: str, what: str) -> tuple[bytes, str]:
    from smithy import http
    from smithy.recipe.pypi_index import JSON_ACCEPT

    response = http.get(page, what=what, headers={"Accept": JSON_ACCEPT}, retries=0)
    return response.content, response.url or page


def _leave_out(directory: Path, names: tuple[str, ...]) -> None:
    """Remove the recipe files ``names`` (checked relative paths: patches, extras) from the
    copy ``directory``, and the folders they leave empty."""
    for name in names:
        path = directory / name
        if path.is_file() and not path.is_symlink():
            path.unlink()
            parent = path.parent
            while parent != directory and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
